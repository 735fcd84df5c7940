#!/usr/bin/env bash
# On a machine with an NVIDIA GPU: runs the carried CUDA tests and the GPU benchmarks next to PyTorch on
# the same card, and writes a report (Markdown + raw JSON) to $OUT (or gpu-report/).
#   bash scripts/gpu-check.sh [bundle dir, default gpu-bundle]     (make the bundle with scripts/gpu-bundle.sh)
set -uo pipefail
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

echo "== CUDA tests" | tee -a "$report"
"$bundle/bin/test_cuda" --log_level=test_suite --report_level=short > "$out/test_cuda.log" 2>&1
rc=$?
echo "test_cuda exit status $rc" | tee -a "$report"
{ echo '```'; tail -n 25 "$out/test_cuda.log"; echo '```'; } >> "$report"
if [[ $rc -eq 77 ]]; then
  echo "no CUDA device: benchmarks not run" | tee -a "$report"
  exit 77
fi

echo "== benchmarks (tinymim vs PyTorch, same card, one after the other)" | tee -a "$report"
echo "| benchmark | TF32 | tinymim img/s | PyTorch img/s | ratio | tinymim device MiB | PyTorch device MiB |" >> "$report"
echo "|---|---|---|---|---|---|---|" >> "$report"
bench() {  # tf32 flag ("" or --tf32), then the work
  local tf=$1
  shift
  local ours peer
  ours=$("$bundle/bin/tinymim" bench "$@" --device cuda --steps 20 --warmup 3 $tf 2>>"$out/bench.log" | tail -n 1)
  peer=$(python3 benchmarks/peer_pytorch_cuda.py "$@" --steps 20 --warmup 3 $tf 2>>"$out/bench.log" | tail -n 1)
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
cat "$report"
exit $rc
