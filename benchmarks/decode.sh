#!/usr/bin/env bash
# Decoding speed on one core (docs/results/data.md): io::decode_image (libjpeg-turbo, libpng) against stb_image on
# an ImageNet-like set of JPEGs (500 x 375, quality 90, from benchmarks/make_images.py), and the streamed loader's
# whole per-image work at 224 x 224. Needs libstb-dev and the benchmark build (tinymim_decode).
#   bash benchmarks/decode.sh [build dir] [images=200]
set -euo pipefail
build=${1:-build} n=${2:-200}
bin=$build/benchmarks/tinymim_decode
[[ -x $bin ]] || { echo "no $bin: install libstb-dev, configure with -DTINYMIM_BUILD_BENCHMARKS=ON, build tinymim_decode"; exit 1; }
dir=$build/decode_images/train/all
[[ -d $dir && $(ls "$dir" | wc -l) == "$n" ]] || { rm -rf "$dir"; python3 "$(dirname "$0")/make_images.py" "$dir" "$n"; }
echo "CPU: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //'), one thread"
OMP_NUM_THREADS=1 taskset -c 0 "$bin" "$build/decode_images/train" 3
