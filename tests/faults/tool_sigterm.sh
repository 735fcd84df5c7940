#!/usr/bin/env bash
# The tinymim tool under SIGTERM: the step in progress finishes, the checkpoint is written, the message
# names the step and --resume, the exit status is 143; `--resume` then finishes the run from that step.
#   tool_sigterm.sh <tinymim> <work folder>
set -uo pipefail
tool=$1 work=$2
rm -rf "$work" && mkdir -p "$work"
args=(pretrain --model fm-tiny --train-limit 640 --epochs 4 --batch 32 --threads 2 --no-plots --out "$work")
"$tool" "${args[@]}" > "$work/run.out" 2> "$work/run.err" &
pid=$!
for _ in $(seq 1 1200); do  # until a few steps are logged (at most 120 s)
  [[ -f $work/pretrain_metrics.csv ]] && (($(wc -l < "$work/pretrain_metrics.csv") > 2)) && break
  sleep 0.1
done
kill -TERM "$pid"
wait "$pid"
status=$?
cat "$work/run.err" | tail -n 3
[[ $status == 143 ]] || { echo "FAIL: exit status $status, expected 143"; exit 1; }
grep -q "stopped by SIGTERM after step [0-9]* of 80; .*pretrain.ckpt holds it.* (--resume)" "$work/run.err" ||
  { echo "FAIL: no stop message naming the step, the checkpoint and --resume"; exit 1; }
step=$(grep -o 'after step [0-9]*' "$work/run.err" | grep -o '[0-9]*$')
"$tool" "${args[@]}" --resume > "$work/resume.out" 2> "$work/resume.err" || { echo "FAIL: the resume failed"; tail -n 5 "$work/resume.err"; exit 1; }
grep -q "resumed from .*pretrain.ckpt at step $step" "$work/resume.err" || { echo "FAIL: the resume did not start at step $step"; exit 1; }
grep -q "pretrain: 80 steps" "$work/resume.out" || { echo "FAIL: the resume did not finish"; cat "$work/resume.out"; exit 1; }
echo "stopped at step $step, exit 143, resumed to the end"
