// bf16 conversions: every one of the 65 536 bit patterns against a rounding written independently here
// (the exact float value of the two neighbouring bf16s, compared in double), ties to even, NaN, infinities,
// signed zeros and denormals.
#include <boost/test/unit_test.hpp>

#include <algorithm>
#include <bit>
#include <cmath>
#include <cstdint>
#include <limits>

#include "tinymim/core/bf16.hpp"
#include "tinymim/core/random.hpp"

using tinymim::bf16;

namespace {
// The nearest bf16 of a finite f by definition: the two candidates that bracket it (truncation and the next
// one up in magnitude), the nearer in exact arithmetic, the one with an even last bit on a tie.
std::uint16_t nearest_by_definition(float f) {
    const std::uint32_t x = std::bit_cast<std::uint32_t>(f);
    const std::uint16_t down = std::uint16_t(x >> 16), up = std::uint16_t(down + 1);
    const double d = std::abs(double(f) - double(tinymim::bf16_to_float(down)));
    const double u = std::abs(double(tinymim::bf16_to_float(up)) - double(f));  // up may be the infinity
    if (std::isinf(tinymim::bf16_to_float(up))) {
        // Past the largest bf16 by half an ulp or more, IEEE rounds to infinity.
        const double ulp =
            double(tinymim::bf16_to_float(down)) - double(tinymim::bf16_to_float(std::uint16_t(down - 1)));
        return std::abs(double(f)) - std::abs(double(tinymim::bf16_to_float(down))) >= std::abs(ulp) / 2 ? up : down;
    }
    if (d < u) return down;
    if (u < d) return up;
    return (down & 1u) == 0 ? down : up;
}
}  // namespace

BOOST_AUTO_TEST_SUITE(bf16_conversions)

BOOST_AUTO_TEST_CASE(every_bf16_widens_exactly_and_narrows_back_to_itself) {
    for (std::uint32_t b = 0; b <= 0xFFFFu; ++b) {
        const float f = tinymim::bf16_to_float(std::uint16_t(b));
        BOOST_TEST_REQUIRE((std::bit_cast<std::uint32_t>(f) >> 16) == b);  // the upper half, the rest zero
        if (std::isnan(f)) {
            BOOST_TEST_REQUIRE(std::isnan(float(bf16(f))));
            BOOST_TEST_REQUIRE(((bf16(f).bits & 0x8000u) == (b & 0x8000u)));  // the sign kept
        } else {
            BOOST_TEST_REQUIRE(bf16(f).bits == b);
        }
    }
}

BOOST_AUTO_TEST_CASE(rounds_to_nearest_ties_to_even) {
    // 1 + 2^-8 lies halfway between 1 and 1 + 2^-7: the tie goes to the even one, 1.
    BOOST_TEST(float(bf16(1.0f + 0x1p-8f)) == 1.0f);
    // 1 + 3 · 2^-8 lies halfway between 1 + 2^-7 (odd last bit) and 1 + 2^-6: it goes up.
    BOOST_TEST(float(bf16(1.0f + 3 * 0x1p-8f)) == 1.0f + 0x1p-6f);
    // Just above a tie rounds up, just below rounds down.
    BOOST_TEST(float(bf16(std::nextafter(1.0f + 0x1p-8f, 2.0f))) == 1.0f + 0x1p-7f);
    BOOST_TEST(float(bf16(std::nextafter(1.0f + 0x1p-8f, 0.0f))) == 1.0f);
    // Negative values mirror positive ones.
    BOOST_TEST(float(bf16(-(1.0f + 3 * 0x1p-8f))) == -(1.0f + 0x1p-6f));
    // The relative error of any rounding is at most 2^-8, the unit roundoff of 8 significant bits (half the
    // spacing 2^-7 just above a power of two).
    tinymim::counter_rng r(7);
    double worst = 0;
    for (std::size_t i = 0; i < 100000; ++i) {
        const float f = float(r.normal(i)) * 1e3f;
        worst = std::max(worst, std::abs(double(float(bf16(f))) - double(f)) / std::abs(double(f)));
    }
    BOOST_TEST(worst <= 0x1p-8);
    BOOST_TEST(worst > 0x1p-9);  // and it is reached: the bound is the tight one
}

BOOST_AUTO_TEST_CASE(agrees_with_the_definition_on_random_and_edge_floats) {
    tinymim::counter_rng r(11);
    for (std::size_t i = 0; i < 400000; ++i) {
        // Random bit patterns cover every exponent, denormals included; NaNs are left to the next case.
        const auto x = std::uint32_t(r.uniform(i) * 4294967296.0);
        const float f = std::bit_cast<float>(x);
        if (std::isnan(f) || std::isinf(f)) continue;
        BOOST_TEST_REQUIRE(bf16(f).bits == nearest_by_definition(f), "f bits " << x);
    }
    const float edges[] = {0.0f,
                           -0.0f,
                           std::numeric_limits<float>::denorm_min(),
                           -std::numeric_limits<float>::denorm_min(),
                           std::numeric_limits<float>::min(),
                           std::nextafter(std::numeric_limits<float>::min(), 0.0f),  // the largest denormal
                           std::numeric_limits<float>::max(),
                           -std::numeric_limits<float>::max(),
                           std::bit_cast<float>(0x7F7F8000u),   // halfway past the largest bf16: to infinity
                           std::bit_cast<float>(0x7F7F7FFFu)};  // just below it: the largest bf16
    for (const float f : edges)
        BOOST_TEST(bf16(f).bits == nearest_by_definition(f), "f bits " << std::bit_cast<std::uint32_t>(f));
    BOOST_TEST(std::isinf(float(bf16(std::numeric_limits<float>::max()))));  // rounds past the largest bf16
    BOOST_TEST(std::signbit(float(bf16(-0.0f))));
    BOOST_TEST(float(bf16(std::numeric_limits<float>::denorm_min())) == 0.0f);  // below half a bf16 denormal
    BOOST_TEST(float(bf16(0x1p-133f)) == 0x1p-133f);                            // a bf16 denormal itself
}

BOOST_AUTO_TEST_CASE(nan_and_infinity_are_kept) {
    const float inf = std::numeric_limits<float>::infinity();
    BOOST_TEST(float(bf16(inf)) == inf);
    BOOST_TEST(float(bf16(-inf)) == -inf);
    BOOST_TEST(std::isnan(float(bf16(std::numeric_limits<float>::quiet_NaN()))));
    // A signalling NaN whose payload sits only in the dropped bits must not become an infinity.
    const float snan = std::bit_cast<float>(0x7F800001u);
    BOOST_TEST(std::isnan(float(bf16(snan))));
    BOOST_TEST(std::isnan(float(bf16(-snan))));
    BOOST_TEST(std::signbit(float(bf16(-snan))));
}

BOOST_AUTO_TEST_SUITE_END()
