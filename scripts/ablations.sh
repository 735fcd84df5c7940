#!/usr/bin/env bash
# The paper's ablations on Fashion-MNIST, at the demo's scale: from the demo's MAE teacher (fm-small),
# distil fm-tiny with one choice changed at a time, fine-tune each student the same way, and print a
# table of test top-1. Needs a finished demo in $DEMO (default runs/demo) for the teacher and the
# relation / last block / raw input reference.
#   scripts/ablations.sh [runs/demo] [pretrain images] [epochs]
set -euo pipefail
cd "$(dirname "$0")/.."
demo=${1:-runs/demo}
images=${2:-20000}
epochs=${3:-2}
tool=${TOOL:-build/examples/tinymim}
out=$demo/ablations
mkdir -p "$out"
common=(--threads "${THREADS:-2}" --no-plots --out "$out")
run() {  # name, distill options...
  local name=$1
  shift
  "$tool" distill --teacher fm-small --student fm-tiny --teacher-weights "$demo/teacher_mae.safetensors" \
    --epochs "$epochs" --batch 128 --blr 1e-3 --warmup-epochs 0.5 --train-limit "$images" --name "$name" "${common[@]}" "$@" >&2
  "$tool" finetune --model fm-tiny --weights "$out/$name.safetensors" --epochs "$epochs" --batch 128 --blr 1e-3 \
    --warmup-epochs 0.5 --train-limit "$images" --name "${name}_ft" "${common[@]}" | sed -n 's/.*top-1 \([0-9.]*\)%.*/\1/p'
}
feature=$(run feature --target feature)
cls=$(run cls --target cls)
block4=$(run block4 --target relation --teacher-block 4)
masked=$(run masked --target relation --input masked)
ref=$(python3 -c "import json; print(f\"{100 * json.load(open('$demo/results.json'))['student_tinymim']['accuracy']:.2f}\")")
cat <<TABLE
| comparison | variant | fm-tiny top-1 (%) |
|---|---|---|
| target | relation QK+VV (demo) | $ref |
| target | feature (block output, smooth-L1) | $feature |
| target | CLS token (KL) | $cls |
| teacher block | last (6 of 6) (demo) | $ref |
| teacher block | intermediate (4 of 6) | $block4 |
| input | raw (demo) | $ref |
| input | masked (75 %) | $masked |
TABLE
