#!/usr/bin/env bash
# Fault injection into a training run (tests/faults/fault_driver.cpp, train::pretrain_mae underneath):
# ENOSPC and EIO during a checkpoint write, EIO at its fsync, a read-only output folder (fault_shim.cpp
# through LD_PRELOAD), a checkpoint truncated before a resume, SIGTERM during training. In each case:
# a clear error or a clean stop, the previous checkpoint intact and loadable, no temporary file left,
# and (after SIGTERM) a resume that ends bit for bit where an uninterrupted run ends.
#   faults_test.sh <fault_driver> <libtinymim_fault_shim.so> <work folder>
set -uo pipefail
driver=$1 shim=$2 work=$3
rm -rf "$work" && mkdir -p "$work"
failures=0
fail() { echo "FAIL: $*"; failures=$((failures + 1)); }
# Under ASan the shim is not the first library; the sanitizer would refuse to start without this.
export ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}verify_asan_link_order=0"

# run <name> <expected status> <fault env...> -- <driver args...>: runs the driver, keeps its stderr.
run() {
  local name=$1 want=$2
  shift 2
  local envs=()
  while [[ $1 != -- ]]; do envs+=("$1"); shift; done
  shift
  env "${envs[@]}" "$driver" "$@" > "$work/$name.out" 2> "$work/$name.err"
  local got=$?
  [[ $got == "$want" ]] || { fail "$name: exit status $got, expected $want"; tail -n 5 "$work/$name.err"; }
}
expect_in() {  # <name> <text>: the driver's stderr holds the text
  grep -qF -- "$2" "$work/$1.err" || { fail "$1: stderr lacks '$2'"; tail -n 5 "$work/$1.err"; }
}
intact() {  # <name> <folder> <copy>: the checkpoint is the one copied before, it loads, nothing temporary is left
  cmp -s "$2/mae.ckpt" "$3" || fail "$1: the previous checkpoint changed"
  "$driver" check "$2/mae.ckpt" > /dev/null 2>&1 || fail "$1: the previous checkpoint does not load"
  if compgen -G "$2/.*.tmp.*" > /dev/null; then fail "$1: a temporary file was left: $(ls -a "$2")"; fi
}

# A first run: 1 epoch of 8 steps, checkpoints at steps 2, 4, 6, 8.
base=$work/base
run base 0 -- train "$base" 1
cp "$base/mae.ckpt" "$work/ckpt_step8"
"$driver" check "$base/mae.ckpt" | grep -q 'step 8, loaded' || fail "base: the checkpoint is not at step 8"

# Each fault hits the resume's first checkpoint write (step 10): it must fail with the reason, leaving step 8.
for fault in "enospc 0 No space left on device" "enospc 40000 No space left on device" \
             "eio 0 Input/output error" "eio_fsync 0 fsync failed: Input/output error"; do
  read -r kind after reason <<< "$fault"
  name=${kind}_after_$after
  rm -rf "$work/$name" && cp -r "$base" "$work/$name"
  run "$name" 1 LD_PRELOAD="$shim" TINYMIM_FAULT="$kind" TINYMIM_FAULT_MATCH=.mae.ckpt.tmp. TINYMIM_FAULT_AFTER="$after" \
    -- train "$work/$name" 3 --resume
  expect_in "$name" "writing '$work/$name/mae.ckpt'"
  expect_in "$name" "$reason"
  intact "$name" "$work/$name" "$work/ckpt_step8"
  # Without the fault the same resume goes through, from step 8.
  run "${name}_then" 0 -- train "$work/$name" 3 --resume
  expect_in "${name}_then" "resumed from $work/$name/mae.ckpt at step 8"
done

# A read-only output folder: refused before the first step, naming the folder and the reason.
rm -rf "$work/readonly" && cp -r "$base" "$work/readonly"
run readonly 1 LD_PRELOAD="$shim" TINYMIM_FAULT=erofs TINYMIM_FAULT_MATCH="$work/readonly/" \
  -- train "$work/readonly" 3 --resume
expect_in readonly "the output folder '$work/readonly' is not writable: Read-only file system"
intact readonly "$work/readonly" "$work/ckpt_step8"

# A checkpoint cut short: the resume refuses it, naming the file, and writes nothing over it.
rm -rf "$work/truncated" && cp -r "$base" "$work/truncated"
truncate -s 20000 "$work/truncated/mae.ckpt"
cp "$work/truncated/mae.ckpt" "$work/ckpt_truncated"
run truncated 1 -- train "$work/truncated" 3 --resume
expect_in truncated "$work/truncated/mae.ckpt"
expect_in truncated "truncated"
cmp -s "$work/truncated/mae.ckpt" "$work/ckpt_truncated" || fail "truncated: the checkpoint was overwritten"

# SIGTERM during training: the step finishes, its checkpoint is written, exit status 143; the resume then
# ends exactly where an uninterrupted run ends.
run whole 0 -- train "$work/whole" 30
"$driver" train "$work/term" 30 > "$work/term.out" 2> "$work/term.err" &
pid=$!
for _ in $(seq 1 600); do  # until a few steps are logged (at most 60 s)
  [[ -f $work/term/mae_metrics.csv ]] && (($(wc -l < "$work/term/mae_metrics.csv") > 5)) && break
  sleep 0.1
done
kill -TERM "$pid"
wait "$pid"
status=$?
[[ $status == 143 ]] || fail "sigterm: exit status $status, expected 143"
expect_in term "stopped by SIGTERM after step"
step=$(grep -o 'after step [0-9]*' "$work/term.err" | grep -o '[0-9]*$')
if [[ -n $step ]] && ((step < 240)); then
  "$driver" check "$work/term/mae.ckpt" | grep -q "step $step, loaded" || fail "sigterm: the checkpoint is not at step $step"
  run term_resume 0 -- train "$work/term" 30 --resume
  expect_in term_resume "resumed from $work/term/mae.ckpt at step $step"
  cmp -s "$work/whole/mae.safetensors" "$work/term/mae.safetensors" ||
    fail "sigterm: the resumed run's weights differ from the uninterrupted run's"
else
  fail "sigterm: the run was not stopped in the middle (step '${step}')"
fi

if ((failures)); then
  echo "$failures fault case(s) failed; their output is in $work"
  exit 1
fi
echo "all fault cases passed"
