// CUDA side of mixed precision: float to bf16 conversions (round to nearest even, NaN kept quiet, as
// core/bf16.hpp) and the bf16 GEMM — cublasGemmEx with bf16 operands, fp32 compute and an fp32 result,
// which runs on the tensor cores.
#pragma once

#include <cstddef>
#include <cstdint>

#include "tinymim/backend/cuda/cuda.cuh"
#include "tinymim/backend/cuda/launch.cuh"
#include "tinymim/core/bf16.hpp"

namespace tinymim::cuda_detail {
__device__ inline std::uint16_t bf16_bits(float f) {
    const std::uint32_t x = __float_as_uint(f);
    if ((x & 0x7F800000u) == 0x7F800000u && (x & 0x7FFFFFu) != 0) return std::uint16_t((x >> 16) | 0x40u);
    return std::uint16_t((x + 0x7FFFu + ((x >> 16) & 1u)) >> 16);
}
}  // namespace tinymim::cuda_detail

namespace tinymim::backends {

inline void to_bf16(cuda, std::size_t n, const float* src, bf16* dst) {
    auto* out = reinterpret_cast<std::uint16_t*>(dst);
    cuda_detail::for_each(n, [=] __device__(std::size_t i) { out[i] = cuda_detail::bf16_bits(src[i]); });
}

inline void round_bf16(cuda, std::size_t n, const float* src, float* dst) {
    cuda_detail::for_each(n, [=] __device__(std::size_t i) {
        dst[i] = __uint_as_float(std::uint32_t(cuda_detail::bf16_bits(src[i])) << 16);
    });
}

// Row-major C (fp32) = alpha op(A) op(B) + beta C with bf16 A and B (the operand swap of gemm.cuh).
inline void gemm_bf16(cuda, bool ta, bool tb, std::size_t m, std::size_t n, std::size_t k, float alpha, const bf16* a,
                      std::size_t lda, const bf16* b, std::size_t ldb, float beta, float* c, std::size_t ldc) {
    if (m == 0 || n == 0) return;
    const auto oa = ta ? CUBLAS_OP_T : CUBLAS_OP_N, ob = tb ? CUBLAS_OP_T : CUBLAS_OP_N;
    TINYMIM_CUBLAS_CHECK(cublasGemmEx(cuda::blas(), ob, oa, int(n), int(m), int(k), &alpha, b, CUDA_R_16BF, int(ldb), a,
                                      CUDA_R_16BF, int(lda), &beta, c, CUDA_R_32F, int(ldc), CUBLAS_COMPUTE_32F,
                                      CUBLAS_GEMM_DEFAULT));
}

}  // namespace tinymim::backends
