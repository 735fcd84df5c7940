#!/usr/bin/env bash
# Installs the dependencies, builds the tinymim tool and runs the main job: the TinyMIM recipe on
# Fashion-MNIST (MAE teacher, TinyMIM student, MAE-from-scratch baseline, fine-tuning, test accuracy).
# Usage: scripts/demo.sh [tinymim demo options, e.g. --profile full --out runs/full]
set -euo pipefail
cd "$(dirname "$0")/.."
export CCACHE_BASEDIR=${CCACHE_BASEDIR:-$PWD}  # cache hits across clones in other folders
bash scripts/install-deps.sh
build=build
source scripts/choose-blas.sh  # oneMKL, else OpenBLAS: blas_args
cmake -S . -B "$build" -DCMAKE_BUILD_TYPE=Release -DCMAKE_CXX_COMPILER_LAUNCHER=ccache "${blas_args[@]}" \
      ${TINYMIM_CMAKE_ARGS:-}
cmake --build "$build" -j "$(nproc)" --target tinymim_tool
exec "$build/examples/tinymim" demo --out runs/demo "$@"
