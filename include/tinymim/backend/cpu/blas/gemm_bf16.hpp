// CPU GEMM with bf16 operands, float accumulation and a float result: row-major C = alpha op(A) op(B) + beta C.
// With oneMKL: cblas_gemm_bf16bf16f32 (AMX tiles or AVX512-BF16 where the CPU has them). Elsewhere the
// operands are widened to float — exactly — into per-thread buffers and multiplied by the float GEMM: the
// same products to float rounding, at float speed (Debian's OpenBLAS 0.3.21 has no bf16 GEMM).
#pragma once

#include <cstddef>
#include <cstdint>

#include "tinymim/backend/cpu/blas/gemm.hpp"
#include "tinymim/backend/cpu/cpu.hpp"
#include "tinymim/core/bf16.hpp"

namespace tinymim::backends {

// What runs a bf16 GEMM in this build (for reports and benchmarks).
inline constexpr const char* cpu_bf16_gemm_path =
#if defined(TINYMIM_USE_MKL)
    "oneMKL cblas_gemm_bf16bf16f32";
#else
    "float GEMM on widened operands";
#endif

namespace cpu_detail {
// dst[r, c] = float(src[r, c]) for a rows x cols matrix (row strides ld and cols).
inline void widen_bf16(std::size_t rows, std::size_t cols, const bf16* src, std::size_t ld, float* dst) {
#pragma omp parallel for schedule(static) if (rows * cols > (std::size_t(1) << 16) && gemm_threads() > 1)
    for (std::ptrdiff_t r = 0; r < std::ptrdiff_t(rows); ++r) {
        const bf16* s = src + std::size_t(r) * ld;
        float* d = dst + std::size_t(r) * cols;
        for (std::size_t c = 0; c < cols; ++c) d[c] = float(s[c]);
    }
}
}  // namespace cpu_detail

// op(A) is m x k, op(B) is k x n, C is m x n; ld* are row strides of the stored matrices.
inline void gemm_bf16(cpu, bool ta, bool tb, std::size_t m, std::size_t n, std::size_t k, float alpha, const bf16* a,
                      std::size_t lda, const bf16* b, std::size_t ldb, float beta, float* c, std::size_t ldc) {
    if (m == 0 || n == 0) return;
#if defined(TINYMIM_USE_MKL)
    static_assert(sizeof(MKL_BF16) == sizeof(bf16), "MKL_BF16 and tinymim::bf16 must share their layout");
    if (k == 0) {  // cblas leaves C to beta alone only for k > 0 in some versions: scale it here
        for (std::size_t i = 0; i < m; ++i)
            for (std::size_t j = 0; j < n; ++j) c[i * ldc + j] = beta == 0.0f ? 0.0f : beta * c[i * ldc + j];
        return;
    }
    cblas_gemm_bf16bf16f32(CblasRowMajor, ta ? CblasTrans : CblasNoTrans, tb ? CblasTrans : CblasNoTrans, MKL_INT(m),
                           MKL_INT(n), MKL_INT(k), alpha, reinterpret_cast<const MKL_BF16*>(a), MKL_INT(lda),
                           reinterpret_cast<const MKL_BF16*>(b), MKL_INT(ldb), beta, c, MKL_INT(ldc));
#else
    using namespace cpu_detail;
    const std::size_t a_rows = ta ? k : m, a_cols = ta ? m : k, b_rows = tb ? n : k, b_cols = tb ? k : n;
    float* aw = thread_buffer<float, scratch::bf16_first>(a_rows * a_cols);
    float* bw = thread_buffer<float, scratch::bf16_second>(b_rows * b_cols);
    widen_bf16(a_rows, a_cols, a, lda, aw);
    widen_bf16(b_rows, b_cols, b, ldb, bw);
    gemm(cpu{}, ta, tb, m, n, k, alpha, static_cast<const float*>(aw), a_cols, static_cast<const float*>(bw), b_cols,
         beta, c, ldc);
#endif
}

}  // namespace tinymim::backends
