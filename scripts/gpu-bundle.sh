#!/usr/bin/env bash
# Here (nvcc, no GPU): builds the CUDA test binary and the tinymim tool for a GPU machine that has the
# CUDA toolkit and PyTorch but no Eigen, Boost or OpenBLAS, and gathers them with the shared libraries
# they need (everything but glibc and the CUDA libraries, which the GPU machine's toolkit provides)
# into gpu-bundle/ (git-ignored; carried to the device by the `run` tool's carry list).
#   bash scripts/gpu-bundle.sh [build dir, default build-gpu]
set -euo pipefail
cd "$(dirname "$0")/.."
build=${1:-build-gpu}
# Portable x86-64-v3 code (AVX2/FMA) rather than -march=native; Eigen's GEMM (no OpenBLAS to carry).
cmake -S . -B "$build" -DCMAKE_BUILD_TYPE=Release -DTINYMIM_CUDA=ON -DTINYMIM_NATIVE=OFF -DTINYMIM_BLAS=None \
      -DCMAKE_CXX_FLAGS="-march=x86-64-v3" -DCMAKE_CXX_COMPILER_LAUNCHER=ccache -DCMAKE_CUDA_COMPILER_LAUNCHER=ccache \
      ${CUDACXX:+-DCMAKE_CUDA_COMPILER=$CUDACXX}
cmake --build "$build" -j "$(nproc)" --target test_cuda tinymim_tool custom_policy_cuda test_nccl
rm -rf gpu-bundle
mkdir -p gpu-bundle/bin gpu-bundle/lib
cp "$build/tests/test_cuda" "$build/tests/test_nccl" "$build/examples/tinymim" "$build/examples/custom_policy_cuda" \
   gpu-bundle/bin/
for bin in gpu-bundle/bin/*; do
  ldd "$bin" | awk '/=> \// {print $3}' | while read -r lib; do
    case "$(basename "$lib")" in
      # libnccl (218 MB) stays behind: the GPU machine's PyTorch wheel has it (gpu-check.sh finds it).
      libc.so*|libm.so*|libdl.so*|librt.so*|libpthread.so*|ld-linux*|libcublas*|libcudart*|libnccl*) ;;
      *) cp -Ln "$lib" gpu-bundle/lib/ ;;
    esac
  done
done
strip gpu-bundle/bin/* 2>/dev/null || true
du -sh gpu-bundle gpu-bundle/bin/* gpu-bundle/lib/*
