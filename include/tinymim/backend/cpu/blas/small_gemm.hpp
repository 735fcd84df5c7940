// A small GEMM shape run thousands of times on one thread (attention heads, relation blocks): oneMKL's
// JIT kernel for the exact shape where available, else the one-thread GEMM.
#pragma once

#include <cstddef>
#include <map>
#include <mutex>
#include <tuple>
#include <type_traits>
#include <utility>

#include "tinymim/backend/cpu/blas/gemm.hpp"

namespace tinymim::backends {

// One small GEMM shape called thousands of times in a step, always on one thread: attention's per-head
// products (50 x 50 x 32 for fm-small) and the relation loss's. With oneMKL, a kernel generated for
// exactly this shape, these strides and these alpha and beta (mkl_jit_create_sgemm) skips the checks
// and dispatch of each cblas call. Elsewhere (or where MKL declines) it is gemm_one.
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
        static std::map<
            std::tuple<bool, bool, std::size_t, std::size_t, std::size_t, T, std::size_t, std::size_t, T, std::size_t>,
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
            if (status == MKL_JIT_ERROR || jitter == nullptr)
                jitter = nullptr;  // no kernel: gemm_one
            else if constexpr (std::is_same_v<T, float>)
                fn = reinterpret_cast<void*>(mkl_jit_get_sgemm_ptr(jitter));
            else
                fn = reinterpret_cast<void*>(mkl_jit_get_dgemm_ptr(jitter));
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

}  // namespace tinymim::backends
