// CPU conversions for mixed precision: float values to bf16 GEMM operands, and float values rounded to the
// nearest bf16 but kept in float (operands of a float kernel that then multiplies exactly what a bf16 GEMM
// would: bf16 products are exact in float).
#pragma once

#include <cstddef>

#include "tinymim/backend/cpu/cpu.hpp"
#include "tinymim/core/bf16.hpp"

namespace tinymim::backends {

inline void to_bf16(cpu, std::size_t n, const float* src, bf16* dst) {
#pragma omp parallel for schedule(static) if (n > 65536)
    for (std::ptrdiff_t i = 0; i < std::ptrdiff_t(n); ++i) dst[i] = bf16(src[i]);
}

inline void round_bf16(cpu, std::size_t n, const float* src, float* dst) {
#pragma omp parallel for schedule(static) if (n > 65536)
    for (std::ptrdiff_t i = 0; i < std::ptrdiff_t(n); ++i) dst[i] = float(bf16(src[i]));
}

}  // namespace tinymim::backends
