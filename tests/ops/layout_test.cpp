// Reductions along an axis (sum and mean with keepdim, max, logsumexp, variance), NumPy broadcasting on
// any axis, permute / transpose, concat / stack and narrow: gradients in double, values against plain loops,
// and the run-time errors that name both shapes.
#include "../support/common.hpp"

#include <cmath>
#include <limits>
#include <string>

#include "tinymim/ops/concat.hpp"
#include "tinymim/ops/elementwise.hpp"
#include "tinymim/ops/narrow.hpp"
#include "tinymim/ops/permute.hpp"
#include "tinymim/ops/reduce.hpp"
#include "tinymim/ops/unary.hpp"

using namespace tinymim;
using tt::randn;
using cpu_tape = tape<cpu>;

namespace {
template <class F>
void expect_error(F&& f, std::initializer_list<const char*> words) {
    try {
        f();
        BOOST_FAIL("expected a tinymim::error");
    } catch (const tinymim::error& e) {
        const std::string m = e.what();
        for (const char* w : words) BOOST_TEST(m.find(w) != std::string::npos, "'" << w << "' not in: " << m);
    }
}
}  // namespace

BOOST_AUTO_TEST_SUITE(layout)

BOOST_AUTO_TEST_CASE(axis_reductions_gradients) {
    auto x = randn<shape<3, 4, 5>, double>(11);
    TT_CHECK_GRADIENTS([](cpu_tape&, auto a) { return ops::sum<1>(a, ops::keepdim); }, x);
    TT_CHECK_GRADIENTS([](cpu_tape&, auto a) { return ops::mean<2>(a, ops::keepdim); }, x);
    TT_CHECK_GRADIENTS([](cpu_tape&, auto a) { return ops::max<0>(a); }, x);
    TT_CHECK_GRADIENTS([](cpu_tape&, auto a) { return ops::max<1>(a, ops::keepdim); }, x);
    TT_CHECK_GRADIENTS([](cpu_tape&, auto a) { return ops::max<2>(a); }, x);
    TT_CHECK_GRADIENTS([](cpu_tape&, auto a) { return ops::logsumexp<0>(a); }, x);
    TT_CHECK_GRADIENTS([](cpu_tape&, auto a) { return ops::logsumexp<2>(a, ops::keepdim); }, x);
    TT_CHECK_GRADIENTS([](cpu_tape&, auto a) { return ops::variance<1>(a); }, x);
    TT_CHECK_GRADIENTS([](cpu_tape&, auto a) { return ops::variance<2>(a, ops::keepdim, 0); }, x);
}

BOOST_AUTO_TEST_CASE(axis_reductions_values) {
    tape<cpu> t;
    auto x = randn<shape<3, 4, 5>, double>(12);
    auto at = [&](std::size_t i, std::size_t j, std::size_t k) { return x[(i * 4 + j) * 5 + k]; };
    auto mx = ops::max<1>(input(t, x));
    auto lse = ops::logsumexp<1>(input(t, x), ops::keepdim);
    auto v1 = ops::variance<1>(input(t, x));
    auto v0 = ops::variance<1>(input(t, x), 0);
    static_assert(std::is_same_v<decltype(mx)::shape_type, shape<3, 5>>);
    static_assert(std::is_same_v<decltype(lse)::shape_type, shape<3, 1, 5>>);
    for (std::size_t i = 0; i < 3; ++i)
        for (std::size_t k = 0; k < 5; ++k) {
            double m = -1e300, s = 0, mean = 0, ss = 0;
            for (std::size_t j = 0; j < 4; ++j) m = std::max(m, at(i, j, k)), mean += at(i, j, k) / 4;
            for (std::size_t j = 0; j < 4; ++j) s += std::exp(at(i, j, k)), ss += std::pow(at(i, j, k) - mean, 2);
            BOOST_TEST(mx.data()[i * 5 + k] == m);
            BOOST_TEST(lse.data()[i * 5 + k] == std::log(s), boost::test_tools::tolerance(1e-12));
            BOOST_TEST(v1.data()[i * 5 + k] == ss / 3, boost::test_tools::tolerance(1e-12));
            BOOST_TEST(v0.data()[i * 5 + k] == ss / 4, boost::test_tools::tolerance(1e-12));
        }
    // logsumexp does not overflow where exp would; -inf everywhere stays -inf; max propagates NaN.
    tensor<float, shape<2, 3>> big;
    const float inf = std::numeric_limits<float>::infinity();
    const float vals[6] = {1000, 1000, 999, -inf, -inf, -inf};
    for (std::size_t i = 0; i < 6; ++i) big[i] = vals[i];
    auto l = ops::logsumexp<1>(input(t, big));
    BOOST_TEST(l.data()[0] == 1000 + std::log(2 + std::exp(-1.0f)), boost::test_tools::tolerance(1e-6f));
    BOOST_TEST(l.data()[1] == -inf);
    big[1] = std::numeric_limits<float>::quiet_NaN();
    BOOST_TEST(std::isnan(ops::max<1>(input(t, big)).data()[0]));
}

