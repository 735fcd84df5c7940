// ops/unary.hpp and ops::map: every element-wise function's gradient checked in double (away from its
// kinks), forward values against <cmath> in float, div's broadcasting, and a user's own functor.
#include "../support/common.hpp"

#include <cmath>
#include <string>

#include "tinymim/ops/unary.hpp"

using namespace tinymim;
using tt::randn;
using cpu_tape = tape<cpu>;

namespace {
// x with every entry moved at least 0.2 away from 0 (the kinks of abs, relu) and, if positive, made > 0.
template <class S>
tensor<double, S> away_from_zero(std::uint64_t seed, bool positive) {
    auto x = randn<S, double>(seed);
    for (std::size_t i = 0; i < x.size(); ++i) {
        double v = x[i];
        v = v < 0 ? v - 0.2 : v + 0.2;
        x[i] = positive ? std::fabs(v) : v;
    }
    return x;
}

// softplus(x) = log(1 + e^x), written as a user would: a functor with its derivative, sigmoid(x).
struct softplus {
    template <class T>
    TINYMIM_HOST_DEVICE T operator()(T x) const {
        return x > T(0) ? x + std::log1p(std::exp(-x)) : std::log1p(std::exp(x));
    }
    template <class T>
    TINYMIM_HOST_DEVICE T derivative(T x, T) const {
        return ops::fn::sigmoid{}(x);
    }
};
}  // namespace

BOOST_AUTO_TEST_SUITE(unary)

BOOST_AUTO_TEST_CASE(gradients_of_every_function) {
    auto x = away_from_zero<shape<3, 7>>(1, false);
    auto p = away_from_zero<shape<3, 7>>(2, true);
    TT_CHECK_GRADIENTS([](cpu_tape&, auto a) { return ops::exp(a); }, x);
    TT_CHECK_GRADIENTS([](cpu_tape&, auto a) { return ops::log(a); }, p);
    TT_CHECK_GRADIENTS([](cpu_tape&, auto a) { return ops::sqrt(a); }, p);
    TT_CHECK_GRADIENTS([](cpu_tape&, auto a) { return ops::rsqrt(a); }, p);
    TT_CHECK_GRADIENTS([](cpu_tape&, auto a) { return ops::reciprocal(a); }, x);
    TT_CHECK_GRADIENTS([](cpu_tape&, auto a) { return ops::abs(a); }, x);
    TT_CHECK_GRADIENTS([](cpu_tape&, auto a) { return ops::square(a); }, x);
    TT_CHECK_GRADIENTS([](cpu_tape&, auto a) { return ops::pow(a, 2.5); }, p);
    TT_CHECK_GRADIENTS([](cpu_tape&, auto a) { return ops::pow(a, -1.5); }, p);
    TT_CHECK_GRADIENTS([](cpu_tape&, auto a) { return ops::clamp(a, -0.7, 0.9); }, x);
    TT_CHECK_GRADIENTS([](cpu_tape&, auto a) { return ops::tanh(a); }, x);
    TT_CHECK_GRADIENTS([](cpu_tape&, auto a) { return ops::sigmoid(a); }, x);
    TT_CHECK_GRADIENTS([](cpu_tape&, auto a) { return ops::relu(a); }, x);
    TT_CHECK_GRADIENTS([](cpu_tape&, auto a) { return ops::map(a, softplus{}); }, x);
}

BOOST_AUTO_TEST_CASE(div_with_and_without_broadcast) {
    auto a2 = randn<shape<dyn, 3, 4>, double>(5, 2, 3, 4), b2 = randn<shape<dyn, 3, 4>, double>(6, 2, 3, 4);
    for (std::size_t i = 0; i < b2.size(); ++i) b2[i] = b2[i] < 0 ? b2[i] - 0.5 : b2[i] + 0.5;
    TT_CHECK_GRADIENTS([](cpu_tape&, auto x, auto y) { return ops::div(x, y); }, a2, b2);
    auto row = randn<shape<4>, double>(7);
    for (std::size_t i = 0; i < row.size(); ++i) row[i] = row[i] < 0 ? row[i] - 0.5 : row[i] + 0.5;
    TT_CHECK_GRADIENTS([](cpu_tape&, auto x, auto y) { return ops::div(x, y); }, a2, row);
}

BOOST_AUTO_TEST_CASE(forward_values_in_float) {
    tape<cpu> t;
    auto x = randn<shape<64>, float>(8);
    auto xp = randn<shape<64>, float>(8);
    for (std::size_t i = 0; i < xp.size(); ++i) xp[i] = std::fabs(xp[i]) + 0.1f;
    auto check = [&](auto y, auto want, const tensor<float, shape<64>>& in, const char* name) {
        for (std::size_t i = 0; i < in.size(); ++i)
            BOOST_TEST(y.data()[i] == want(in[i]), boost::test_tools::tolerance(1e-6f) << name << " at " << in[i]);
    };
    check(
        ops::exp(input(t, x)), [](float v) { return std::exp(v); }, x, "exp");
    check(
        ops::log(input(t, xp)), [](float v) { return std::log(v); }, xp, "log");
    check(
        ops::sqrt(input(t, xp)), [](float v) { return std::sqrt(v); }, xp, "sqrt");
    check(
        ops::tanh(input(t, x)), [](float v) { return std::tanh(v); }, x, "tanh");
    check(
        ops::sigmoid(input(t, x)), [](float v) { return 1 / (1 + std::exp(-v)); }, x, "sigmoid");
    check(
        ops::clamp(input(t, x), -0.5, 0.5), [](float v) { return std::clamp(v, -0.5f, 0.5f); }, x, "clamp");
    // sigmoid does not overflow at the extremes; clamp refuses reversed bounds.
    tensor<float, shape<2>> big;
    big[0] = -200.0f, big[1] = 200.0f;
    auto s = ops::sigmoid(input(t, big));
    BOOST_TEST(s.data()[0] == 0.0f);
    BOOST_TEST(s.data()[1] == 1.0f);
    BOOST_CHECK_THROW((void)ops::clamp(input(t, x), 1.0, -1.0), tinymim::error);
}

BOOST_AUTO_TEST_CASE(div_names_both_shapes) {
    tape<cpu> t;
    tensor<float, shape<dyn, 4>> a(make_extents<shape<dyn, 4>>(3, 4)), b(make_extents<shape<dyn, 4>>(2, 4));
    try {
        (void)ops::div(input(t, a), input(t, b));
        BOOST_FAIL("div of [3, 4] by [2, 4] must throw");
    } catch (const tinymim::error& e) {
        const std::string m = e.what();
        BOOST_TEST((m.find("div") != std::string::npos && m.find("[3, 4]") != std::string::npos &&
                    m.find("[2, 4]") != std::string::npos),
                   m);
    }
}

BOOST_AUTO_TEST_SUITE_END()
