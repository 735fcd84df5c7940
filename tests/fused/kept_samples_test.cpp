// A block's halves under drop path compute only the samples the drop path keeps (ops/samples.hpp):
// take_samples / put_samples and their gradients, and mlp_residual / attention_residual with a drop path
// against the separate ops, which compute every sample and multiply the dropped ones by zero. And the
// residual's gradient passed rather than copied (tape::pass_grad).
#include "../support/common.hpp"

#include <algorithm>
#include <cmath>
#include <string>
#include <vector>

#include "tinymim/fused/attention_residual.hpp"
#include "tinymim/fused/mlp_residual.hpp"
#include "tinymim/fused/residual_linear.hpp"
#include "tinymim/ops/attention.hpp"
#include "tinymim/ops/drop_path.hpp"
#include "tinymim/ops/elementwise.hpp"
#include "tinymim/ops/gelu.hpp"
#include "tinymim/ops/layer_norm.hpp"
#include "tinymim/ops/linear.hpp"
#include "tinymim/ops/reduce.hpp"
#include "tinymim/ops/samples.hpp"

using namespace tinymim;
using tt::max_abs_diff;
using tt::randn;
using cpu_tape = tape<cpu>;

namespace {
// p = 0.5 over 6 samples with this generator: dropped, kept, kept, dropped, kept, dropped (checked
// below) — a gap before, between and after the runs.
const counter_rng gaps_rng(26);
// p = 0.9 over 4 samples with this generator drops every one.
const counter_rng all_dropped_rng(1);

ops::sample_runs runs_of(std::size_t batch, std::initializer_list<std::size_t> kept) {
    ops::sample_runs r(batch);
    for (std::size_t b : kept) r.add(b);
    return r;
}
}  // namespace

BOOST_AUTO_TEST_SUITE(drop_path_samples)

BOOST_AUTO_TEST_CASE(the_drop_patterns_of_these_tests) {
    const auto kept = ops::kept_samples(6, 0.5, gaps_rng);
    BOOST_TEST(kept.count == 3u);
    BOOST_REQUIRE(kept.runs.size() == 2u);
    BOOST_TEST(kept.runs[0].first == 1u);
    BOOST_TEST(kept.runs[0].count == 2u);
    BOOST_TEST(kept.runs[1].first == 4u);
    BOOST_TEST(kept.runs[1].count == 1u);
    BOOST_TEST(ops::kept_samples(4, 0.9, all_dropped_rng).count == 0u);
    // The same draws as drop_path's: its scales are zero exactly on the samples left out.
    tape<cpu> t;
    auto ones = tensor<double, shape<dyn, 2>>({6, 2});
    ones.fill(1);
    auto y = ops::drop_path(input(t, ones), 0.5, gaps_rng);
    for (std::size_t b = 0; b < 6; ++b) BOOST_TEST((y.data()[2 * b] != 0) == (b == 1 || b == 2 || b == 4));
}

BOOST_AUTO_TEST_CASE(sample_runs_take_samples_in_order_within_the_batch) {
    ops::sample_runs r(5);
    r.add(1);
    r.add(2);
    r.add(4);
    BOOST_TEST(r.runs.size() == 2u);
    BOOST_TEST(r.count == 3u);
    BOOST_CHECK_THROW(r.add(3), error);  // before the last one
    BOOST_CHECK_THROW(r.add(5), error);  // past the batch
    tape<cpu> t;
    auto x = input(t, randn<shape<dyn, 2>>(1, 4, 2));
    try {
        (void)ops::take_samples(x, r);
        BOOST_FAIL("a batch of 4 taken with runs for 5");
    } catch (const error& e) {
        BOOST_TEST(std::string(e.what()).find("batch of 5") != std::string::npos, e.what());
    }
    auto yk = input(t, randn<shape<dyn, 2>>(2, 2, 2));
    BOOST_CHECK_THROW((void)ops::put_samples(x, yk, runs_of(4, {0, 1, 3})), error);  // 2 samples for 3 runs' worth
}

BOOST_AUTO_TEST_CASE(take_and_put_move_whole_samples) {
    const auto x = randn<shape<dyn, 3, 2>>(3, 6, 3, 2);
    const auto k = randn<shape<dyn, 3, 2>>(4, 3, 3, 2);
    const auto runs = runs_of(6, {1, 2, 4});
    tape<cpu> t;
    auto taken = ops::take_samples(input(t, x), runs);
    BOOST_TEST(taken.extent(0) == 3u);
    auto put = ops::put_samples(input(t, x), input(t, k), runs);
    const std::size_t order[] = {1, 2, 4};
    for (std::size_t i = 0; i < 3; ++i)
        for (std::size_t j = 0; j < 6; ++j) {
            BOOST_TEST(taken.data()[i * 6 + j] == x[order[i] * 6 + j]);
            BOOST_TEST(put.data()[order[i] * 6 + j] == k[i * 6 + j]);
        }
    for (std::size_t b : {0, 3, 5})
        for (std::size_t j = 0; j < 6; ++j) BOOST_TEST(put.data()[b * 6 + j] == x[b * 6 + j]);
}

