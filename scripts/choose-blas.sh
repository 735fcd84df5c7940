# Sourced by scripts/test.sh and scripts/demo.sh: the BLAS of the build, in `blas_args` (cmake arguments).
# oneMKL is the supported fast build — its bf16 GEMM runs on AMX or AVX512-BF16, its packed fp32 GEMMs
# feed the fused kernels — and is installed from PyPI's wheels (scripts/install-mkl.sh). Where it cannot
# be installed (no network, not x86-64) the build falls back to Debian's OpenBLAS, which has no bf16 GEMM:
# bf16_mixed then widens its operands to float (docs/design/precision.md). TINYMIM_BLAS=OpenBLAS (or None)
# chooses the fallback; TINYMIM_MKL_ROOT the install folder (default /opt/mkl).
mkl_root=${TINYMIM_MKL_ROOT:-/opt/mkl}
case "${TINYMIM_BLAS:-MKL}" in
  MKL)
    if [[ "$(uname -m)" == x86_64 ]] && bash scripts/install-mkl.sh "$mkl_root"; then
      blas_args=(-DTINYMIM_BLAS=MKL "-DTINYMIM_MKL_ROOT=$mkl_root")
    else
      echo "oneMKL could not be installed: building with OpenBLAS (bf16_mixed widens to float there)" >&2
      blas_args=(-DTINYMIM_BLAS=OpenBLAS)
    fi
    ;;
  OpenBLAS | None) blas_args=("-DTINYMIM_BLAS=$TINYMIM_BLAS") ;;
  *) echo "TINYMIM_BLAS must be MKL, OpenBLAS or None, not '$TINYMIM_BLAS'" >&2; exit 2 ;;
esac
