#!/usr/bin/env bash
# On a machine with an NVIDIA GPU and Nsight Compute: where the time of one tinymim training step goes,
# kernel by kernel. Runs `tinymim bench` under ncu with a single one-pass metric (each kernel's duration,
# clocks left alone) and writes a table of the kernels sorted by total time to $OUT (or gpu-report/);
# the raw CSV stays in /tmp (the device tool brings back only a few files).
#   bash scripts/gpu-profile.sh [bundle dir, default gpu-bundle] [bench arguments ...]
#   default work: train --model vit-small --batch 64 (one warm-up step, one profiled step)
set -uo pipefail
cd "$(dirname "$0")/.."
bundle=${1:-gpu-bundle}
shift || true
out=${OUT:-gpu-report}
mkdir -p "$out"
export LD_LIBRARY_PATH="$PWD/$bundle/lib:/usr/local/cuda/lib64:/usr/local/cuda/lib:${LD_LIBRARY_PATH:-}"
work=("$@")
[[ ${#work[@]} -eq 0 ]] && work=(train --model vit-small --batch 64)
name=$(echo "${work[*]}" | tr -c 'a-zA-Z0-9-' '_' | sed 's/_*$//')
ncu_bin=$(command -v ncu || ls /opt/nvidia/nsight-compute/*/ncu 2>/dev/null | head -n 1)
[[ -z $ncu_bin ]] && { echo "ncu not found"; exit 1; }
# The warm-up step's kernels are skipped by the profiled range: --steps 1 --warmup 1 runs two steps; the
# per-kernel summary covers both (durations do not depend on the step), the totals are halved below.
csv_file=/tmp/ncu-$name.csv
timeout 240 "$ncu_bin" --clock-control none --metrics gpu__time_duration.sum --csv --print-units base \
    --print-summary per-kernel "$bundle/bin/tinymim" bench "${work[@]}" --device cuda --steps 1 --warmup 1 \
    > "$csv_file" 2> /tmp/ncu-$name.log
echo "ncu exit status $? (${work[*]})" | tee "$out/ncu-$name.md"
tail -n 5 /tmp/ncu-$name.log >> "$out/ncu-$name.md"
python3 - "$csv_file" <<'PY' 2>&1 | tee -a "$out/ncu-$name.md"
import csv, sys, collections
rows = [r for r in csv.reader(open(sys.argv[1])) if len(r) > 5]
if not rows:
    print("no CSV rows from ncu; its output begins:")
    print(open(sys.argv[1]).read()[:2000])
    sys.exit(0)
start = next((i for i, r in enumerate(rows) if "Metric Name" in r), 0)  # the program's own lines come first
rows = rows[start:]
head = rows[0]
idx = {h: i for i, h in enumerate(head)}
name_col = next((c for c in ("Kernel Name", "Function Name", "Name") if c in idx), None)
inv_col = next((c for c in ("Invocations", "ID") if c in idx), None)
avg_col = "Average" if "Average" in idx else None
if name_col is None or avg_col is None:
    print("columns:", head)
    for r in rows[1:6]:
        print(r)
    sys.exit(0)
tot = collections.Counter()
calls = collections.Counter()
for r in rows[1:]:
    if "gpu__time_duration" not in " ".join(r):
        continue
    try:
        n = int(r[idx[inv_col]]) if inv_col == "Invocations" else 1
        avg = float(r[idx[avg_col]].replace(",", ""))
    except ValueError:
        continue
    k = r[idx[name_col]][:90]
    tot[k] += n * avg
    calls[k] += n
all_ns = sum(tot.values())
print(f"total kernel time {all_ns / 2e6:.2f} ms per step (two steps profiled), {sum(calls.values()) // 2} launches per step\n")
print("| kernel | launches/step | ms/step | share |")
print("|---|---|---|---|")
for k, v in tot.most_common(25):
    print(f"| `{k}` | {calls[k] // 2} | {v / 2e6:.2f} | {100 * v / all_ns:.1f} % |")
PY