BOOST_AUTO_TEST_CASE(take_and_put_gradients) {
    auto x = randn<shape<dyn, 3, 2>>(5, 6, 3, 2);  // (perturbed in place by the checks)
    auto k = randn<shape<dyn, 3, 2>>(6, 3, 3, 2);
    for (const auto& runs :
         {runs_of(6, {1, 2, 4}), runs_of(6, {0, 1, 2}), runs_of(6, {3, 4, 5}), runs_of(6, {0, 2, 5})}) {
        TT_CHECK_GRADIENTS([&](cpu_tape&, auto a) { return ops::take_samples(a, runs); }, x);
        TT_CHECK_GRADIENTS([&](cpu_tape&, auto a, auto b) { return ops::put_samples(a, b, runs); }, x, k);
        // Through intermediates, whose gradient buffers the ops find fresh (written, not added to).
        TT_CHECK_GRADIENTS([&](cpu_tape&, auto a) { return ops::take_samples(ops::scale(a, 3.0), runs); }, x);
        TT_CHECK_GRADIENTS(
            [&](cpu_tape&, auto a, auto b) { return ops::put_samples(ops::scale(a, 3.0), ops::scale(b, 0.5), runs); },
            x, k);
        // x reaching the result both ways, as in a residual branch: put(x, take(x) * 2).
        TT_CHECK_GRADIENTS(
            [&](cpu_tape&, auto a) { return ops::put_samples(a, ops::scale(ops::take_samples(a, runs), 2.0), runs); },
            x);
    }
}

// mlp_residual and attention_residual with a drop path: the values and every gradient of the separate
// ops, which compute the dropped samples' branches and multiply them by zero. Gaps before, between and
// after the kept runs; every sample dropped (the parameters still get their zero gradients, so that
// an optimizer steps them); and (p = 0.5 and 0.3 with other generators) other patterns.
namespace {
// The check below for `n` tokens a sample (few: whole-tensor passes; many: the CPU's row-blocked branch
// kernels, which write the kept samples' rows through the runs' index).
template <std::size_t n>
void check_block_halves_against_the_separate_ops() {
    constexpr std::size_t D = 12, H = 48, heads = 3, batch = 6;
    const auto x = randn<shape<dyn, n, D>>(7, batch, n, D);
    const auto g = randn<shape<D>>(8);
    const auto be = randn<shape<D>>(9);
    auto w1 = randn<shape<H, D>>(10);
    const auto b1 = randn<shape<H>>(11);
    auto w2 = randn<shape<D, H>>(12);
    const auto b2 = randn<shape<D>>(13);
    auto wq = randn<shape<3 * D, D>>(14);
    const auto bq = randn<shape<3 * D>>(15);
    auto wp = randn<shape<D, D>>(16);
    auto shrink = [](auto& w, double in) {  // as initialised layers' scale, 1 / sqrt(in)
        for (std::size_t i = 0; i < w.size(); ++i) w[i] /= std::sqrt(in);
    };
    shrink(w1, D), shrink(wq, D), shrink(wp, D), shrink(w2, H);
    const auto bp = randn<shape<D>>(17);
    const auto weights = randn<shape<dyn, n, D>>(18, batch, n, D);
    const double scale = 1 / std::sqrt(double(D / heads));
    const ops::drop_path_run cases[] = {
        {0.5, gaps_rng, true}, {0.9, all_dropped_rng, true}, {0.5, counter_rng(3), true}, {0.3, counter_rng(4), true}};
    for (const bool attention : {false, true}) {
        for (const auto& dp : cases) {
            auto run = [&](bool fast) {
                tape<cpu> t;
                auto xv = leaf(t, x);
                auto gv = leaf(t, g);
                auto bev = leaf(t, be);
                auto w1v = leaf(t, w1);
                auto b1v = leaf(t, b1);
                auto w2v = leaf(t, w2);
                auto b2v = leaf(t, b2);
                auto wqv = leaf(t, wq);
                auto bqv = leaf(t, bq);
                auto wpv = leaf(t, wp);
                auto bpv = leaf(t, bp);
                var<double, shape<dyn, n, D>> y;
                if (fast) {
                    y = attention ? fused::attention_residual(xv, gv, bev, 1e-6, wqv, bqv, wpv, bpv, heads, scale, dp)
                                  : fused::mlp_residual(xv, gv, bev, 1e-6, w1v, b1v, w2v, b2v, dp);
                } else {
                    y = attention ? fused::attention_residual.reference(xv, gv, bev, 1e-6, wqv, bqv, wpv, bpv, heads,
                                                                        scale, dp)
                                  : fused::mlp_residual.reference(xv, gv, bev, 1e-6, w1v, b1v, w2v, b2v, dp);
                }
                ops::sum(ops::mul(y, input(t, weights))).backward();
                std::vector<double> all(y.data(), y.data() + y.size());
                auto append = [&](const auto& v) {  // every parameter reached, even with every sample dropped
                    BOOST_REQUIRE(v.grad() != nullptr);
                    all.insert(all.end(), v.grad(), v.grad() + v.size());
                };
                append(xv), append(gv), append(bev);
                if (attention)
                    append(wqv), append(bqv), append(wpv), append(bpv);
                else
                    append(w1v), append(b1v), append(w2v), append(b2v);
                return all;
            };
            const std::size_t kept = ops::kept_samples(batch, dp.p, dp.rng).count;
            if (n > 100 && dp.rng.seed() == gaps_rng.seed())  // the blocked kernels are what runs here
                BOOST_REQUIRE_MESSAGE(
                    backends::residual_branch_blocked(cpu{}, kept * n, attention ? D : H, D, sizeof(double)),
                    "the test's shape no longer takes the row-blocked kernels");
            BOOST_TEST_CONTEXT((attention ? "attention" : "mlp")
                               << ", n " << n << ", p " << dp.p << ", kept " << kept) {
                const auto want = run(false);
                double largest = 0;
                for (double v : want) largest = std::max(largest, std::abs(v));
                BOOST_TEST(max_abs_diff(run(true), want) < 1e-13 * largest);
            }
        }
    }
}
}  // namespace

