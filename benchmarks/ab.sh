#!/usr/bin/env bash
# Two builds of tinymim side by side, in one run: each end-to-end benchmark (`tinymim bench`) with the
# tool of build A and of build B, alternated REPEAT times; prints a Markdown table with every run's
# images/s, each side's best, and B's best over A's. For a change that must not change speed: the rows
# should sit within the spread of their own runs.
#   bash benchmarks/ab.sh BUILD_A BUILD_B
# Environment: STEPS (timed steps, default 4), THREADS (default "2"), ONLY (a regex selecting cases),
# REPEAT (runs of each side per row, default 3).
set -euo pipefail
cd "$(dirname "$0")/.."
[[ $# -eq 2 ]] || { echo "usage: bash benchmarks/ab.sh BUILD_A BUILD_B" >&2; exit 2; }
a=$1/examples/tinymim b=$2/examples/tinymim
for t in "$a" "$b"; do [[ -x $t ]] || { echo "ab.sh: no tool at $t (build the tinymim_tool target)" >&2; exit 2; }; done
steps=${STEPS:-4}
source benchmarks/cases.sh
echo "| benchmark | threads | A img/s (runs) | B img/s (runs) | B / A (best) | A / B peak RSS MiB |"
echo "|---|---|---|---|---|---|"
for threads in ${THREADS:-2}; do
  for c in "${cases[@]}"; do
    [[ -n "${ONLY:-}" && ! "$c" =~ ${ONLY} ]] && continue
    runs=()
    for ((r = 0; r < ${REPEAT:-3}; ++r)); do
      runs+=("$("$a" bench $c --steps "$steps" --threads "$threads" 2>/dev/null | tail -n 1)")
      runs+=("$("$b" bench $c --steps "$steps" --threads "$threads" 2>/dev/null | tail -n 1)")
    done
    python3 - "$c" "$threads" "${runs[@]}" <<'PY'
import json, sys
c, th, *rs = sys.argv[1], sys.argv[2], *sys.argv[3:]
js = [json.loads(r) for r in rs]
a, b = js[0::2], js[1::2]
ips = lambda side: [j["images_per_second"] for j in side]
fmt = lambda side: f"{max(ips(side)):.1f} ({', '.join(f'{v:.1f}' for v in ips(side))})"
rss = lambda side: max(j["peak_rss_mib"] for j in side)
print(f"| {c} | {th} | {fmt(a)} | {fmt(b)} | {max(ips(b)) / max(ips(a)):.3f} | {rss(a):.0f} / {rss(b):.0f} |")
PY
  done
done
