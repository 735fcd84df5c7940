// The fused ops under bf16_mixed — layer_norm_linear, residual_linear, residual_gelu_linear and the block
// halves attention_residual and mlp_residual, with and without a drop path — forward and backward, at
// fm-small's and vit-small's widths, on 1 and 2 threads, against two references:
//
// 1. The op's own reference() under the same policy (the composed ops, each linear on bf16 operands, which
//    autocast_test.cpp holds against PyTorch's autocast). Both round the same fp32 values to bf16 and
//    accumulate in fp32; they differ by the fp32 summation order (gamma_k ~ k 2^-24 of sum |a||w|) and by the
//    rare operand whose fp32 value, computed in another order, rounds to the neighbouring bf16 (2u of one
//    term of k, u = 2^-8). Bound: max-norm error <= 2^-10 of the output's max norm (about k/4 times the
//    first, 4/k times a flip's share of a row with k >= 64 terms); a wrong operand or bias is O(1).
// 2. The op's fp32 reference: every GEMM then carries the bf16 rounding of both operands, 2u + u^2 relative
//    to sum |a||w|. For these random operands sum |a||w| is at most a few times max |y| over a row, so the
//    max-norm error stays below 8u = 2^-5 (measured: up to about u); it must also exceed float rounding
//    (2^-14) on the output, or the path did not round to bf16 at all (a bias's or the residual's gradient is
//    an fp32 sum of the output's gradient in both, and may be equal).
#include "../support/common.hpp"

#include <algorithm>
#include <cmath>
#include <vector>

#include "tinymim/backend/cpu/cpu.hpp"
#include "tinymim/fused/attention_residual.hpp"
#include "tinymim/fused/layer_norm_linear.hpp"
#include "tinymim/fused/mlp_residual.hpp"
#include "tinymim/fused/residual_gelu_linear.hpp"
#include "tinymim/fused/residual_linear.hpp"
#include "tinymim/ops/elementwise.hpp"
#include "tinymim/ops/reduce.hpp"

using namespace tinymim;

