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
    if (!ta && !tb) eigen_gemm(row_view(a, m, k, lda), row_view(b, k, n, ldb), alpha, beta, c, m, n, ldc);
    else if (ta && !tb) eigen_gemm(trans_view(a, m, k, lda), row_view(b, k, n, ldb), alpha, beta, c, m, n, ldc);
    else if (!ta && tb) eigen_gemm(row_view(a, m, k, lda), trans_view(b, k, n, ldb), alpha, beta, c, m, n, ldc);
    else eigen_gemm(trans_view(a, m, k, lda), trans_view(b, k, n, ldb), alpha, beta, c, m, n, ldc);
#endif
}

// How a GEMM is spread over the threads. The linear layers' products are tall and thin (12 800 rows of
// 96-384 features in the fm models): OpenBLAS's own threading of fm-tiny's input and weight gradients
// reached 146-215 GFLOP/s on two AVX-512 cores, the same products cut into one block of rows per thread,
// each a one-thread BLAS call, 219-259 (benchmarks/blas_shapes.cpp, docs/performance.md); on fm-small's
// and vit-small's shapes the two are within a few per cent either way. So a tall product whose weight (the
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
            if (t == 0) gemm_one(true, tb, m, n, hi - lo, alpha, at, lda, bt, ldb, beta, c, ldc);
            else gemm_one(true, tb, m, n, hi - lo, alpha, at, lda, bt, ldb, T(0), partial + (t - 1) * m * n, n);
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

// One small GEMM shape called thousands of times in a step, always on one thread: attention's per-head
// products (50 x 50 x 32 for fm-small) and the relation loss's. With oneMKL, a kernel generated for
// exactly this shape, these strides and these alpha and beta (mkl_jit_create_sgemm) skips the checks
// and dispatch of each cblas call: the fm-small attention's forward 6.0 -> 4.6 ms on two AVX-512
// cores (docs/performance.md, tenth session). Elsewhere (or where MKL declines) it is gemm_one.
// Kernels are made once per shape and kept for the process; make them outside parallel regions (the
// cache is locked), call them from any thread.
template <class T>
class small_gemm {
public:
    small_gemm(bool ta, bool tb, std::size_t m, std::size_t n, std::size_t k, T alpha, std::size_t lda, std::size_t ldb,
               T beta, std::size_t ldc)
        : ta_(ta), tb_(tb), m_(m), n_(n), k_(k), lda_(lda), ldb_(ldb), ldc_(ldc), alpha_(alpha), beta_(beta) {
#if defined(TINYMIM_USE_MKL)
        if (m == 0 || n == 0 || k == 0) return;
        static std::mutex lock;
        static std::map<std::tuple<bool, bool, std::size_t, std::size_t, std::size_t, T, std::size_t, std::size_t, T, std::size_t>,
                        std::pair<void*, void*>>
            made;  // shape -> (jitter, kernel); never destroyed (a handful of shapes per process)
        const std::lock_guard<std::mutex> hold(lock);
        auto key = std::make_tuple(ta, tb, m, n, k, alpha, lda, ldb, beta, ldc);
        auto it = made.find(key);
        if (it == made.end()) {
            void* jitter = nullptr;
            const auto oa = ta ? MKL_TRANS : MKL_NOTRANS, ob = tb ? MKL_TRANS : MKL_NOTRANS;
            mkl_jit_status_t status;
            if constexpr (std::is_same_v<T, float>)
                status = mkl_jit_create_sgemm(&jitter, MKL_ROW_MAJOR, oa, ob, MKL_INT(m), MKL_INT(n), MKL_INT(k), alpha,
                                              MKL_INT(lda), MKL_INT(ldb), beta, MKL_INT(ldc));
            else
                status = mkl_jit_create_dgemm(&jitter, MKL_ROW_MAJOR, oa, ob, MKL_INT(m), MKL_INT(n), MKL_INT(k), alpha,
                                              MKL_INT(lda), MKL_INT(ldb), beta, MKL_INT(ldc));
            void* fn = nullptr;
            if (status == MKL_JIT_ERROR || jitter == nullptr) jitter = nullptr;  // no kernel: gemm_one
            else if constexpr (std::is_same_v<T, float>) fn = reinterpret_cast<void*>(mkl_jit_get_sgemm_ptr(jitter));
            else fn = reinterpret_cast<void*>(mkl_jit_get_dgemm_ptr(jitter));
            it = made.emplace(key, std::make_pair(jitter, fn)).first;
        }
        jitter_ = it->second.first;
        kernel_ = it->second.second;
#endif
    }

