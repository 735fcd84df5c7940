#!/usr/bin/env bash
# On a machine with an NVIDIA GPU: runs the carried CUDA tests and the GPU benchmarks next to PyTorch on
# the same card, and writes a report (Markdown + raw JSON) to $OUT (or gpu-report/).
#   bash scripts/gpu-check.sh [bundle dir, default gpu-bundle]     (make the bundle with scripts/gpu-bundle.sh)
# Device time is scarce: every stage runs under `timeout`, and a stage that would start after
# GPU_CHECK_BUDGET_S seconds (default 420) is skipped and says so in the report.
set -uo pipefail
start=$SECONDS
budget=${GPU_CHECK_BUDGET_S:-420}
in_budget() { (( SECONDS - start < budget )); }
cd "$(dirname "$0")/.."
bundle=${1:-gpu-bundle}
out=${OUT:-gpu-report}
mkdir -p "$out"
export LD_LIBRARY_PATH="$PWD/$bundle/lib:/usr/local/cuda/lib64:/usr/local/cuda/lib:${LD_LIBRARY_PATH:-}"
report="$out/gpu-report.md"
{
  echo "# tinymim GPU check ($(date -u +%Y-%m-%dT%H:%MZ))"
  echo
  echo '```'
  nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv 2>&1 | head -3 || echo "nvidia-smi: not found"
  echo '```'
} > "$report"

missing=$(ldd "$bundle/bin/test_cuda" "$bundle/bin/tinymim" | grep "not found")
[[ -n $missing ]] && { echo "missing shared libraries:"; echo "$missing"; } | tee -a "$report"
echo "== CUDA tests" | tee -a "$report"
t0=$SECONDS
timeout 240 "$bundle/bin/test_cuda" --log_level=test_suite --report_level=short --color_output=no > "$out/test_cuda.log" 2>&1
rc=$?
echo "test_cuda exit status $rc ($((SECONDS - t0)) s)" | tee -a "$report"
{ echo '```'; tail -n 25 "$out/test_cuda.log"; echo '```'; } >> "$report"
if [[ $rc -eq 77 ]]; then
  echo "no CUDA device: benchmarks not run" | tee -a "$report"
  exit 77
fi
if [[ -x $bundle/bin/test_nccl ]]; then
  echo "== NCCL communicator (one rank)" | tee -a "$report"
  nccl_lib=$(python3 -c 'import nvidia.nccl, os; print(os.path.join(list(nvidia.nccl.__path__)[0], "lib"))' 2>/dev/null)
  LD_LIBRARY_PATH="${nccl_lib:+$nccl_lib:}${LD_LIBRARY_PATH:-}" timeout 120 "$bundle/bin/test_nccl" \
    --log_level=test_suite --report_level=short --color_output=no > "$out/test_nccl.log" 2>&1
  echo "test_nccl exit status $?" | tee -a "$report"
  { echo '```'; tail -n 12 "$out/test_nccl.log"; echo '```'; } >> "$report"
fi
if [[ -x $bundle/bin/custom_policy_cuda ]]; then
  echo "== custom policy (examples/custom_policy.hpp) on the GPU" | tee -a "$report"
  timeout 60 "$bundle/bin/custom_policy_cuda" > "$out/custom_policy_cuda.log" 2>&1
  echo "custom_policy_cuda exit status $?" | tee -a "$report"
  { echo '```'; tail -n 6 "$out/custom_policy_cuda.log"; echo '```'; } >> "$report"
fi

echo "== benchmarks (tinymim vs PyTorch, same card, one after the other)" | tee -a "$report"
echo "| benchmark | TF32 | tinymim img/s | PyTorch img/s | ratio | tinymim device MiB | PyTorch device MiB |" >> "$report"
echo "|---|---|---|---|---|---|---|" >> "$report"
bench() {  # tf32 flag ("" or --tf32), then the work
  local tf=$1
  shift
  local ours peer
  if ! in_budget; then echo "| $* | ${tf:-off} | skipped: over the ${budget} s budget | | | | |" >> "$report"; return; fi
  echo "== $* $tf" >> "$out/bench.log"
  ours=$(timeout 90 "$bundle/bin/tinymim" bench "$@" --device cuda --steps 20 --warmup 3 $tf 2>>"$out/bench.log" | tail -n 1)
  peer=$(timeout 90 python3 benchmarks/peer_pytorch_cuda.py "$@" --steps 20 --warmup 3 $tf 2>>"$out/bench.log" | tail -n 1)
  echo "$ours" >> "$out/bench.jsonl"
  echo "$peer" >> "$out/bench.jsonl"
  python3 - "$*" "$tf" "$ours" "$peer" >> "$report" <<'PY'
import json, sys
c, tf = sys.argv[1], sys.argv[2] or "off"
try:
    o, p = json.loads(sys.argv[3]), json.loads(sys.argv[4])
    print(f"| {c} | {tf} | {o['images_per_second']:.0f} | {p['images_per_second']:.0f} | "
          f"{o['images_per_second'] / p['images_per_second']:.2f} | {o.get('device_peak_mib', 0):.0f} | {p['device_peak_mib']:.0f} |")
except Exception as e:  # a side failed: say so in the table
    print(f"| {c} | {tf} | failed: {sys.argv[3][:80]!r} | {sys.argv[4][:80]!r} | | | |")
PY
}
bench "" distill --teacher vit-small --student vit-tiny --batch 128
bench --tf32 distill --teacher vit-small --student vit-tiny --batch 128
bench "" distill --teacher fm-small --student fm-tiny --batch 256
bench "" train --model vit-small --batch 128
bench "" forward --model vit-small --batch 128
python3 -c "import torch; print(f'\nPyTorch {torch.__version__}, CUDA {torch.version.cuda}')" >> "$report" 2>&1

# Memory errors: the op cases once more under compute-sanitizer (memcheck), where the machine has it.
if command -v compute-sanitizer > /dev/null && in_budget; then
  echo "== compute-sanitizer memcheck (op cases)" | tee -a "$report"
  t0=$SECONDS
  timeout 150 compute-sanitizer --tool memcheck --error-exitcode 9 "$bundle/bin/test_cuda" \
      --run_test=op_agrees_with_cpu --report_level=short > "$out/sanitizer.log" 2>&1
  echo "compute-sanitizer exit status $? ($((SECONDS - t0)) s)" | tee -a "$report"
  { echo '```'; grep -E "ERROR SUMMARY|Invalid|errors? detected|Leaked" "$out/sanitizer.log" | head -n 20; tail -n 3 "$out/sanitizer.log"; echo '```'; } >> "$report"
fi
echo "total $((SECONDS - start)) s" >> "$report"
cat "$report"
exit $rc
