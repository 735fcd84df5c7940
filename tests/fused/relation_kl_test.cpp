// fused::relation_kl, TinyMIM's relation loss in one op: gradient checks in double, the fused CPU kernel
// against the ops it replaces (double and float, at one and two threads), the fallback, bad shapes.
#include "../support/common.hpp"

#include <algorithm>
#include <cmath>
#include <vector>

#include "tinymim/fused/relation_kl.hpp"
#include "tinymim/ops/elementwise.hpp"
#include "tinymim/ops/losses.hpp"
#include "tinymim/ops/matmul.hpp"
#include "tinymim/ops/softmax.hpp"

using namespace tinymim;
using tt::randn;
using cpu_tape = tape<cpu>;
using heads_shape = shape<dyn, dyn, dyn, dyn>;

namespace {
template <class T>
tensor<T, heads_shape> heads(std::uint64_t seed, std::size_t b, std::size_t h, std::size_t n, std::size_t d,
                             double sd) {
    auto t = randn<heads_shape, T>(seed, b, h, n, d);
    for (std::size_t i = 0; i < t.size(); ++i) t[i] = T(double(t[i]) * sd);
    return t;
}

// The loss and the gradients of A_s and B_s (B_s's empty when it is A_s), fused or composed of
// matmul, softmax and kl_divergence (the distiller's path before relation_kl).
template <class T>
std::vector<double> run(bool fast, bool same, T temperature, const tensor<T, heads_shape>& sa,
                        const tensor<T, heads_shape>& sb, const tensor<T, heads_shape>& ta,
                        const tensor<T, heads_shape>& tb) {
    cpu_tape t;
    auto a = leaf(t, sa);
    auto b = same ? a : leaf(t, sb);
    auto at = input(t, ta);
    auto bt = input(t, tb);
    const T ss = T(1) / std::sqrt(T(sa.extent(3))), ts = T(1) / std::sqrt(T(ta.extent(3)));
    auto loss = fast ? fused::relation_kl(a, b, ss, at, bt, ts, temperature)
                     : fused::relation_kl.reference(a, b, ss, at, bt, ts, temperature);
    ops::scale(loss, T(3)).backward();  // a seed other than 1: the backward scales what the forward made
    std::vector<double> all{double(loss.data()[0])};
    all.insert(all.end(), a.grad(), a.grad() + a.size());
    if (!same) all.insert(all.end(), b.grad(), b.grad() + b.size());
    return all;
}

double max_rel_diff(const std::vector<double>& a, const std::vector<double>& b) {
    BOOST_REQUIRE(a.size() == b.size());
    double scale = 0, worst = 0;
    for (double v : b) scale = std::max(scale, std::abs(v));
    for (std::size_t i = 0; i < a.size(); ++i) worst = std::max(worst, std::abs(a[i] - b[i]));
    return worst / scale;
}
}  // namespace

BOOST_AUTO_TEST_SUITE(relation_loss)

// Reverse mode against central differences, through the fused kernel (the teacher is an input, as in
// the distiller): two operands (q kᵀ) and one (v vᵀ), temperatures 1 and 2; student heads 4 wide,
// teacher heads 6.
BOOST_AUTO_TEST_CASE(gradients_of_the_student_heads) {
    auto sa = heads<double>(1, 2, 3, 5, 4, 1.0);
    auto sb = heads<double>(2, 2, 3, 5, 4, 1.0);
    const auto ta = heads<double>(3, 2, 3, 5, 6, 1.5);
    const auto tb = heads<double>(4, 2, 3, 5, 6, 1.5);
    for (const double tau : {1.0, 2.0}) {
        BOOST_TEST_CONTEXT("temperature " << tau) {
            TT_CHECK_GRADIENTS(
                [&](cpu_tape& t, auto a, auto b) {
                    return fused::relation_kl(a, b, 0.5, input(t, ta), input(t, tb), 1 / std::sqrt(6.0), tau);
                },
                sa, sb);
            TT_CHECK_GRADIENTS(
                [&](cpu_tape& t, auto a) {
                    return fused::relation_kl(a, a, 0.5, input(t, ta), input(t, ta), 0.4, tau);
                },
                sa);
        }
    }
}

