// CPU GEMM with bf16 operands, float accumulation and a float result: row-major C = alpha op(A) op(B) + beta C.
// With oneMKL, on cores with AMX-BF16: cblas_gemm_bf16bf16f32 on AMX tiles. Elsewhere the operands are
// widened to float — exactly — and multiplied by the float GEMM: the same products to float rounding. That is
// also oneMKL's choice on AVX512-BF16 without AMX, where VDPBF16PS issues on one port and the bf16 GEMM
// measured slower than the float one (docs/results/performance.md). TINYMIM_BF16_GEMM=native|widened forces
// a path (Debian's OpenBLAS 0.3.21 has no bf16 GEMM: always widened).
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <cstring>

#if defined(__x86_64__) && defined(__linux__)
#include <sys/syscall.h>
#include <unistd.h>
#endif

#include "tinymim/backend/cpu/blas/gemm.hpp"
#include "tinymim/backend/cpu/cpu.hpp"
#include "tinymim/core/bf16.hpp"

namespace tinymim::backends {

namespace cpu_detail {
// Whether this process may run AMX-BF16 instructions: the cores have them (CPUID.7.0:EDX bit 22) and Linux
// grants the tile state (arch_prctl ARCH_REQ_XCOMP_PERM for XTILEDATA, as oneMKL asks itself).
inline bool amx_bf16_usable() {
#if defined(__x86_64__) && defined(__linux__)
    unsigned a = 0, b = 0, c = 0, d = 0;
    __asm__ volatile("cpuid" : "=a"(a), "=b"(b), "=c"(c), "=d"(d) : "a"(7), "c"(0));
    if (((d >> 22) & 1u) == 0) return false;
    return syscall(SYS_arch_prctl, 0x1023, 18) == 0;
#else
    return false;
#endif
}

// Whether gemm_bf16 calls oneMKL's bf16 GEMM (decided once per process).
inline bool native_bf16_gemm() {
#if defined(TINYMIM_USE_MKL)
    static const bool native = [] {
        const char* e = std::getenv("TINYMIM_BF16_GEMM");
        if (e != nullptr && std::strcmp(e, "native") == 0) return true;
        if (e != nullptr && std::strcmp(e, "widened") == 0) return false;
        return amx_bf16_usable();
    }();
    return native;
#else
    return false;
#endif
}
}  // namespace cpu_detail

// What runs a bf16 GEMM in this process (for reports and benchmarks).
[[nodiscard]] inline const char* cpu_bf16_gemm_path() {
    return cpu_detail::native_bf16_gemm() ? "oneMKL cblas_gemm_bf16bf16f32" : "float GEMM on widened operands";
}

namespace cpu_detail {
// The widened path's bound on its float copies of the operands (both together, per thread): 32 MB, which
// the fm models' GEMMs stay under whole. Settable (the tests make it small to run several panels).
inline std::size_t widened_budget_floats = std::size_t(1) << 23;
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
    if (k == 0) {  // C = beta C (BLASes differ on an empty inner dimension, and refuse a zero leading dimension)
        for (std::size_t i = 0; i < m; ++i)
            for (std::size_t j = 0; j < n; ++j) c[i * ldc + j] = beta == 0.0f ? 0.0f : beta * c[i * ldc + j];
        return;
    }
#if defined(TINYMIM_USE_MKL)
    static_assert(sizeof(MKL_BF16) == sizeof(bf16), "MKL_BF16 and tinymim::bf16 must share their layout");
    if (cpu_detail::native_bf16_gemm()) {
        cblas_gemm_bf16bf16f32(CblasRowMajor, ta ? CblasTrans : CblasNoTrans, tb ? CblasTrans : CblasNoTrans,
                               MKL_INT(m), MKL_INT(n), MKL_INT(k), alpha, reinterpret_cast<const MKL_BF16*>(a),
                               MKL_INT(lda), reinterpret_cast<const MKL_BF16*>(b), MKL_INT(ldb), beta, c, MKL_INT(ldc));
        return;
    }
#endif
    {
        // A panel of the inner dimension at a time, C accumulating over the panels: the widened copies stay
        // within widened_budget_floats however large the operands (whole copies of a ViT's MLP activations
        // would be tens of MB per thread, kept).
        using namespace cpu_detail;
        const std::size_t most = std::max<std::size_t>(widened_budget_floats / (m + n), 64);
        const std::size_t panels = (k + most - 1) / most, kc = (k + panels - 1) / panels;  // equal panels
        float* aw = thread_buffer<float, scratch::bf16_first>(m * kc);
        float* bw = thread_buffer<float, scratch::bf16_second>(kc * n);
        for (std::size_t k0 = 0; k0 < k; k0 += kc) {
            const std::size_t kk = std::min(kc, k - k0);
            if (ta)  // A is k x m: rows k0.. of it
                widen_bf16(kk, m, a + k0 * lda, lda, aw);
            else  // A is m x k: columns k0.. of it
                widen_bf16(m, kk, a + k0, lda, aw);
            if (tb)
                widen_bf16(n, kk, b + k0, ldb, bw);
            else
                widen_bf16(kk, n, b + k0 * ldb, ldb, bw);
            gemm(cpu{}, ta, tb, m, n, kk, alpha, static_cast<const float*>(aw), ta ? m : kk,
                 static_cast<const float*>(bw), tb ? kk : n, k0 == 0 ? beta : 1.0f, c, ldc);
        }
    }
}

}  // namespace tinymim::backends