BOOST_AUTO_TEST_CASE(max_gradient_goes_to_the_first_maximum) {
    tape<cpu> t;
    tensor<double, shape<1, 4>> x, g;
    const double v[4] = {1, 3, 3, 2};
    for (std::size_t i = 0; i < 4; ++i) x[i] = v[i];
    bool has = false;
    auto y = ops::max<1>(leaf(t, x, g, has));
    y.backward();
    BOOST_TEST(g[0] == 0.0);
    BOOST_TEST(g[1] == 1.0);
    BOOST_TEST(g[2] == 0.0);
    BOOST_TEST(g[3] == 0.0);
}

BOOST_AUTO_TEST_CASE(broadcast_on_any_axis) {
    auto a = randn<shape<3, 1, 5>, double>(21);
    auto b = randn<shape<1, 4, 1>, double>(22);
    auto c = randn<shape<3, 4, 5>, double>(23);
    auto row = randn<shape<5>, double>(24);
    TT_CHECK_GRADIENTS([](cpu_tape&, auto x, auto y) { return ops::add(x, y); }, a, b);
    TT_CHECK_GRADIENTS([](cpu_tape&, auto x, auto y) { return ops::sub(x, y); }, a, b);
    TT_CHECK_GRADIENTS([](cpu_tape&, auto x, auto y) { return ops::mul(x, y); }, a, b);
    TT_CHECK_GRADIENTS([](cpu_tape&, auto x, auto y) { return ops::mul(x, y); }, c, a);
    TT_CHECK_GRADIENTS([](cpu_tape&, auto x, auto y) { return ops::sub(x, y); }, row, c);  // A the smaller
    auto d = randn<shape<3, 1, 5>, double>(21);
    for (std::size_t i = 0; i < d.size(); ++i) d[i] = d[i] < 0 ? d[i] - 0.5 : d[i] + 0.5;
    TT_CHECK_GRADIENTS([](cpu_tape&, auto x, auto y) { return ops::div(x, y); }, c, d);

    tape<cpu> t;
    auto y = ops::mul(input(t, a), input(t, b));
    static_assert(std::is_same_v<decltype(y)::shape_type, shape<3, 4, 5>>);
    for (std::size_t i = 0; i < 3; ++i)
        for (std::size_t j = 0; j < 4; ++j)
            for (std::size_t k = 0; k < 5; ++k) BOOST_TEST(y.data()[(i * 4 + j) * 5 + k] == a[i * 5 + k] * b[j]);
}