// fm-small's shape at a smaller batch (50 tokens: packets and a tail of 2 with AVX-512's 16 lanes or
// AVX2's 8), and 7 tokens (a tail only): the loss and gradients of the composed ops, at one and two
// threads. In double to rounding; in float (the packet code) to float rounding of the double result.
BOOST_AUTO_TEST_CASE(equals_the_composed_ops) {
    const int threads_before = num_threads();
    for (const std::size_t n : {50u, 7u}) {
        const auto sa = heads<double>(11, 4, 6, n, 16, 1.2), sb = heads<double>(12, 4, 6, n, 16, 1.2);
        const auto ta = heads<double>(13, 4, 6, n, 32, 1.8), tb = heads<double>(14, 4, 6, n, 32, 1.8);
        auto to_float = [](const tensor<double, heads_shape>& x) {
            tensor<float, heads_shape> f(x.shape());
            for (std::size_t i = 0; i < x.size(); ++i) f[i] = float(x[i]);
            return f;
        };
        const auto fa = to_float(sa), fb = to_float(sb), fta = to_float(ta), ftb = to_float(tb);
        for (const int threads : {1, 2}) {
            set_num_threads(threads);
            for (const bool same : {false, true}) {
                for (const double tau : {1.0, 2.0}) {
                    BOOST_TEST_CONTEXT("tokens " << n << ", threads " << threads << ", one operand " << same
                                                 << ", temperature " << tau) {
                        const auto want = run<double>(false, same, tau, sa, sb, ta, tb);
                        BOOST_TEST(want[0] > 0.05);  // the relations differ: a loss of substance
                        BOOST_TEST(max_rel_diff(run<double>(true, same, tau, sa, sb, ta, tb), want) < 1e-12);
                        BOOST_TEST(max_rel_diff(run<float>(true, same, float(tau), fa, fb, fta, ftb), want) < 2e-5);
                    }
                }
            }
        }
    }
    set_num_threads(threads_before);
}

// A teacher that needs gradients takes the composed path, and gets them.
BOOST_AUTO_TEST_CASE(a_teacher_with_gradients_is_differentiated_too) {
    const auto sa = heads<double>(21, 2, 2, 6, 4, 1.0), ta = heads<double>(22, 2, 2, 6, 4, 1.0);
    cpu_tape t;
    auto a = leaf(t, sa);
    auto at = leaf(t, ta);
    auto loss = fused::relation_kl(a, a, 0.5, at, at, 0.5);
    loss.backward();
    double norm = 0;
    for (std::size_t i = 0; i < at.size(); ++i) norm += std::abs(at.grad()[i]);
    BOOST_TEST(norm > 0);
    TT_CHECK_GRADIENTS([](cpu_tape&, auto s, auto te) { return fused::relation_kl(s, s, 0.5, te, te, 0.5); },
                       const_cast<tensor<double, heads_shape>&>(sa), const_cast<tensor<double, heads_shape>&>(ta));
}

BOOST_AUTO_TEST_CASE(reports_heads_that_do_not_pair) {
    cpu_tape t;
    auto a = input(t, heads<double>(31, 2, 3, 5, 4, 1.0));
    auto tokens = input(t, heads<double>(32, 2, 3, 6, 4, 1.0));
    auto count = input(t, heads<double>(33, 2, 2, 5, 4, 1.0));
    auto wide = input(t, heads<double>(34, 2, 3, 5, 8, 1.0));
    auto message = [](auto&& f) {
        try {
            (void)f();
        } catch (const tinymim::error& e) {
            return std::string(e.what());
        }
        return std::string("no error");
    };
    const std::string m1 = message([&] { return fused::relation_kl(a, a, 0.5, tokens, tokens, 0.5); });
    BOOST_TEST(m1.find("differ in batch, head count or tokens") != std::string::npos, m1);
    BOOST_TEST(m1.find("[2, 3, 6, 4]") != std::string::npos, m1);
    const std::string m2 = message([&] { return fused::relation_kl(a, a, 0.5, count, count, 0.5); });
    BOOST_TEST(m2.find("differ in batch, head count or tokens") != std::string::npos, m2);
    const std::string m3 = message([&] { return fused::relation_kl(a, a, 0.5, wide, a, 0.5); });
    BOOST_TEST(m3.find("each side's two operands must have one shape") != std::string::npos, m3);
    // Head widths may differ between the sides.
    BOOST_TEST(message([&] { return fused::relation_kl(a, a, 0.5, wide, wide, 0.5); }) == "no error");
}

BOOST_AUTO_TEST_SUITE_END()
