#!/usr/bin/env bash
# Installs the dependencies (oneMKL included, else OpenBLAS: scripts/choose-blas.sh), builds tinymim and its
# tests (Release, ccache), and runs every test.
# Usage: scripts/test.sh [build-dir]     (default: build)
set -euo pipefail
cd "$(dirname "$0")/.."
export CCACHE_BASEDIR=${CCACHE_BASEDIR:-$PWD}  # cache hits across clones in other folders
bash scripts/install-deps.sh
# The CUDA backend's tests compile wherever nvcc is (and run where a GPU is): find the toolkit's nvcc
# even when it is not on PATH.
if [[ -z "${CUDACXX:-}" ]] && ! command -v nvcc > /dev/null && [[ -x /usr/local/cuda/bin/nvcc ]]; then
  export CUDACXX=/usr/local/cuda/bin/nvcc
fi
build=${1:-build}
jobs=$(nproc)
source scripts/choose-blas.sh  # oneMKL, else OpenBLAS: blas_args
cmake -S . -B "$build" -DCMAKE_BUILD_TYPE=Release -DCMAKE_CXX_COMPILER_LAUNCHER=ccache \
      -DCMAKE_CUDA_COMPILER_LAUNCHER=ccache "${blas_args[@]}" ${TINYMIM_CMAKE_ARGS:-}
cmake --build "$build" -j "$jobs"
ctest --test-dir "$build" -j "$jobs" --output-on-failure
