#!/usr/bin/env bash
# Data-parallel scaling on this machine (docs/results/scaling.md): fm-small -> fm-tiny distillation at a global
# batch of 256, one rank with two threads against two ranks with one thread each, in one run, as a ratio; and
# the exposed communication (buckets overlapping the backward, and started after it) against the gradient
# allreduce alone. Needs the MPI build (tinymim_scaling).
#   bash benchmarks/scaling.sh [build dir] [steps] [bucket bytes]
set -euo pipefail
build=${1:-build} steps=${2:-24} buckets=${3:-}  # buckets: bytes per bucket (default: the library's)
bin=$build/benchmarks/tinymim_scaling
[[ -x $bin ]] || { echo "no $bin: configure with MPI (libopenmpi-dev) and build tinymim_scaling"; exit 1; }
run=(mpirun --allow-run-as-root --oversubscribe --bind-to none)
one=$("${run[@]}" -np 1 -x OMP_NUM_THREADS=2 "$bin" 256 "$steps" $buckets | tail -n 1)
two=$("${run[@]}" -np 2 -x OMP_NUM_THREADS=1 "$bin" 256 "$steps" $buckets | tail -n 1)
echo "$two" > "$build/scaling.json"  # for benchmarks/scaling_model.py
python3 - "$one" "$two" <<'PY'
import json, sys
one, two = (json.loads(a) for a in sys.argv[1:3])
print(f"CPU: {open('/proc/cpuinfo').read().split('model name')[1].split(':')[1].splitlines()[0].strip()}")
print(f"1 rank x 2 threads: {one['images_per_second']:.1f} images/s")
print(f"2 ranks x 1 thread: {two['images_per_second']:.1f} images/s")
print(f"ratio 2x1 / 1x2: {two['images_per_second'] / one['images_per_second']:.3f}")
ms = {k: 1e3 * v for k, v in two['step_seconds'].items()}
print("2 ranks, median step: " + ", ".join(f"{k} {v:.1f} ms" for k, v in ms.items()))
alone = two['gradient_allreduce_seconds']
print(f"gradient allreduce alone: {1e3 * alone:.2f} ms per step ({two['gradient_values']} values)")
print(f"{two['buckets']} buckets of {two['bucket_bytes']} B")
print("2 ranks, median data-parallel part of a step (last rank to arrive): " +
      ", ".join(f"{k} {1e3 * v:.2f} ms" for k, v in two['sync_seconds'].items()) +
      f" (overlap: {1e3 * two['overlap_hook_seconds']:.2f} ms of it in the backward's reports)")
for key, what in (('exposed_communication_seconds', 'exposed communication (overlap - barrier)'),
                  ('exposed_communication_seconds_without_overlap', 'exposed without overlap (after - barrier)')):
    print(f"{what}: {1e3 * two[key]:.2f} ms per step ({100 * two[key] / alone:.0f} % of the allreduce alone)")
for s in two['allreduce']:
    print(f"  allreduce {s['bytes']:>9} B on 2 ranks: {1e6 * s['seconds']:9.1f} us")
PY
