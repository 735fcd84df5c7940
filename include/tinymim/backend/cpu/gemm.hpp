// CPU GEMM: row-major C = alpha * op(A) * op(B) + beta * C, through Eigen (or a CBLAS when
// TINYMIM_USE_CBLAS is defined). The only place in the library that includes Eigen's products.
#pragma once

#include <cstddef>

#include <Eigen/Core>  // Map, Matrix, products

#if defined(TINYMIM_USE_CBLAS)
#include <cblas.h>
#endif

#include "tinymim/backend/cpu/cpu.hpp"

namespace tinymim::backends {

namespace cpu_detail {
template <class T>
using row_matrix = Eigen::Matrix<T, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;
template <class T>
using col_matrix = Eigen::Matrix<T, Eigen::Dynamic, Eigen::Dynamic, Eigen::ColMajor>;

// op(X) for a row-major buffer: X itself, or its transpose viewed as a column-major map.
template <class T>
auto row_view(const T* p, std::size_t rows, std::size_t cols, std::size_t ld) {
    return Eigen::Map<const row_matrix<T>, 0, Eigen::OuterStride<>>(p, Eigen::Index(rows), Eigen::Index(cols),
                                                                     Eigen::OuterStride<>(Eigen::Index(ld)));
}
template <class T>
auto trans_view(const T* p, std::size_t rows, std::size_t cols, std::size_t ld) {
    // The stored matrix is cols x rows row-major; its transpose is rows x cols column-major.
    return Eigen::Map<const col_matrix<T>, 0, Eigen::OuterStride<>>(p, Eigen::Index(rows), Eigen::Index(cols),
                                                                     Eigen::OuterStride<>(Eigen::Index(ld)));
}

template <class T, class MA, class MB>
void eigen_gemm(const MA& a, const MB& b, T alpha, T beta, T* c, std::size_t m, std::size_t n, std::size_t ldc) {
    Eigen::Map<row_matrix<T>, 0, Eigen::OuterStride<>> cm(c, Eigen::Index(m), Eigen::Index(n),
                                                           Eigen::OuterStride<>(Eigen::Index(ldc)));
    if (beta == T(0)) {
        cm.noalias() = alpha * (a * b);
    } else {
        if (beta != T(1)) cm *= beta;
        cm.noalias() += alpha * (a * b);
    }
}
}  // namespace cpu_detail

// Row-major GEMM. op(A) is m x k, op(B) is k x n, C is m x n; ld* are row strides.
template <class T>
void gemm(cpu, bool ta, bool tb, std::size_t m, std::size_t n, std::size_t k, T alpha, const T* a, std::size_t lda,
          const T* b, std::size_t ldb, T beta, T* c, std::size_t ldc) {
    if (m == 0 || n == 0) return;
#if defined(TINYMIM_USE_CBLAS)
    const auto oa = ta ? CblasTrans : CblasNoTrans;
    const auto ob = tb ? CblasTrans : CblasNoTrans;
    if constexpr (std::is_same_v<T, float>)
        cblas_sgemm(CblasRowMajor, oa, ob, int(m), int(n), int(k), alpha, a, int(lda), b, int(ldb), beta, c, int(ldc));
    else
        cblas_dgemm(CblasRowMajor, oa, ob, int(m), int(n), int(k), alpha, a, int(lda), b, int(ldb), beta, c, int(ldc));
#else
    using namespace cpu_detail;
    if (!ta && !tb) eigen_gemm(row_view(a, m, k, lda), row_view(b, k, n, ldb), alpha, beta, c, m, n, ldc);
    else if (ta && !tb) eigen_gemm(trans_view(a, m, k, lda), row_view(b, k, n, ldb), alpha, beta, c, m, n, ldc);
    else if (!ta && tb) eigen_gemm(row_view(a, m, k, lda), trans_view(b, k, n, ldb), alpha, beta, c, m, n, ldc);
    else eigen_gemm(trans_view(a, m, k, lda), trans_view(b, k, n, ldb), alpha, beta, c, m, n, ldc);
#endif
}

// A batch of GEMMs with constant strides between operands (stride_b == 0: B shared).
// Parallel over the batch when there are enough matrices; each GEMM then runs on one thread.
template <class T>
void gemm_strided_batched(cpu, bool ta, bool tb, std::size_t m, std::size_t n, std::size_t k, T alpha, const T* a,
                          std::size_t lda, std::size_t stride_a, const T* b, std::size_t ldb, std::size_t stride_b,
                          T beta, T* c, std::size_t ldc, std::size_t stride_c, std::size_t count) {
    if (count == 1) {
        gemm(cpu{}, ta, tb, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc);
        return;
    }
#pragma omp parallel for schedule(static) if (count >= 2)
    for (std::ptrdiff_t i = 0; i < std::ptrdiff_t(count); ++i)
        gemm(cpu{}, ta, tb, m, n, k, alpha, a + std::size_t(i) * stride_a, lda, b + std::size_t(i) * stride_b, ldb,
             beta, c + std::size_t(i) * stride_c, ldc);
}

}  // namespace tinymim::backends
