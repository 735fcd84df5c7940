// IEEE half (F16) and bfloat16 (BF16) conversions to and from float, round-to-nearest-even, for the
// weights files.
#pragma once

#include <bit>
#include <cstdint>

#include "tinymim/core/bf16.hpp"

namespace tinymim::io {

[[nodiscard]] constexpr float half_to_float(std::uint16_t h) {
    const std::uint32_t sign = std::uint32_t(h & 0x8000u) << 16;
    const std::uint32_t exp = (h >> 10) & 0x1Fu, man = h & 0x3FFu;
    std::uint32_t bits;
    if (exp == 0) {
        if (man == 0) {
            bits = sign;
        } else {  // subnormal: normalise
            int e = -1;
            std::uint32_t m = man;
            do {
                ++e;
                m <<= 1;
            } while ((m & 0x400u) == 0);
            bits = sign | std::uint32_t(127 - 15 - e) << 23 | (m & 0x3FFu) << 13;
        }
    } else if (exp == 0x1F) {
        bits = sign | 0x7F800000u | man << 13;
    } else {
        bits = sign | (exp + 127 - 15) << 23 | man << 13;
    }
    return std::bit_cast<float>(bits);
}

[[nodiscard]] constexpr std::uint16_t float_to_half(float f) {
    const std::uint32_t x = std::bit_cast<std::uint32_t>(f);
    const std::uint16_t sign = std::uint16_t((x >> 16) & 0x8000u);
    const std::uint32_t exp = (x >> 23) & 0xFFu;
    std::uint32_t man = x & 0x7FFFFFu;
    if (exp == 0xFF) return std::uint16_t(sign | 0x7C00u | (man != 0 ? 0x200u : 0u));  // inf / nan
    const int e = int(exp) - 127 + 15;
    if (e >= 0x1F) return std::uint16_t(sign | 0x7C00u);  // overflow to inf
    if (e <= 0) {                                         // subnormal half or zero
        if (e < -10) return sign;
        man |= 0x800000u;
        const int shift = 14 - e;
        std::uint32_t h = man >> shift;
        const std::uint32_t rem = man & ((1u << shift) - 1), half = 1u << (shift - 1);
        if (rem > half || (rem == half && (h & 1u))) ++h;
        return std::uint16_t(sign | h);
    }
    std::uint32_t h = std::uint32_t(e) << 10 | man >> 13;
    const std::uint32_t rem = man & 0x1FFFu;
    if (rem > 0x1000u || (rem == 0x1000u && (h & 1u))) ++h;  // may carry into the exponent: correct
    return std::uint16_t(sign | h);
}

// bfloat16: the library's own conversions (core/bf16.hpp).
using tinymim::bf16_to_float;
using tinymim::float_to_bf16;

}  // namespace tinymim::io
