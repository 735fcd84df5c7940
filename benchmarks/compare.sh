#!/usr/bin/env bash
# Side by side, in one run: each end-to-end benchmark in tinymim (`tinymim bench`) and in PyTorch
# (benchmarks/peer_pytorch.py), one right after the other, at 1 and 2 threads; prints a Markdown table
# with the ratios (tinymim images/s over PyTorch images/s; peak RSS tinymim over PyTorch).
#   pip install torch timm && bash benchmarks/compare.sh [build-dir]
# Environment: STEPS (timed steps, default 5), THREADS (default "1 2"), ONLY (a regex selecting cases).
set -euo pipefail
cd "$(dirname "$0")/.."
tool=${1:-build}/examples/tinymim
steps=${STEPS:-5}
cases=(
  "distill --teacher fm-small --student fm-tiny --batch 256"
  "distill --teacher vit-small --student vit-tiny --batch 32"
  "train --model fm-tiny --batch 256"
  "train --model vit-small --batch 32"
  "forward --model vit-small --batch 32"
  "mae --model fm-small --batch 256"
)
echo "| benchmark | threads | tinymim img/s | PyTorch img/s | speed ratio | tinymim GFLOP/s | RSS ratio |"
echo "|---|---|---|---|---|---|---|"
for threads in ${THREADS:-1 2}; do
  for c in "${cases[@]}"; do
    [[ -n "${ONLY:-}" && ! "$c" =~ ${ONLY} ]] && continue
    ours=$("$tool" bench $c --steps "$steps" --threads "$threads" 2>/dev/null | tail -n 1)
    peer=$(OMP_NUM_THREADS=$threads python3 benchmarks/peer_pytorch.py $c --steps "$steps" --threads "$threads" 2>/dev/null | tail -n 1)
    python3 - "$c" "$threads" "$ours" "$peer" <<'PY'
import json, sys
c, th, o, p = sys.argv[1], sys.argv[2], json.loads(sys.argv[3]), json.loads(sys.argv[4])
print(f"| {c} | {th} | {o['images_per_second']:.1f} | {p['images_per_second']:.1f} | "
      f"{o['images_per_second'] / p['images_per_second']:.2f} | {o['gflops']:.0f} | {o['peak_rss_mib'] / p['peak_rss_mib']:.2f} |")
PY
  done
done
python3 -c "import torch; print(f'\nPyTorch {torch.__version__}, torch.set_num_threads = the threads column')"