namespace {
const double u = std::ldexp(1.0, -8);

// The output and every gradient of one run, each kept apart to be compared on its own.
using results = std::vector<std::vector<float>>;

double max_norm(const std::vector<float>& v) {
    double m = 0;
    for (float x : v) m = std::max(m, double(std::abs(x)));
    return m;
}

// Max-norm relative distances of `got` from `want`, part by part.
std::vector<double> distances(const results& got, const results& want) {
    std::vector<double> d;
    for (std::size_t i = 0; i < want.size(); ++i) {
        BOOST_REQUIRE(got[i].size() == want[i].size());
        double e = 0;
        for (std::size_t j = 0; j < want[i].size(); ++j) e = std::max(e, double(std::abs(got[i][j] - want[i][j])));
        d.push_back(e / std::max(max_norm(want[i]), 1e-30));
    }
    return d;
}

// Runs f(tape, leaves...) on leaves of the given tensors, backpropagates sum(y ⊙ weights) and returns y
// and the gradient of every leaf.
template <class F, class Y, class... Ts>
results run(F f, const Y& weights, const Ts&... ts) {
    tape<cpu> t;
    t.set_poison(true);
    auto leaves = std::make_tuple(leaf(t, ts)...);
    auto y = std::apply([&](auto&... l) { return f(l...); }, leaves);
    ops::sum(ops::mul(y, input(t, weights))).backward();
    results r{std::vector<float>(y.data(), y.data() + y.size())};
    std::apply([&](auto&... l) { (r.emplace_back(l.grad(), l.grad() + l.size()), ...); }, leaves);
    return r;
}

// The fused bf16 op against its bf16 reference and its fp32 reference (the header's two bounds).
template <class Fused, class Ref, class Fp32, class Y, class... Ts>
void compare(const char* what, Fused fused, Ref ref, Fp32 fp32_ref, const Y& weights, const Ts&... ts) {
    for (int threads : {1, 2}) {
        BOOST_TEST_CONTEXT(what << ", threads " << threads) {
            set_num_threads(threads);
            const results got = run(fused, weights, ts...);
            const auto to_ref = distances(got, run(ref, weights, ts...));
            const auto to_fp32 = distances(got, run(fp32_ref, weights, ts...));
            for (std::size_t i = 0; i < to_ref.size(); ++i)
                BOOST_TEST_MESSAGE(what << " part " << i << ": to the bf16 reference " << to_ref[i] << ", to fp32 "
                                        << to_fp32[i]);
            for (std::size_t i = 0; i < to_ref.size(); ++i) {
                BOOST_TEST_CONTEXT("part " << i << " (0: output, then the inputs' gradients)") {
                    BOOST_TEST(to_ref[i] <= std::ldexp(1.0, -10));
                    BOOST_TEST(to_fp32[i] <= 8 * u);
                    if (i == 0) BOOST_TEST(to_fp32[i] > std::ldexp(1.0, -14));  // some gradients are fp32 sums
                }
            }
            set_num_threads(0);
        }
    }
}

template <std::size_t N, std::size_t D, std::size_t H>
void block_ops_case(std::size_t batch, std::size_t heads, const ops::drop_path_run& dp) {
    using tokens = shape<dyn, N, D>;
    const auto x = tt::randn_float(extents<tokens>({batch, N, D}), 1);
    auto gamma = tt::randn_float(extents<shape<D>>({D}), 2, 0.2);
    for (std::size_t i = 0; i < D; ++i) gamma.data()[i] += 1;
    const auto beta = tt::randn_float(extents<shape<D>>({D}), 3, 0.1);
    const double sd = 1 / std::sqrt(double(D)), sh = 1 / std::sqrt(double(H));
    const auto wq = tt::randn_float(extents<shape<3 * D, D>>({3 * D, D}), 4, sd);
    const auto bq = tt::randn_float(extents<shape<3 * D>>({3 * D}), 5, 0.1);
    const auto wp = tt::randn_float(extents<shape<D, D>>({D, D}), 6, sd);
    const auto bp = tt::randn_float(extents<shape<D>>({D}), 7, 0.1);
    const auto w1 = tt::randn_float(extents<shape<H, D>>({H, D}), 8, sd);
    const auto b1 = tt::randn_float(extents<shape<H>>({H}), 9, 0.1);
    const auto w2 = tt::randn_float(extents<shape<D, H>>({D, H}), 10, sh);
    const auto b2 = tt::randn_float(extents<shape<D>>({D}), 11, 0.1);
    const auto hid = tt::randn_float(extents<shape<dyn, N, H>>({batch, N, H}), 12);
    const auto act = tt::randn_float(extents<tokens>({batch, N, D}), 13);
    const auto weights = tt::randn_float(extents<tokens>({batch, N, D}), 14);
    const auto weights_h = tt::randn_float(extents<shape<dyn, N, H>>({batch, N, H}), 15);
    const float scale = float(1 / std::sqrt(double(D / heads))), eps = 1e-6f;
    BOOST_TEST_CONTEXT("tokens " << N << ", width " << D << ", batch " << batch << ", drop path " << dp.p) {
        compare(
            "layer_norm_linear (fc1)",
            [&](auto& a, auto& gm, auto& bt, auto& w, auto& b) {
                return fused::layer_norm_linear(a, gm, bt, eps, w, b, bf16_mixed{});
            },
            [&](auto& a, auto& gm, auto& bt, auto& w, auto& b) {
                return fused::layer_norm_linear.reference(a, gm, bt, eps, w, b, bf16_mixed{});
            },
            [&](auto& a, auto& gm, auto& bt, auto& w, auto& b) {
                return fused::layer_norm_linear.reference(a, gm, bt, eps, w, b);
            },
            weights_h, x, gamma, beta, w1, b1);
        compare(
            "residual_linear (proj)",
            [&](auto& a, auto& w, auto& b, auto& r) { return fused::residual_linear(a, w, b, r, dp, bf16_mixed{}); },
            [&](auto& a, auto& w, auto& b, auto& r) {
                return fused::residual_linear.reference(a, w, b, r, dp, bf16_mixed{});
            },
            [&](auto& a, auto& w, auto& b, auto& r) { return fused::residual_linear.reference(a, w, b, r, dp); },
            weights, act, wp, bp, x);
        compare(
            "residual_gelu_linear (fc2)",
            [&](auto& a, auto& w, auto& b, auto& r) {
                return fused::residual_gelu_linear(a, w, b, r, dp, bf16_mixed{});
            },
            [&](auto& a, auto& w, auto& b, auto& r) {
                return fused::residual_gelu_linear.reference(a, w, b, r, dp, bf16_mixed{});
            },
            [&](auto& a, auto& w, auto& b, auto& r) { return fused::residual_gelu_linear.reference(a, w, b, r, dp); },
            weights, hid, w2, b2, x);
        compare(
            "attention_residual",
            [&](auto& a, auto& gm, auto& bt, auto& q, auto& qb, auto& p, auto& pb) {
                return fused::attention_residual(a, gm, bt, eps, q, qb, p, pb, heads, scale, dp, bf16_mixed{});
            },
            [&](auto& a, auto& gm, auto& bt, auto& q, auto& qb, auto& p, auto& pb) {
                return fused::attention_residual.reference(a, gm, bt, eps, q, qb, p, pb, heads, scale, dp,
                                                           bf16_mixed{});
            },
            [&](auto& a, auto& gm, auto& bt, auto& q, auto& qb, auto& p, auto& pb) {
                return fused::attention_residual.reference(a, gm, bt, eps, q, qb, p, pb, heads, scale, dp);
            },
            weights, x, gamma, beta, wq, bq, wp, bp);
        compare(
            "mlp_residual",
            [&](auto& a, auto& gm, auto& bt, auto& v1, auto& c1, auto& v2, auto& c2) {
                return fused::mlp_residual(a, gm, bt, eps, v1, c1, v2, c2, dp, bf16_mixed{});
            },
            [&](auto& a, auto& gm, auto& bt, auto& v1, auto& c1, auto& v2, auto& c2) {
                return fused::mlp_residual.reference(a, gm, bt, eps, v1, c1, v2, c2, dp, bf16_mixed{});
            },
            [&](auto& a, auto& gm, auto& bt, auto& v1, auto& c1, auto& v2, auto& c2) {
                return fused::mlp_residual.reference(a, gm, bt, eps, v1, c1, v2, c2, dp);
            },
            weights, x, gamma, beta, w1, b1, w2, b2);
    }
}
}  // namespace

BOOST_AUTO_TEST_SUITE(fused_bf16)

BOOST_AUTO_TEST_CASE(fm_small_width_against_both_references) {
    block_ops_case<50, 192, 768>(8, 6, {});
    // Under a drop path the halves run on the kept samples only (p 0.5 over 8 samples keeps some, not all).
    const ops::drop_path_run dp{0.5, counter_rng(3), true};
    BOOST_REQUIRE(ops::kept_samples(8, dp.p, dp.rng).count % 8 != 0);
    block_ops_case<50, 192, 768>(8, 6, dp);
}

BOOST_AUTO_TEST_CASE(vit_small_width_against_both_references) { block_ops_case<197, 384, 1536>(2, 6, {}); }

BOOST_AUTO_TEST_SUITE_END()
