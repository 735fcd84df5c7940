#!/usr/bin/env bash
# `mpirun -np 2 tinymim ...` on the real Fashion-MNIST: a data-parallel fine-tuning whose first line names the
# ranks and threads and whose outputs rank 0 writes; MAE pre-training and DMAE distillation from it; ranks launched with different settings (MPMD: two command
# lines) all stop before the first step with an error that names the setting; two ranks with --device cuda train on a
# GPU each or stop saying why.
#   mpi_tool.sh <mpirun> <tinymim> <work folder>
set -uo pipefail
mpirun=$1 tool=$2 work=$3
rm -rf "$work" && mkdir -p "$work"
fail() { echo "FAIL: $*"; exit 1; }
run=("$mpirun" --allow-run-as-root --oversubscribe)
common=(--train-limit 64 --test-limit 64 --epochs 1 --batch 16 --threads 1 --no-plots --out "$work")
timeout 300 "${run[@]}" -np 2 "$tool" finetune --model fm-tiny "${common[@]}" --name ft > "$work/ft.out" 2> "$work/ft.err" ||
  { tail -n 5 "$work/ft.err"; fail "the two-rank fine-tuning failed"; }
head -n 1 "$work/ft.err" | grep -q "tinymim: 2 ranks x 1 CPU thread each" ||
  fail "the first line does not name the ranks and threads: $(head -n 1 "$work/ft.err")"
[[ $(grep -c "test accuracy" "$work/ft.err") == 1 ]] || fail "not one report per epoch (rank 0 alone speaks)"
[[ -s $work/ft.safetensors && -s $work/ft.ckpt && -s $work/ft_metrics.csv ]] || fail "rank 0 wrote no outputs"
[[ $(grep -c "^finetune: test top-1" "$work/ft.out") == 1 ]] || fail "not one result line"
# 64 images, global batch 16: 4 steps, each rank 8 images.
tail -n 1 "$work/ft_metrics.csv" | grep -q "^4," || fail "not 4 steps of the global batch: $(tail -n 1 "$work/ft_metrics.csv")"
# MAE pre-training, then DMAE distillation from it, both on two ranks.
timeout 300 "${run[@]}" -np 2 "$tool" pretrain --model fm-small "${common[@]}" --name teacher > "$work/teacher.out" 2>&1 ||
  { tail -n 5 "$work/teacher.out"; fail "the two-rank pre-training failed"; }
timeout 300 "${run[@]}" -np 2 "$tool" distill --teacher fm-small --student fm-tiny --target dmae --teacher-block 4 \
  --teacher-weights "$work/teacher.safetensors" "${common[@]}" --name dmae > "$work/dmae.out" 2>&1 ||
  { tail -n 5 "$work/dmae.out"; fail "the two-rank DMAE distillation failed"; }
[[ -s $work/dmae.safetensors ]] || fail "rank 0 wrote no DMAE student"
tail -n 1 "$work/dmae_metrics.csv" | grep -q "^4," || fail "DMAE: not 4 global steps: $(tail -n 1 "$work/dmae_metrics.csv")"
timeout 120 "${run[@]}" -np 1 "$tool" finetune --seed 1 "${common[@]}" --name differ : \
  -np 1 "$tool" finetune --seed 2 "${common[@]}" --name differ > "$work/differ.out" 2>&1 &&
  fail "ranks with different seeds ran"
grep -q "ranks differ in seed" "$work/differ.out" || fail "the error does not name the setting: $(tail -n 3 "$work/differ.out")"
[[ ! -e $work/differ_metrics.csv ]] || fail "a step ran before the settings were compared"
# --device cuda on two ranks: one GPU each through NCCL. Where that cannot be (no GPU, one GPU, a build without
# CUDA or NCCL) every rank must stop with a sentence that names the reason, not hang or crash.
if timeout 120 "${run[@]}" -np 2 "$tool" finetune --device cuda "${common[@]}" --name gpu > "$work/gpu.out" 2>&1; then
  head -n 1 "$work/gpu.out" | grep -q "cuda (one GPU per rank, NCCL)" ||
    fail "two GPU ranks ran without saying so: $(head -n 1 "$work/gpu.out")"
else
  grep -Eq "sees no CUDA device|run at most one rank per GPU|has no NCCL|has no CUDA backend|no CUDA device is visible"     "$work/gpu.out" || fail "--device cuda on two ranks failed without a reason: $(head -n 3 "$work/gpu.out")"
fi
echo "two ranks fine-tuned, pre-trained and DMAE-distilled; different settings refused; --device cuda on two ranks ran or said why"
