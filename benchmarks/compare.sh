#!/usr/bin/env bash
# Side by side, in one run: each end-to-end benchmark in tinymim (`tinymim bench`) and in PyTorch
# (benchmarks/peer_pytorch.py), one right after the other, at 1 and 2 threads; prints a Markdown table
# with the ratios (tinymim images/s over PyTorch images/s; peak RSS tinymim over PyTorch). Before each
# row it measures the cores' fp32 multiply-add peak (`tinymim bench peak`, best of 3) and gives tinymim's
# GFLOP/s as a percentage of it; each side runs REPEAT times, alternating, and its best run counts.
#   pip install torch timm && bash benchmarks/compare.sh [build-dir]
# Environment: STEPS (timed steps, default 5), THREADS (default "1 2"), ONLY (a regex selecting cases),
# REPEAT (runs of each side per row, default 2), PRECISION (fp32, default, or bf16: tinymim --precision bf16
# against the better of PyTorch's autocast bf16 and its fp32, each run REPEAT times; the peak is then the
# bf16 peak, `bench peak --precision bf16`).
set -euo pipefail
cd "$(dirname "$0")/.."
tool=${1:-build}/examples/tinymim
steps=${STEPS:-5}
precision=${PRECISION:-fp32}
peer_amps=(none)
[[ "$precision" == bf16 ]] && peer_amps=(bf16 none)
source benchmarks/cases.sh
echo "| benchmark | threads | tinymim img/s | PyTorch img/s | speed ratio | tinymim GFLOP/s | % of peak | RSS ratio |"
echo "|---|---|---|---|---|---|---|---|"
for threads in ${THREADS:-1 2}; do
  for c in "${cases[@]}"; do
    [[ -n "${ONLY:-}" && ! "$c" =~ ${ONLY} ]] && continue
    # The peak right before the row, then tinymim and PyTorch alternated REPEAT times; each side's best run
    # counts (a burst of load from another tenant of the machine slows one run, it cannot speed one up).
    runs=("$("$tool" bench peak --precision "$precision" --threads "$threads" --steps 3 2>/dev/null | tail -n 1)")
    for ((r = 0; r < ${REPEAT:-2}; ++r)); do
      runs+=("$("$tool" bench $c --precision "$precision" --steps "$steps" --threads "$threads" 2>/dev/null | tail -n 1)")
      for amp in "${peer_amps[@]}"; do
        runs+=("$(OMP_NUM_THREADS=$threads python3 benchmarks/peer_pytorch.py $c --amp "$amp" --steps "$steps" --threads "$threads" 2>/dev/null | tail -n 1)")
      done
    done
    python3 - "$c" "$threads" "${#peer_amps[@]}" "${runs[@]}" <<'PY'
import json, sys
c, th, n_peer = sys.argv[1], sys.argv[2], int(sys.argv[3])
k, *runs = (json.loads(a) for a in sys.argv[4:])
o = max(runs[0::n_peer + 1], key=lambda j: j["images_per_second"])
p = max((j for i, j in enumerate(runs) if i % (n_peer + 1) != 0), key=lambda j: j["images_per_second"])
if n_peer > 1:
    c += f" (PyTorch {p['precision']})"
print(f"| {c} | {th} | {o['images_per_second']:.1f} | {p['images_per_second']:.1f} | "
      f"{o['images_per_second'] / p['images_per_second']:.2f} | {o['gflops']:.0f} | {100 * o['gflops'] / k['gflops']:.0f} % "
      f"of {k['gflops']:.0f} | {o['peak_rss_mib'] / p['peak_rss_mib']:.2f} |")
PY
  done
done
blas=$("$tool" bench forward --model fm-tiny --batch 8 --steps 1 --threads 1 2>/dev/null | tail -n 1 |
       python3 -c "import json, sys; print(json.load(sys.stdin).get('blas', '?'))")
python3 -c "import torch; print(f'\ntinymim: GEMMs through $blas. PyTorch {torch.__version__}, torch.set_num_threads = the threads column')"
