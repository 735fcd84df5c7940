#!/usr/bin/env bash
# The paper's ablations on Fashion-MNIST, at the demo's quick scale: from the demo's MAE teacher (fm-small),
# distil fm-tiny with one choice changed at a time, with the demo's own distillation and fine-tuning
# settings (so the demo's TinyMIM student, relations from teacher block 4, is the reference row), and print a
# table of test top-1. One seed; scripts/experiments/driver.py runs the same rows over seeds.
#   scripts/ablations.sh [demo dir, default runs/demo]
# Needs a finished `tinymim demo --profile quick` in that directory (teacher_mae.safetensors, results.json).
set -euo pipefail
cd "$(dirname "$0")/.."
demo=${1:-runs/demo}
tool=${TOOL:-build/examples/tinymim}
# The quick profile of examples/tinymim/cmd_demo.cpp: pre-training 20,000 images x 2 epochs, fine-tuning
# 15,000 images x 2 epochs, batch 128, a quarter of each schedule as warm-up.
pre=(--train-limit 20000 --epochs 2 --batch 128 --blr 1e-3 --warmup-epochs 0.5 --crop-scale 0.5)
fin=(--train-limit 15000 --epochs 2 --batch 128 --blr 2e-3 --warmup-epochs 0.5 --layer-decay 0.9 --crop-scale 0.8)
out=$demo/ablations
mkdir -p "$out"
common=(--threads "${THREADS:-2}" --no-plots --out "$out")
run() {  # name, distill options...
  local name=$1
  shift
  "$tool" distill --teacher fm-small --student fm-tiny --teacher-weights "$demo/teacher_mae.safetensors" \
    --name "$name" "${pre[@]}" "${common[@]}" "$@" >&2
  "$tool" finetune --model fm-tiny --weights "$out/$name.safetensors" --name "${name}_ft" "${fin[@]}" \
    "${common[@]}" | sed -n 's/.*top-1 \([0-9.]*\)%.*/\1/p'
}
feature=$(run feature --target feature)
cls=$(run cls --target cls)
last=$(run last --target relation --teacher-block 6)
masked=$(run masked --target relation --teacher-block 4 --input masked)
ref=$(python3 -c "import json; print(f\"{100 * json.load(open('$demo/results.json'))['student_tinymim']['accuracy']:.2f}\")")
cat <<TABLE | tee "$out/table.md"
| comparison | variant | fm-tiny top-1 (%) |
|---|---|---|
| target | relation QK+VV, teacher block 4 (demo) | $ref |
| target | feature (the teacher's last block output, smooth-L1) | $feature |
| target | CLS token (KL) | $cls |
| teacher block | intermediate (4 of 6) (demo) | $ref |
| teacher block | last (6 of 6) | $last |
| input | raw (demo) | $ref |
| input | masked (75 %) | $masked |
TABLE
