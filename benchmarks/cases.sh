# The end-to-end benchmark rows that benchmarks/compare.sh and benchmarks/ab.sh run (sourced by both):
# `tinymim bench` arguments, the same for the PyTorch peer.
cases=(
  "distill --teacher fm-small --student fm-tiny --batch 256"
  "distill --teacher vit-small --student vit-tiny --batch 32"
  "train --model fm-tiny --batch 256"
  "train --model vit-small --batch 32"
  "forward --model vit-small --batch 32"
  "mae --model fm-small --batch 256"
)
