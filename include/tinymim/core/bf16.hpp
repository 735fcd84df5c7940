// bfloat16: the upper 16 bits of an IEEE float — 8 exponent bits (float's range), 7 mantissa bits (a relative
// rounding of 2^-8). The storage and GEMM-operand type of mixed precision; every arithmetic on it is done in
// float. Conversions from float round to nearest, ties to even; NaN stays NaN (quiet), infinities and
// signed zeros are kept, float denormals round like any other value (bf16 has the same denormal range).
#pragma once

#include <bit>
#include <cstdint>

namespace tinymim {

// The bf16 bits of f, rounded to nearest even.
[[nodiscard]] constexpr std::uint16_t float_to_bf16(float f) noexcept {
    const std::uint32_t x = std::bit_cast<std::uint32_t>(f);
    if ((x & 0x7F800000u) == 0x7F800000u && (x & 0x7FFFFFu) != 0)
        return std::uint16_t((x >> 16) | 0x40u);  // NaN: sign and top payload kept, made quiet
    // Adding 0x7FFF plus the lowest kept bit carries into the kept bits exactly when the dropped half is
    // above one half ulp, or equal to it with an odd kept part (a carry into the exponent is correct too).
    return std::uint16_t((x + 0x7FFFu + ((x >> 16) & 1u)) >> 16);
}

// The float a bf16 holds (exact).
[[nodiscard]] constexpr float bf16_to_float(std::uint16_t b) noexcept {
    return std::bit_cast<float>(std::uint32_t(b) << 16);
}

struct bf16 {
    std::uint16_t bits = 0;

    constexpr bf16() noexcept = default;
    explicit constexpr bf16(float f) noexcept : bits(float_to_bf16(f)) {}
    [[nodiscard]] static constexpr bf16 from_bits(std::uint16_t b) noexcept {
        bf16 v;
        v.bits = b;
        return v;
    }
    // Widening is exact, so it is implicit; narrowing rounds, so it is spelled bf16(x).
    constexpr operator float() const noexcept { return bf16_to_float(bits); }

    friend constexpr bool operator==(bf16 a, bf16 b) noexcept { return float(a) == float(b); }
};
static_assert(sizeof(bf16) == 2, "bf16 must be two bytes, as the GEMM libraries read it");

}  // namespace tinymim
