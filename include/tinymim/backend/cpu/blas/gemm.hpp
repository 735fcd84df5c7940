// CPU GEMM: row-major C = alpha * op(A) * op(B) + beta * C, through Eigen (or a CBLAS when
// TINYMIM_USE_CBLAS is defined: OpenBLAS's cblas.h, or oneMKL's mkl_cblas.h with TINYMIM_USE_MKL).
// The only place in the library that includes Eigen's products.
#pragma once

#include <cstddef>
#include <cstdint>
#include <map>
#include <mutex>
#include <tuple>
#include <type_traits>
#include <utility>
#include <vector>

#include <Eigen/Core>  // Map, Matrix, products

#if defined(TINYMIM_USE_MKL)
#include <mkl_cblas.h>
#include <mkl_service.h>  // mkl_set_num_threads_local
#elif defined(TINYMIM_USE_CBLAS)
#include <cblas.h>
#endif

#include "tinymim/backend/cpu/cpu.hpp"

namespace tinymim::backends {

// The library the CPU GEMMs go to, as this translation unit was compiled (for reports and benchmarks).
inline constexpr const char* cpu_gemm_library =
#if defined(TINYMIM_USE_MKL)
    "oneMKL";
#elif defined(TINYMIM_USE_CBLAS) && defined(OPENBLAS_VERSION)
    "OpenBLAS";
#elif defined(TINYMIM_USE_CBLAS)
    "CBLAS";
#else
    "Eigen";
#endif

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

// One GEMM on the threads BLAS (or Eigen) chooses to use itself.
template <class T>
void gemm_one(bool ta, bool tb, std::size_t m, std::size_t n, std::size_t k, T alpha, const T* a, std::size_t lda,
              const T* b, std::size_t ldb, T beta, T* c, std::size_t ldc) {
#if defined(TINYMIM_USE_CBLAS)
    const auto oa = ta ? CblasTrans : CblasNoTrans;
    const auto ob = tb ? CblasTrans : CblasNoTrans;
    if constexpr (std::is_same_v<T, float>)
        cblas_sgemm(CblasRowMajor, oa, ob, int(m), int(n), int(k), alpha, a, int(lda), b, int(ldb), beta, c, int(ldc));
    else
        cblas_dgemm(CblasRowMajor, oa, ob, int(m), int(n), int(k), alpha, a, int(lda), b, int(ldb), beta, c, int(ldc));
#else
    if (!ta && !tb)
        eigen_gemm(row_view(a, m, k, lda), row_view(b, k, n, ldb), alpha, beta, c, m, n, ldc);
    else if (ta && !tb)
        eigen_gemm(trans_view(a, m, k, lda), row_view(b, k, n, ldb), alpha, beta, c, m, n, ldc);
    else if (!ta && tb)
        eigen_gemm(row_view(a, m, k, lda), trans_view(b, k, n, ldb), alpha, beta, c, m, n, ldc);
    else
        eigen_gemm(trans_view(a, m, k, lda), trans_view(b, k, n, ldb), alpha, beta, c, m, n, ldc);
#endif
}

// How a GEMM is spread over the threads. The linear layers' products are tall and thin (12 800 rows of
// 96-384 features in the fm models), and one block of rows per thread, each a one-thread BLAS call, beat
// OpenBLAS's own threading of fm-tiny's gradients (benchmarks/blas_shapes.cpp; docs/design/backends.md).
// So a tall product whose weight (the
// small operand) has at most split_elements values (vit-small's largest has 590 k) is split here: by rows
// of C when A is not transposed, and along the long inner dimension when it is (the weight gradient
// dW = dYᵀ X: each thread sums its rows into its own partial, then the partials are added). Larger weights
// stay with the BLAS's threading (not measured).
inline constexpr std::size_t split_elements = std::size_t(1) << 20;  // 4 MiB of fp32
inline constexpr std::size_t split_min_rows = 128;                   // per thread

inline int gemm_threads() {
#if defined(_OPENMP)
    return omp_in_parallel() ? 1 : omp_get_max_threads();
#else
    return 1;
#endif
}

}  // namespace cpu_detail

// Row-major GEMM. op(A) is m x k, op(B) is k x n, C is m x n; ld* are row strides.
template <class T>
void gemm(cpu, bool ta, bool tb, std::size_t m, std::size_t n, std::size_t k, T alpha, const T* a, std::size_t lda,
          const T* b, std::size_t ldb, T beta, T* c, std::size_t ldc) {
    using namespace cpu_detail;
    if (m == 0 || n == 0) return;
    const std::size_t threads = std::size_t(gemm_threads());
#if defined(_OPENMP)
    if (threads > 1 && !ta && m >= split_min_rows * threads && n * k <= split_elements) {
#pragma omp parallel num_threads(int(threads))
        {
            const std::size_t t = std::size_t(omp_get_thread_num()), nt = std::size_t(omp_get_num_threads());
            const std::size_t lo = m * t / nt, hi = m * (t + 1) / nt;
            gemm_one(false, tb, hi - lo, n, k, alpha, a + lo * lda, lda, b, ldb, beta, c + lo * ldc, ldc);
        }
        return;
    }
    if (threads > 1 && ta && k >= split_min_rows * threads && m * n <= split_elements) {
        // The partial products of the threads other than the caller: thread t > 0 writes block t - 1 (ld n).
        T* partial = thread_buffer<T, scratch::gemm_partials>((threads - 1) * m * n);
#pragma omp parallel num_threads(int(threads))
        {
            const std::size_t t = std::size_t(omp_get_thread_num()), nt = std::size_t(omp_get_num_threads());
            const std::size_t lo = k * t / nt, hi = k * (t + 1) / nt;
            // op(A) = Aᵀ: its columns lo..hi are the stored A's rows lo..hi; op(B)'s rows lo..hi are the
            // stored B's rows (or, transposed, its columns).
            const T* at = a + lo * lda;
            const T* bt = tb ? b + lo : b + lo * ldb;
            if (t == 0)
                gemm_one(true, tb, m, n, hi - lo, alpha, at, lda, bt, ldb, beta, c, ldc);
            else
                gemm_one(true, tb, m, n, hi - lo, alpha, at, lda, bt, ldb, T(0), partial + (t - 1) * m * n, n);
#pragma omp barrier
#pragma omp for schedule(static)
            for (std::ptrdiff_t i = 0; i < std::ptrdiff_t(m); ++i) {
                T* ci = c + std::size_t(i) * ldc;
                for (std::size_t p = 0; p + 1 < nt; ++p) {
                    const T* pi = partial + p * m * n + std::size_t(i) * n;
                    for (std::size_t j = 0; j < n; ++j) ci[j] += pi[j];
                }
            }
        }
        return;
    }
#endif
    gemm_one(ta, tb, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc);
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