BOOST_AUTO_TEST_CASE(block_halves_skip_the_dropped_samples_with_the_separate_ops_values) {
    check_block_halves_against_the_separate_ops<5>();
}

BOOST_AUTO_TEST_CASE(block_halves_skip_the_dropped_samples_in_the_row_blocked_kernels) {
    const int threads_before = num_threads();
    for (const int threads : {1, 2}) {
        set_num_threads(threads);
        BOOST_TEST_CONTEXT("threads " << threads) { check_block_halves_against_the_separate_ops<700>(); }
    }
    set_num_threads(threads_before);
}

// A residual connection's gradient is its output's: residual_linear hands its output's gradient buffer
// to a residual that has none yet (tape::pass_grad) and copies or adds otherwise — the same values
// whichever it does, with the gradients retained or not, and with the residual also the branch's input.
BOOST_AUTO_TEST_CASE(a_residual_gets_its_outputs_gradient_passed_or_copied) {
    const auto x = randn<shape<dyn, 3, 4>>(21, 2, 3, 4);
    const auto w = randn<shape<4, 4>>(22);
    const auto b = randn<shape<4>>(23);
    const auto r = randn<shape<dyn, 3, 4>>(24, 2, 3, 4);
    const auto weights = randn<shape<dyn, 3, 4>>(25, 2, 3, 4);
    for (const bool retain : {false, true}) {
        for (const int use : {0, 1, 2}) {  // 0: r a leaf; 1: r an intermediate; 2: the residual is the input
            tape<cpu> t;
            t.retain_grads(retain);
            auto xv = leaf(t, x);
            auto wv = leaf(t, w);
            auto bv = leaf(t, b);
            auto rv = leaf(t, r);
            auto res = use == 1 ? ops::scale(rv, 2.0) : use == 2 ? xv : rv;
            auto y = fused::residual_linear(xv, wv, bv, res);
            ops::sum(ops::mul(y, input(t, weights))).backward();
            BOOST_TEST_CONTEXT("retain " << retain << ", use " << use) {
                if (use == 0)
                    for (std::size_t i = 0; i < r.size(); ++i) BOOST_TEST(rv.grad()[i] == weights[i]);
                if (use == 1)
                    for (std::size_t i = 0; i < r.size(); ++i) BOOST_TEST(rv.grad()[i] == 2 * weights[i]);
                if (use == 2) {  // dx = g + g · W
                    for (std::size_t s = 0; s < 6; ++s)
                        for (std::size_t j = 0; j < 4; ++j) {
                            double want = weights[s * 4 + j];
                            for (std::size_t o = 0; o < 4; ++o) want += weights[s * 4 + o] * w[o * 4 + j];
                            BOOST_TEST(std::abs(xv.grad()[s * 4 + j] - want) < 1e-12);
                        }
                }
                if (retain) BOOST_TEST(y.grad() != nullptr);
            }
        }
    }
}

BOOST_AUTO_TEST_SUITE_END()
