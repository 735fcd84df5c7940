#!/usr/bin/env bash
# `tinymim distill --target dmae` end to end on the real Fashion-MNIST: a teacher pre-trained for a few steps,
# DMAE distillation of an fm-tiny MAE from the teacher's block 4, then fine-tuning from the student's weights;
# `report` then draws the folder's figures from its logs.
#   distill_dmae.sh <tinymim> <work folder>
set -uo pipefail
tool=$1 work=$2
rm -rf "$work" && mkdir -p "$work"
fail() { echo "FAIL: $*"; exit 1; }
common=(--train-limit 64 --epochs 1 --batch 16 --threads 2 --no-plots --out "$work")
"$tool" pretrain --model fm-small "${common[@]}" --name teacher > "$work/teacher.out" 2>&1 ||
  { tail -n 5 "$work/teacher.out"; fail "the teacher's pre-training failed"; }
"$tool" distill --teacher fm-small --student fm-tiny --target dmae --teacher-block 4 \
  --teacher-weights "$work/teacher.safetensors" "${common[@]}" --name dmae > "$work/dmae.out" 2> "$work/dmae.err" ||
  { tail -n 5 "$work/dmae.err"; fail "distill --target dmae failed"; }
grep -q "target dmae (MAE loss + L1 to teacher block 4 on the visible patches, mask ratio 0.75)" "$work/dmae.err" ||
  fail "the first line does not say what ran: $(grep 'distill:' "$work/dmae.err")"
head -n 1 "$work/dmae_metrics.csv" | grep -q "loss,mae,feature" || fail "the metrics lack the two terms"
[[ -s $work/dmae.safetensors && -s $work/dmae.ckpt ]] || fail "no student weights or checkpoint"
"$tool" finetune --model fm-tiny --weights "$work/dmae.safetensors" "${common[@]}" --test-limit 64 --name ft \
  > "$work/ft.out" 2> "$work/ft.err" || { tail -n 5 "$work/ft.err"; fail "fine-tuning from the DMAE student failed"; }
# (finetune refuses weights that do not load whole, so its success says the student's encoder loaded.)
# The stages ran with --no-plots: `report` draws the folder's curves and comparison figure from its logs.
if command -v gnuplot > /dev/null; then
  "$tool" report "$work" > "$work/report.out" 2>&1 || { cat "$work/report.out"; fail "report failed"; }
  grep -q "report: 5 figures drawn in .* from 3 training and 1 evaluation logs" "$work/report.out" ||
    fail "report: $(cat "$work/report.out")"
  for png in teacher_loss dmae_loss ft_loss ft_accuracy comparison; do
    [[ -s $work/$png.png ]] || fail "report did not draw $png.png"
  done
fi
"$tool" report "$work/nothing" > "$work/nothing.out" 2>&1 && fail "report of a missing folder succeeded"
grep -q "is not a folder" "$work/nothing.out" || fail "report of a missing folder: $(cat "$work/nothing.out")"
echo "dmae ran, its student MAE fine-tuned: $(grep 'test accuracy' "$work/ft.err" | tail -n 1)"
