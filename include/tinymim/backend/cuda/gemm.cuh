// CUDA GEMM through cuBLAS, with the library's row-major convention.
//
// The mapping, written down once: a row-major matrix X (r x c, row stride ld) is, to cuBLAS (column-
// major), the matrix X^T (c x r) with leading dimension ld. Row-major C = op(A) op(B) is therefore
// column-major C^T = op(B)^T op(A)^T: call cuBLAS with the operands swapped (B first), the same
// transpose flags, and m and n swapped. The strides ld* carry over unchanged.
#pragma once

#include <cstddef>
#include <type_traits>

#include "tinymim/backend/cuda/cuda.cuh"

namespace tinymim::backends {

template <class T>
void gemm(cuda, bool ta, bool tb, std::size_t m, std::size_t n, std::size_t k, T alpha, const T* a, std::size_t lda,
          const T* b, std::size_t ldb, T beta, T* c, std::size_t ldc) {
    if (m == 0 || n == 0) return;
    const auto oa = ta ? CUBLAS_OP_T : CUBLAS_OP_N, ob = tb ? CUBLAS_OP_T : CUBLAS_OP_N;
    if constexpr (std::is_same_v<T, float>)
        TINYMIM_CUBLAS_CHECK(cublasSgemm(cuda::blas(), ob, oa, int(n), int(m), int(k), &alpha, b, int(ldb), a, int(lda),
                                         &beta, c, int(ldc)));
    else
        TINYMIM_CUBLAS_CHECK(cublasDgemm(cuda::blas(), ob, oa, int(n), int(m), int(k), &alpha, b, int(ldb), a, int(lda),
                                         &beta, c, int(ldc)));
}

// A batch of GEMMs with constant strides (stride_b == 0: B shared), as one strided-batched cuBLAS call.
template <class T>
void gemm_strided_batched(cuda, bool ta, bool tb, std::size_t m, std::size_t n, std::size_t k, T alpha, const T* a,
                          std::size_t lda, std::size_t stride_a, const T* b, std::size_t ldb, std::size_t stride_b,
                          T beta, T* c, std::size_t ldc, std::size_t stride_c, std::size_t count) {
    if (m == 0 || n == 0 || count == 0) return;
    const auto oa = ta ? CUBLAS_OP_T : CUBLAS_OP_N, ob = tb ? CUBLAS_OP_T : CUBLAS_OP_N;
    using ll = long long;
    if constexpr (std::is_same_v<T, float>)
        TINYMIM_CUBLAS_CHECK(cublasSgemmStridedBatched(cuda::blas(), ob, oa, int(n), int(m), int(k), &alpha, b,
                                                       int(ldb), ll(stride_b), a, int(lda), ll(stride_a), &beta, c,
                                                       int(ldc), ll(stride_c), int(count)));
    else
        TINYMIM_CUBLAS_CHECK(cublasDgemmStridedBatched(cuda::blas(), ob, oa, int(n), int(m), int(k), &alpha, b,
                                                       int(ldb), ll(stride_b), a, int(lda), ll(stride_a), &beta, c,
                                                       int(ldc), ll(stride_c), int(count)));
}

}  // namespace tinymim::backends