BOOST_AUTO_TEST_CASE(broadcast_with_dynamic_extents) {
    // [dyn, 1, 5] holding [2, 1, 5] against [2, 3, 1]; and [dyn, 5] holding [1, 5] against [4, 5].
    auto a = randn<shape<dyn, 1, 5>, double>(31, 2, 1, 5);
    auto b = randn<shape<dyn, 3, 1>, double>(32, 2, 3, 1);
    TT_CHECK_GRADIENTS([](cpu_tape&, auto x, auto y) { return ops::mul(x, y); }, a, b);
    auto one = randn<shape<dyn, 5>, double>(33, 1, 5);
    auto four = randn<shape<dyn, 5>, double>(34, 4, 5);
    TT_CHECK_GRADIENTS([](cpu_tape&, auto x, auto y) { return ops::add(x, y); }, one, four);
    tape<cpu> t;
    auto s = ops::add(input(t, one), input(t, four));
    BOOST_TEST(s.shape().str() == "[4, 5]");
    auto three = randn<shape<dyn, 5>, double>(35, 3, 5);
    expect_error([&] { (void)ops::add(input(t, three), input(t, four)); }, {"add", "[3, 5]", "[4, 5]"});
    expect_error([&] { (void)ops::div(input(t, three), input(t, four)); }, {"div", "[3, 5]", "[4, 5]"});
}

BOOST_AUTO_TEST_CASE(normalise_along_an_axis) {
    // A DIST-style standardisation, (x - mean) / sqrt(var), composed from the keepdim reductions.
    auto x = randn<shape<3, 6>, double>(41);
    TT_CHECK_GRADIENTS(
        [](cpu_tape&, auto a) {
            auto centred = ops::sub(a, ops::mean<1>(a, ops::keepdim));
            return ops::div(centred, ops::sqrt(ops::variance<1>(a, ops::keepdim, 0)));
        },
        x);
}

BOOST_AUTO_TEST_CASE(permute_and_transpose) {
    auto x = randn<shape<2, 3, 4>, double>(51);
    TT_CHECK_GRADIENTS([](cpu_tape&, auto a) { return ops::permute<2, 0, 1>(a); }, x);
    TT_CHECK_GRADIENTS([](cpu_tape&, auto a) { return ops::transpose<0, 2>(a); }, x);
    tape<cpu> t;
    auto p = ops::permute<2, 0, 1>(input(t, x));
    static_assert(std::is_same_v<decltype(p)::shape_type, shape<4, 2, 3>>);
    for (std::size_t i = 0; i < 2; ++i)
        for (std::size_t j = 0; j < 3; ++j)
            for (std::size_t k = 0; k < 4; ++k) BOOST_TEST(p.data()[(k * 2 + i) * 3 + j] == x[(i * 3 + j) * 4 + k]);
    auto d = randn<shape<dyn, 3>, double>(52, 5, 3);
    auto dt = ops::transpose<0, 1>(input(t, d));
    static_assert(std::is_same_v<decltype(dt)::shape_type, shape<3, dyn>>);
    BOOST_TEST(dt.shape().str() == "[3, 5]");
    BOOST_TEST(dt.data()[1 * 5 + 4] == d[4 * 3 + 1]);
}

BOOST_AUTO_TEST_CASE(concat_and_stack) {
    auto a = randn<shape<2, 3, 4>, double>(61);
    auto b = randn<shape<2, 5, 4>, double>(62);
    auto c = randn<shape<2, 3, 4>, double>(63);
    TT_CHECK_GRADIENTS([](cpu_tape&, auto x, auto y) { return ops::concat<1>(x, y); }, a, b);
    TT_CHECK_GRADIENTS([](cpu_tape&, auto x, auto y) { return ops::concat<0>(x, y); }, a, c);
    TT_CHECK_GRADIENTS([](cpu_tape&, auto x, auto y) { return ops::concat<2>(x, y); }, a, c);
    TT_CHECK_GRADIENTS([](cpu_tape&, auto x, auto y) { return ops::stack<0>(x, y); }, a, c);
    TT_CHECK_GRADIENTS([](cpu_tape&, auto x, auto y) { return ops::stack<3>(x, y); }, a, c);
    tape<cpu> t;
    auto y = ops::concat<1>(input(t, a), input(t, b));
    static_assert(std::is_same_v<decltype(y)::shape_type, shape<2, 8, 4>>);
    BOOST_TEST(y.data()[(1 * 8 + 2) * 4 + 3] == a[(1 * 3 + 2) * 4 + 3]);
    BOOST_TEST(y.data()[(1 * 8 + 3 + 4) * 4 + 1] == b[(1 * 5 + 4) * 4 + 1]);
    auto s = ops::stack<1>(input(t, a), input(t, c));
    static_assert(std::is_same_v<decltype(s)::shape_type, shape<2, 2, 3, 4>>);
    BOOST_TEST(s.data()[((1 * 2 + 1) * 3 + 2) * 4 + 0] == c[(1 * 3 + 2) * 4 + 0]);

    auto d1 = randn<shape<dyn, 4>, double>(64, 2, 4), d2 = randn<shape<dyn, 4>, double>(65, 3, 4);
    auto joined = ops::concat<0>(input(t, d1), input(t, d2));
    BOOST_TEST(joined.shape().str() == "[5, 4]");
    expect_error([&] { (void)ops::concat<1>(input(t, d1), input(t, d2)); }, {"concat", "[2, 4]", "[3, 4]"});
    expect_error([&] { (void)ops::stack<0>(input(t, d1), input(t, d2)); }, {"stack", "[2, 4]", "[3, 4]"});
}