    // C = alpha op(A) op(B) + beta C with this object's shape and strides.
    void operator()(const T* a, const T* b, T* c) const {
#if defined(TINYMIM_USE_MKL)
        if (kernel_ != nullptr) {  // (MKL's kernel type takes non-const pointers; it does not write A or B)
            using fn_t = std::conditional_t<std::is_same_v<T, float>, sgemm_jit_kernel_t, dgemm_jit_kernel_t>;
            reinterpret_cast<fn_t>(kernel_)(jitter_, const_cast<T*>(a), const_cast<T*>(b), c);
            return;
        }
#endif
        cpu_detail::gemm_one(ta_, tb_, m_, n_, k_, alpha_, a, lda_, b, ldb_, beta_, c, ldc_);
    }

private:
    bool ta_, tb_;
    std::size_t m_, n_, k_, lda_, ldb_, ldc_;
    T alpha_, beta_;
    void* jitter_ = nullptr;
    void* kernel_ = nullptr;
};

// Products C = beta C + A · op(W) with one weight and many row blocks A [m <= max_m, k], from any thread:
// a layer's weights applied block by block. op(W) = Wᵀ for W [n, k] (`transposed`, a linear layer's
// forward), or W itself for W [k, n] (its input gradient). cblas_?gemm packs its B operand into panels
// again on every call — for a 256-row block of vit-small's MLP that copy is as large as the block's own.
// With oneMKL, W is packed here once (cblas_?gemm_pack, one thread, as the products run) into the calling
// thread's buffer for `Purpose`, and each product is a cblas_?gemm_compute on the packed panels; that
// lets a block's weights stream from the L3 instead of having to fit in the L2 (docs/performance.md,
// eleventh session). Elsewhere it keeps W and calls gemm_one. Make it outside parallel regions; call it
// from any thread while it lives; two that live at once need two purposes.
inline constexpr bool cpu_packs_weights =
#if defined(TINYMIM_USE_MKL)
    true;
#else
    false;
#endif

template <class T, cpu_detail::scratch Purpose>
class packed_weight {
public:
    packed_weight(const T* w, std::size_t n, std::size_t k, std::size_t max_m, bool transposed = true)
        : w_(w), n_(n), k_(k), ldw_(transposed ? k : n), transposed_(transposed) {
#if defined(TINYMIM_USE_MKL)
        if (n == 0 || k == 0 || max_m == 0) return;
        constexpr std::size_t align = 64 / sizeof(T);
        std::size_t bytes;
        if constexpr (std::is_same_v<T, float>) bytes = cblas_sgemm_pack_get_size(CblasBMatrix, MKL_INT(max_m), MKL_INT(n), MKL_INT(k));
        else bytes = cblas_dgemm_pack_get_size(CblasBMatrix, MKL_INT(max_m), MKL_INT(n), MKL_INT(k));
        T* buffer = cpu_detail::thread_buffer<T, Purpose>((bytes + sizeof(T) - 1) / sizeof(T) + align);
        packed_ = buffer + (align - (reinterpret_cast<std::uintptr_t>(buffer) / sizeof(T)) % align) % align;
        const int before = mkl_set_num_threads_local(1);
        const auto op = transposed ? CblasTrans : CblasNoTrans;
        if constexpr (std::is_same_v<T, float>)
            cblas_sgemm_pack(CblasRowMajor, CblasBMatrix, op, MKL_INT(max_m), MKL_INT(n), MKL_INT(k), 1.0f, w, MKL_INT(ldw_),
                             packed_);
        else
            cblas_dgemm_pack(CblasRowMajor, CblasBMatrix, op, MKL_INT(max_m), MKL_INT(n), MKL_INT(k), 1.0, w, MKL_INT(ldw_),
                             packed_);
        mkl_set_num_threads_local(before);
#else
        (void)max_m;
#endif
    }
    packed_weight(const packed_weight&) = delete;
    packed_weight& operator=(const packed_weight&) = delete;

    // C [m, n] (ldc) = beta C + A [m, k] (lda) · op(W), on the calling thread's BLAS threads (one inside a
    // parallel region).
    void operator()(std::size_t m, const T* a, std::size_t lda, T beta, T* c, std::size_t ldc) const {
        if (m == 0) return;
#if defined(TINYMIM_USE_MKL)
        if (packed_ != nullptr) {
            if constexpr (std::is_same_v<T, float>)
                cblas_sgemm_compute(CblasRowMajor, CblasNoTrans, CblasPacked, MKL_INT(m), MKL_INT(n_), MKL_INT(k_), a,
                                    MKL_INT(lda), packed_, MKL_INT(ldw_), beta, c, MKL_INT(ldc));
            else
                cblas_dgemm_compute(CblasRowMajor, CblasNoTrans, CblasPacked, MKL_INT(m), MKL_INT(n_), MKL_INT(k_), a,
                                    MKL_INT(lda), packed_, MKL_INT(ldw_), beta, c, MKL_INT(ldc));
            return;
        }
#endif
        cpu_detail::gemm_one(false, transposed_, m, n_, k_, T(1), a, lda, w_, ldw_, beta, c, ldc);
    }

private:
    const T* w_;
    std::size_t n_, k_, ldw_;
    bool transposed_;
    T* packed_ = nullptr;
};

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
