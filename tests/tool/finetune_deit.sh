#!/usr/bin/env bash
# `tinymim finetune --distill soft|hard` end to end on the real Fashion-MNIST: a teacher fine-tuned for a few
# steps, then DeiT fine-tuning of fm-tiny from it in both modes, then `eval` of the distilled student.
#   finetune_deit.sh <tinymim> <work folder>
set -uo pipefail
tool=$1 work=$2
rm -rf "$work" && mkdir -p "$work"
fail() { echo "FAIL: $*"; exit 1; }
common=(--train-limit 64 --test-limit 64 --epochs 1 --batch 16 --threads 2 --no-plots --out "$work")
"$tool" finetune --model fm-small "${common[@]}" --name teacher > "$work/teacher.out" 2>&1 ||
  { tail -n 5 "$work/teacher.out"; fail "the teacher's fine-tuning failed"; }
for mode in soft hard; do
  "$tool" finetune --model fm-tiny --distill $mode --teacher fm-small --teacher-weights "$work/teacher.safetensors" \
    "${common[@]}" --name $mode > "$work/$mode.out" 2> "$work/$mode.err" ||
    { tail -n 5 "$work/$mode.err"; fail "finetune --distill $mode failed"; }
  grep -q "finetune: DeiT $mode distillation from fm-small" "$work/$mode.err" ||
    fail "the first lines do not say what ran: $(grep 'finetune:' "$work/$mode.err")"
  head -n 1 "$work/${mode}_metrics.csv" | grep -q "loss,ce,distill" || fail "the metrics lack the two terms"
  "$tool" eval --model fm-tiny --weights "$work/$mode.safetensors" --test-limit 64 --threads 2 --out "$work" > "$work/${mode}_eval.out" 2>&1 ||
    { tail -n 5 "$work/${mode}_eval.out"; fail "eval of the $mode student failed"; }
done
grep -q "weight 0.10, temperature 3" "$work/soft.err" || fail "soft: not the paper's weight and temperature"
grep -q "weight 0.50" "$work/hard.err" || fail "hard: not the paper's weight"
echo "DeiT soft and hard ran and evaluated: $(grep 'test accuracy' "$work/hard.err" | tail -n 1)"