BOOST_AUTO_TEST_CASE(narrow_along_an_axis) {
    auto a = randn<shape<2, 5, 4>, double>(66);
    TT_CHECK_GRADIENTS([](cpu_tape&, auto x) { return ops::narrow<1>(x, 1, 3); }, a);
    TT_CHECK_GRADIENTS([](cpu_tape&, auto x) { return ops::narrow<0, 1>(x, 1); }, a);
    TT_CHECK_GRADIENTS([](cpu_tape&, auto x) { return ops::narrow<2, 2>(x, 2); }, a);
    tape<cpu> t;
    auto y = ops::narrow<1>(input(t, a), 2, 3);
    static_assert(std::is_same_v<decltype(y)::shape_type, shape<2, dyn, 4>>);
    BOOST_TEST(y.shape().str() == "[2, 3, 4]");
    for (std::size_t b = 0; b < 2; ++b)
        for (std::size_t n = 0; n < 3; ++n)
            for (std::size_t d = 0; d < 4; ++d) BOOST_TEST(y.data()[(b * 3 + n) * 4 + d] == a[(b * 5 + n + 2) * 4 + d]);
    auto z = ops::narrow<2, 1>(input(t, a), 3);
    static_assert(std::is_same_v<decltype(z)::shape_type, shape<2, 5, 1>>);
    BOOST_TEST(z.data()[1 * 5 + 4] == a[(1 * 5 + 4) * 4 + 3]);
    // narrow undoes concat.
    auto c = randn<shape<2, 3, 4>, double>(67);
    auto joined = ops::concat<1>(input(t, a), input(t, c));
    auto back = ops::narrow<1, 3>(joined, 5);
    for (std::size_t i = 0; i < c.size(); ++i) BOOST_TEST(back.data()[i] == c.data()[i]);
    expect_error([&] { (void)ops::narrow<1>(input(t, a), 3, 3); }, {"narrow", "[3, 6)", "axis 1", "[2, 5, 4]"});
    expect_error([&] { (void)ops::narrow<0, 2>(input(t, a), 1); }, {"narrow", "[1, 3)", "axis 0"});
}

BOOST_AUTO_TEST_CASE(reduction_errors_name_the_shape) {
    tape<cpu> t;
    auto empty = randn<shape<2, dyn>, double>(71, 2, 0);
    expect_error([&] { (void)ops::max<1>(input(t, empty)); }, {"max", "[2, 0]", "empty"});
    auto one = randn<shape<2, dyn>, double>(72, 2, 1);
    expect_error([&] { (void)ops::variance<1>(input(t, one)); }, {"variance", "[2, 1]", "correction 1"});
    BOOST_TEST(ops::variance<1>(input(t, one), 0).data()[0] == 0.0);
}

BOOST_AUTO_TEST_SUITE_END()
