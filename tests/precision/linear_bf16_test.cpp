// ops::linear under bf16_mixed against the exact product of the float values, forward and backward, at the
// sizes of a ViT's linears, on 1 and 2 threads.
//
// Tolerance, per entry, derived from the rounding: each operand is rounded to bf16 (relative error at most
// u = 2^-8, bf16 having 8 significant bits), so each product carries at most 2u + u^2; the products are exact
// in float and summed in float (gamma_{k+2}, k the inner length, as in gemm_bf16_test.cpp). Hence
//   |y - y_exact| <= (2u + u^2 + gamma_{k+2} (1 + u)^2) sum |x| |w|  (+ gamma_{k+2} |b|, + u |y| when the
// output is itself rounded). The test also requires the result to differ from the float product by more
// than float rounding somewhere: a path that skipped the bf16 rounding would pass the bound but not that.
#include "../support/common.hpp"

#include <cmath>
#include <vector>

#include "tinymim/backend/cpu/cpu.hpp"
#include "tinymim/core/random.hpp"
#include "tinymim/ops/elementwise.hpp"
#include "tinymim/ops/linear.hpp"
#include "tinymim/ops/reduce.hpp"

using namespace tinymim;

namespace {
const double u = std::ldexp(1.0, -8);
double gamma_for(std::size_t k) {
    const double n = double(k + 2), f = std::ldexp(1.0, -24);
    return n * f / (1 - n * f);
}

// Checks got [m, n] against sum_p a(i, p) b(p, j) (+ add(j)) in double within the bound above; returns the
// largest |got - exact| / |exact sum| seen, to show the bf16 rounding happened.
template <class A, class Bf>
double check_product(const float* got, std::size_t m, std::size_t n, std::size_t k, A a, Bf b, const float* add,
                     bool rounded_output, const char* what) {
    const double g = gamma_for(k), per_product = 2 * u + u * u + g * (1 + u) * (1 + u);
    double worst_ratio = 0, largest_gap = 0;
    for (std::size_t i = 0; i < m; ++i) {
        for (std::size_t j = 0; j < n; ++j) {
            double exact = add != nullptr ? double(add[j]) : 0, magnitude = 0;
            for (std::size_t p = 0; p < k; ++p) {
                exact += a(i, p) * b(p, j);
                magnitude += std::abs(a(i, p) * b(p, j));
            }
            double bound = per_product * magnitude + (add != nullptr ? g * std::abs(double(add[j])) : 0);
            if (rounded_output) bound += u * (std::abs(exact) + bound);
            const double gap = std::abs(double(got[i * n + j]) - exact);
            worst_ratio = std::max(worst_ratio, gap / bound);
            largest_gap = std::max(largest_gap, gap / std::max(magnitude, 1e-30));
        }
    }
    BOOST_TEST(worst_ratio <= 1.0, what << ": error / bound reaches " << worst_ratio);
    return largest_gap;
}

void linear_case(std::size_t rows, std::size_t in, std::size_t out, bool round_output, int threads) {
    BOOST_TEST_CONTEXT("rows " << rows << ", in " << in << ", out " << out << ", rounded output " << round_output
                               << ", threads " << threads) {
        set_num_threads(threads);
        const auto x = tt::randn_float(extents<shape<dyn, dyn>>({rows, in}), 1);
        const auto w = tt::randn_float(extents<shape<dyn, dyn>>({out, in}), 2, 0.1);
        const auto b = tt::randn_float(extents<shape<dyn>>({out}), 3);
        const auto dy = tt::randn_float(extents<shape<dyn, dyn>>({rows, out}), 4);
        tape<cpu> t;
        t.set_poison(true);
        auto vx = leaf(t, x);
        auto vw = leaf(t, w);
        auto vb = leaf(t, b);
        auto y = ops::linear(vx, vw, vb, bf16_mixed{}, round_output);
        const float* yp = y.data();
        const double fwd = check_product(
            yp, rows, out, in, [&](std::size_t i, std::size_t p) { return double(x.data()[i * in + p]); },
            [&](std::size_t p, std::size_t j) { return double(w.data()[j * in + p]); }, b.data(), round_output, "y");
        BOOST_TEST(fwd > 1e-4, "the forward is not rounded to bf16 operands (largest relative gap " << fwd << ")");
        auto loss = ops::sum(ops::mul(y, input(t, dy)));
        loss.backward();
        const double dx = check_product(
            vx.grad(), rows, in, out, [&](std::size_t i, std::size_t p) { return double(dy.data()[i * out + p]); },
            [&](std::size_t p, std::size_t j) { return double(w.data()[p * in + j]); }, nullptr, false, "dx");
        const double dw = check_product(
            vw.grad(), out, in, rows, [&](std::size_t i, std::size_t p) { return double(dy.data()[p * out + i]); },
            [&](std::size_t p, std::size_t j) { return double(x.data()[p * in + j]); }, nullptr, false, "dW");
        BOOST_TEST(dx > 1e-4);
        BOOST_TEST(dw > 1e-4);
        for (std::size_t j = 0; j < out; ++j) {  // db is a float sum of dy: no bf16 in it
            double exact = 0, magnitude = 0;
            for (std::size_t i = 0; i < rows; ++i) {
                exact += dy.data()[i * out + j];
                magnitude += std::abs(dy.data()[i * out + j]);
            }
            BOOST_TEST(std::abs(double(vb.grad()[j]) - exact) <= gamma_for(rows) * magnitude);
        }
        set_num_threads(0);
    }
}
}  // namespace

BOOST_AUTO_TEST_SUITE(linear_bf16)

BOOST_AUTO_TEST_CASE(forward_and_backward_within_the_bf16_bound) {
    for (int threads : {1, 2}) {
        linear_case(7, 5, 3, false, threads);         // tiny, odd
        linear_case(394, 192, 576, true, threads);    // fm-small's qkv on a batch of 2 (rounded: q, k, v)
        linear_case(200, 384, 1536, false, threads);  // vit-small's fc1 rows
    }
}

BOOST_AUTO_TEST_CASE(fp32_policy_is_the_float_linear) {
    const auto x = tt::randn_float(extents<shape<dyn, 16>>({9, 16}), 5);
    const auto w = tt::randn_float(extents<shape<8, 16>>({8, 16}), 6);
    tape<cpu> t;
    auto a = ops::linear(input(t, x), input(t, w), fp32{});
    auto b = ops::linear(input(t, x), input(t, w));
    for (std::size_t i = 0; i < a.size(); ++i) BOOST_TEST(a.data()[i] == b.data()[i]);
}

BOOST_AUTO_TEST_SUITE_END()
