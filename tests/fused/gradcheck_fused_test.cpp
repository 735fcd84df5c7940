// The fused ops: residual branches (linear and GELU + linear, with and without drop path), layer norm +
// linear, the frozen halves and attention on a fused qkv without kept probabilities — gradient checks in
// double, and equality with each op's reference() (the ops/ it stands for).
#include "../support/common.hpp"

#include <algorithm>
#include <cmath>
#include <vector>

#include "tinymim/fused/attention_residual.hpp"
#include "tinymim/fused/layer_norm_linear.hpp"
#include "tinymim/fused/mlp_residual.hpp"
#include "tinymim/fused/residual_linear.hpp"
#include "tinymim/ops/attention.hpp"
#include "tinymim/ops/drop_path.hpp"
#include "tinymim/ops/elementwise.hpp"
#include "tinymim/ops/gelu.hpp"
#include "tinymim/ops/layer_norm.hpp"
#include "tinymim/ops/linear.hpp"
#include "tinymim/ops/reduce.hpp"

using namespace tinymim;
using tt::max_abs_diff;
using tt::randn;
using cpu_tape = tape<cpu>;

namespace {
// p = 0.5 over 4 samples with this generator drops some samples and keeps others (checked below).
const counter_rng drop_rng(77);
const ops::drop_path_run dropping{0.5, drop_rng, true};
}  // namespace

BOOST_AUTO_TEST_SUITE(gradients_fused)

BOOST_AUTO_TEST_CASE(the_drop_pattern_of_these_tests_drops_and_keeps) {
    int dropped = 0;
    for (std::size_t b = 0; b < 4; ++b) dropped += drop_rng.uniform(b) < 0.5 ? 1 : 0;
    BOOST_TEST(dropped > 0);
    BOOST_TEST(dropped < 4);
}

BOOST_AUTO_TEST_CASE(residual_linear_all_inputs) {
    auto x = randn<shape<dyn, 3, 5>>(1, 4, 3, 5);
    auto w = randn<shape<6, 5>>(2);
    auto b = randn<shape<6>>(3);
    auto r = randn<shape<dyn, 3, 6>>(4, 4, 3, 6);
    TT_CHECK_GRADIENTS([](cpu_tape&, auto a, auto c, auto d, auto e) { return fused::residual_linear(a, c, d, e); }, x,
                       w, b, r);
    TT_CHECK_GRADIENTS(
        [](cpu_tape&, auto a, auto c, auto d, auto e) { return fused::residual_linear(a, c, d, e, dropping); }, x, w, b,
        r);
}

BOOST_AUTO_TEST_CASE(residual_gelu_linear_all_inputs) {
    auto x = randn<shape<dyn, 3, 5>>(5, 4, 3, 5);
    auto w = randn<shape<6, 5>>(6);
    auto b = randn<shape<6>>(7);
    auto r = randn<shape<dyn, 3, 6>>(8, 4, 3, 6);
    TT_CHECK_GRADIENTS(
        [](cpu_tape&, auto a, auto c, auto d, auto e) { return fused::residual_gelu_linear(a, c, d, e); }, x, w, b, r);
    TT_CHECK_GRADIENTS(
        [](cpu_tape&, auto a, auto c, auto d, auto e) { return fused::residual_gelu_linear(a, c, d, e, dropping); }, x,
        w, b, r);
}

// Values and every gradient equal those of add(residual, drop_path(linear(act(x), W, b))), in double.
BOOST_AUTO_TEST_CASE(residual_branches_equal_the_separate_ops) {
    const auto x = randn<shape<dyn, 3, 5>>(9, 4, 3, 5);
    const auto w = randn<shape<6, 5>>(10);
    const auto b = randn<shape<6>>(11);
    const auto r = randn<shape<dyn, 3, 6>>(12, 4, 3, 6);
    const auto weights = randn<shape<dyn, 3, 6>>(13, 4, 3, 6);
    for (const bool gelu : {false, true}) {
        for (const bool drop : {false, true}) {
            auto run = [&](bool fast) {
                tape<cpu> t;
                auto xv = leaf(t, x);
                auto wv = leaf(t, w);
                auto bv = leaf(t, b);
                auto rv = leaf(t, r);
                const ops::drop_path_run dp = drop ? dropping : ops::drop_path_run{};
                var<double, shape<dyn, 3, 6>> y;
                if (fast) {
                    y = gelu ? fused::residual_gelu_linear(xv, wv, bv, rv, dp)
                             : fused::residual_linear(xv, wv, bv, rv, dp);
                } else {
                    y = gelu ? fused::residual_gelu_linear.reference(xv, wv, bv, rv, dp)
                             : fused::residual_linear.reference(xv, wv, bv, rv, dp);
                }
                ops::sum(ops::mul(y, input(t, weights))).backward();
                std::vector<double> all(y.data(), y.data() + y.size());
                auto append = [&](const auto& v) { all.insert(all.end(), v.grad(), v.grad() + v.size()); };
                append(xv), append(wv), append(bv), append(rv);
                return all;
            };
            BOOST_TEST_CONTEXT("gelu " << gelu << ", drop path " << drop) {
                BOOST_TEST(max_abs_diff(run(true), run(false)) < 1e-12);
            }
        }
    }
}

// Large enough for the CPU's cache-sized row blocks (backend/cpu/fused/branch.hpp): 2 400 rows of 384 -> 96, at
// one and at two threads, the values and the gradients still those of the separate ops.
BOOST_AUTO_TEST_CASE(residual_branches_in_row_blocks_equal_the_separate_ops) {
    constexpr std::size_t n = 50, in = 384, out = 96, batch = 48;
    const auto x = randn<shape<dyn, n, in>>(20, batch, n, in);
    auto w = randn<shape<out, in>>(21);
    for (std::size_t i = 0; i < w.size(); ++i) w[i] *= 0.05;
    const auto b = randn<shape<out>>(22);
    const auto r = randn<shape<dyn, n, out>>(23, batch, n, out);
    const auto weights = randn<shape<dyn, n, out>>(24, batch, n, out);
    const int threads_before = num_threads();
    for (const int threads : {1, 2}) {
        set_num_threads(threads);
        std::vector<double> ys(batch * n * out);
        BOOST_REQUIRE_MESSAGE(
            backends::residual_branch_forward_blocked(cpu{}, true, batch * n, in, out, x.data(), w.data(), b.data(),
                                                      r.data(), static_cast<const double*>(nullptr), n, ys.data()),
            "the test's shape no longer takes the blocked path");
        // other: 0, or 1 / 2 when x and W also feed a second term recorded before / after the branch (the
        // branch's backward then runs first, writing the gradients, or second, adding to them).
        for (const bool gelu : {false, true}) {
            for (const bool drop : {false, true}) {
                for (const int other : {0, 1, 2}) {
                    auto run = [&](bool fast) {
                        tape<cpu> t;
                        auto xv = leaf(t, x);
                        auto wv = leaf(t, w);
                        auto bv = leaf(t, b);
                        auto rv = leaf(t, r);
                        auto second = [&] { return ops::add(ops::sum(ops::mul(xv, xv)), ops::sum(ops::mul(wv, wv))); };
                        var<double, shape<>> before;
                        if (other == 1) before = second();
                        const ops::drop_path_run dp =
                            drop ? ops::drop_path_run{0.5, drop_rng, true} : ops::drop_path_run{};
                        var<double, shape<dyn, n, out>> y;
                        if (fast) {
                            y = gelu ? fused::residual_gelu_linear(xv, wv, bv, rv, dp)
                                     : fused::residual_linear(xv, wv, bv, rv, dp);
                        } else {
                            y = gelu ? fused::residual_gelu_linear.reference(xv, wv, bv, rv, dp)
                                     : fused::residual_linear.reference(xv, wv, bv, rv, dp);
                        }
                        auto loss = ops::sum(ops::mul(y, input(t, weights)));
                        if (other == 1) loss = ops::add(loss, before);
                        if (other == 2) loss = ops::add(loss, second());
                        loss.backward();
                        std::vector<double> all(y.data(), y.data() + y.size());
                        auto append = [&](const auto& v) { all.insert(all.end(), v.grad(), v.grad() + v.size()); };
                        append(xv), append(wv), append(bv), append(rv);
                        return all;
                    };
                    BOOST_TEST_CONTEXT("threads " << threads << ", gelu " << gelu << ", drop path " << drop
                                                  << ", other term " << other) {
                        BOOST_TEST(max_abs_diff(run(true), run(false)) < 1e-9);
                    }
                }
            }
        }
    }
    set_num_threads(threads_before);
}

BOOST_AUTO_TEST_CASE(layer_norm_linear_all_inputs) {
    auto x = randn<shape<dyn, 3, 5>>(30, 2, 3, 5);
    auto g = randn<shape<5>>(31);
    auto be = randn<shape<5>>(32);
    auto w = randn<shape<4, 5>>(33);
    auto b = randn<shape<4>>(34);
    TT_CHECK_GRADIENTS(
        [](cpu_tape&, auto a, auto c, auto d, auto e, auto f) { return fused::layer_norm_linear(a, c, d, 1e-6, e, f); },
        x, g, be, w, b);
}

// Values and gradients equal those of linear(layer_norm(x)), with the gradients written first or added
// to (x and W also feed a second term, recorded before or after), and with no gradient at all.
// Both ways of adding the bias: the column of ones (in <= 256) and the filled rows (in = 260).
template <std::size_t In>
void layer_norm_linear_against_the_separate_ops() {
    const auto x = randn<shape<dyn, 7, In>>(35, 5, 7, In);
    const auto g = randn<shape<In>>(36);
    const auto be = randn<shape<In>>(37);
    const auto w = randn<shape<9, In>>(38);
    const auto b = randn<shape<9>>(39);
    const auto weights = randn<shape<dyn, 7, 9>>(40, 5, 7, 9);
    for (const int other : {-1, 0, 1, 2}) {  // -1: nothing requires a gradient
        auto run = [&](bool fast) {
            tape<cpu> t;
            auto mk = [&](const auto& v) { return other < 0 ? input(t, v) : leaf(t, v); };
            auto xv = mk(x);
            auto gv = mk(g);
            auto bev = mk(be);
            auto wv = mk(w);
            auto bv = mk(b);
            auto second = [&] { return ops::add(ops::sum(ops::mul(xv, xv)), ops::sum(ops::mul(wv, wv))); };
            var<double, shape<>> before;
            if (other == 1) before = second();
            auto y = fast ? fused::layer_norm_linear(xv, gv, bev, 1e-6, wv, bv)
                          : fused::layer_norm_linear.reference(xv, gv, bev, 1e-6, wv, bv);
            std::vector<double> all(y.data(), y.data() + y.size());
            if (other >= 0) {
                auto loss = ops::sum(ops::mul(y, input(t, weights)));
                if (other == 1) loss = ops::add(loss, before);
                if (other == 2) loss = ops::add(loss, second());
                loss.backward();
                auto append = [&](const auto& v) { all.insert(all.end(), v.grad(), v.grad() + v.size()); };
                append(xv), append(gv), append(bev), append(wv), append(bv);
            }
            return all;
        };
        BOOST_TEST_CONTEXT("in " << In << ", other term " << other) {
            BOOST_TEST(max_abs_diff(run(true), run(false)) < 1e-11);
        }
    }
}

BOOST_AUTO_TEST_CASE(layer_norm_linear_equals_the_separate_ops) {
    layer_norm_linear_against_the_separate_ops<12>();
    layer_norm_linear_against_the_separate_ops<260>();
}

// mlp_residual equals layer_norm_linear + residual_gelu_linear: with nothing to differentiate at a size
// the CPU runs in row blocks (1 and 2 threads), and with gradients (the two ops themselves). Both CPU
// kernels are also run directly, whichever the op picks in this build: the blocks on [W1 | b1]
// (mlp_forward_blocked, where the weights fit in the L2) and on packed, streamed weights
// (mlp_forward_streamed: oneMKL's packed panels where the build has them, plain products elsewhere).
// D = 192, H = 768 in double: weights of 2.4 MB, over a 2 MiB L2.
template <std::size_t D, std::size_t H>
void mlp_residual_against_the_two_ops() {
    const auto x = randn<shape<dyn, 50, D>>(41, 12, 50, D);  // 600 rows: two blocks or more per thread
    const auto g = randn<shape<D>>(42);
    const auto be = randn<shape<D>>(43);
    auto w1 = randn<shape<H, D>>(44);
    const auto b1 = randn<shape<H>>(45);
    auto w2 = randn<shape<D, H>>(46);
    for (std::size_t i = 0; i < w1.size(); ++i) w1[i] /= std::sqrt(double(D));  // as initialised layers' scale
    for (std::size_t i = 0; i < w2.size(); ++i) w2[i] /= std::sqrt(double(H));
    const auto b2 = randn<shape<D>>(47);
    const auto weights = randn<shape<dyn, 50, D>>(48, 12, 50, D);
    std::vector<double> w1b(H * (D + 1));
    backends::weight_with_bias(cpu{}, w1.data(), b1.data(), H, D, w1b.data());
    const int threads_before = num_threads();
    for (const int threads : {1, 2}) {
        set_num_threads(threads);
        BOOST_TEST(backends::mlp_streamed(cpu{}, 600, D, H, sizeof(double)) == backends::cpu_packs_weights);
        for (const bool grads : {false, true}) {
            auto run = [&](bool fast) {
                tape<cpu> t;
                auto mk = [&](const auto& v) { return grads ? leaf(t, v) : input(t, v); };
                auto xv = mk(x);
                auto gv = mk(g);
                auto bev = mk(be);
                auto w1v = mk(w1);
                auto b1v = mk(b1);
                auto w2v = mk(w2);
                auto b2v = mk(b2);
                auto y = fast ? fused::mlp_residual(xv, gv, bev, 1e-6, w1v, b1v, w2v, b2v)
                              : fused::mlp_residual.reference(xv, gv, bev, 1e-6, w1v, b1v, w2v, b2v);
                std::vector<double> all(y.data(), y.data() + y.size());
                if (grads) {
                    ops::sum(ops::mul(y, input(t, weights))).backward();
                    auto append = [&](const auto& v) { all.insert(all.end(), v.grad(), v.grad() + v.size()); };
                    append(xv), append(gv), append(bev), append(w1v), append(b1v), append(w2v), append(b2v);
                }
                return all;
            };
            BOOST_TEST_CONTEXT("D " << D << ", threads " << threads << ", gradients " << grads) {
                const auto want = run(false);
                BOOST_TEST(max_abs_diff(run(true), want) < 1e-12);
                if (grads) continue;
                std::vector<double> got(want.size(), -1.0);
                const bool blocked = backends::mlp_forward_blocked(cpu{}, 600, D, H, 1e-6, x.data(), g.data(),
                                                                   be.data(), static_cast<const double*>(w1b.data()),
                                                                   w2.data(), b2.data(), got.data());
                BOOST_TEST(blocked == backends::mlp_blocked(cpu{}, 600, D, H, sizeof(double)));
                if (blocked) BOOST_TEST(max_abs_diff(got, want) < 1e-12);
                std::fill(got.begin(), got.end(), -1.0);
                BOOST_TEST(backends::mlp_forward_streamed(cpu{}, 600, D, H, 1e-6, x.data(), g.data(), be.data(),
                                                          w1.data(), b1.data(), w2.data(), b2.data(), got.data()));
                BOOST_TEST(max_abs_diff(got, want) < 1e-12);
            }
        }
    }
    set_num_threads(threads_before);
}

BOOST_AUTO_TEST_CASE(mlp_residual_equals_the_two_ops) {
    mlp_residual_against_the_two_ops<24, 96>();
    BOOST_TEST(backends::mlp_blocked(cpu{}, 600, 24, 96, sizeof(double)));  // the small one fits: both kernels ran
    mlp_residual_against_the_two_ops<192, 768>();
}

// The attention half on enough samples for the CPU's sample blocks (backend/cpu/fused/attention_half.hpp): 24
// samples of 50 tokens, width 24 in 3 heads; at one and two threads, with gradients (the three ops) and
// without (the blocks), the values and gradients of the three ops it stands for. In double to rounding,
// and in float (oneMKL's float kernels where the build has them) to float rounding.
BOOST_AUTO_TEST_CASE(attention_residual_equals_the_three_ops) {
    constexpr std::size_t D = 24, heads = 3, batch = 24, n = 50;
    const auto x = randn<shape<dyn, n, D>>(51, batch, n, D);
    const auto g = randn<shape<D>>(52);
    const auto be = randn<shape<D>>(53);
    auto wq = randn<shape<3 * D, D>>(54);
    const auto bq = randn<shape<3 * D>>(55);
    auto wp = randn<shape<D, D>>(56);
    for (std::size_t i = 0; i < wq.size(); ++i) wq[i] *= 0.2;  // about 1 / sqrt(D), as an initialised layer's
    for (std::size_t i = 0; i < wp.size(); ++i) wp[i] *= 0.2;
    const auto bp = randn<shape<D>>(57);
    const auto weights = randn<shape<dyn, n, D>>(58, batch, n, D);
    const double scale = 1 / std::sqrt(double(D / heads));
    auto run = [&]<class T>(bool fast, bool grads, T) {
        auto cast = [](const auto& v) {
            tensor<T, typename std::remove_cvref_t<decltype(v)>::shape_type> c(v.shape());
            for (std::size_t i = 0; i < v.size(); ++i) c[i] = T(v[i]);
            return c;
        };
        // (the tape's vars view these tensors' memory: they outlive it)
        const auto xc = cast(x), gc = cast(g), bec = cast(be), wqc = cast(wq), bqc = cast(bq), wpc = cast(wp),
                   bpc = cast(bp);
        const auto wc = cast(weights);
        tape<cpu> t;
        auto mk = [&](const auto& v) { return grads ? leaf(t, v) : input(t, v); };
        auto xv = mk(xc);
        auto gv = mk(gc);
        auto bev = mk(bec);
        auto wqv = mk(wqc);
        auto bqv = mk(bqc);
        auto wpv = mk(wpc);
        auto bpv = mk(bpc);
        auto y = fast ? fused::attention_residual(xv, gv, bev, T(1e-6), wqv, bqv, wpv, bpv, heads, T(scale))
                      : fused::attention_residual.reference(xv, gv, bev, T(1e-6), wqv, bqv, wpv, bpv, heads, T(scale));
        std::vector<double> all(y.data(), y.data() + y.size());
        if (grads) {
            ops::sum(ops::mul(y, input(t, wc))).backward();
            auto append = [&](const auto& v) { all.insert(all.end(), v.grad(), v.grad() + v.size()); };
            append(xv), append(gv), append(bev), append(wqv), append(bqv), append(wpv), append(bpv);
        }
        return all;
    };
    std::vector<double> wqb(3 * D * (D + 1));
    backends::weight_with_bias(cpu{}, wq.data(), bq.data(), 3 * D, D, wqb.data());
    const int threads_before = num_threads();
    for (const int threads : {1, 2}) {
        set_num_threads(threads);
        BOOST_TEST(
            backends::attention_half_blocked(cpu{}, batch, n, D, sizeof(double)));  // a blocked path is the one tested
        BOOST_TEST(backends::attention_half_blocked(cpu{}, batch, n, D, sizeof(float)));
        BOOST_TEST(backends::attention_half_streamed(cpu{}, batch, n, D, sizeof(double)) ==
                   backends::cpu_packs_weights);
        for (const bool grads : {false, true}) {
            BOOST_TEST_CONTEXT("threads " << threads << ", gradients " << grads) {
                const auto want = run(false, grads, 0.0);
                BOOST_TEST(max_abs_diff(run(true, grads, 0.0), want) < 1e-12);
                if (!grads) {  // relative to the largest value
                    double largest = 0;
                    for (double v : want) largest = std::max(largest, std::abs(v));
                    BOOST_TEST(max_abs_diff(run(true, false, 0.0f), want) < 2e-6 * largest);
                    // Both kernels directly, whichever the op picks in this build: on [Wqkv | bqkv] and on
                    // packed, streamed weights.
                    std::vector<double> got(want.size(), -1.0);
                    BOOST_TEST(backends::attention_half_forward_blocked(
                        cpu{}, batch, n, D, heads, scale, 1e-6, x.data(), g.data(), be.data(),
                        static_cast<const double*>(wqb.data()), wp.data(), bp.data(), got.data()));
                    BOOST_TEST(max_abs_diff(got, want) < 1e-12);
                    std::fill(got.begin(), got.end(), -1.0);
                    BOOST_TEST(backends::attention_half_forward_streamed(cpu{}, batch, n, D, heads, scale, 1e-6,
                                                                         x.data(), g.data(), be.data(), wq.data(),
                                                                         bq.data(), wp.data(), bp.data(), got.data()));
                    BOOST_TEST(max_abs_diff(got, want) < 1e-12);
                }
            }
        }
    }
    set_num_threads(threads_before);
}

BOOST_AUTO_TEST_CASE(residual_linear_reports_a_residual_of_the_wrong_shape) {
    tape<cpu> t;
    auto x = input(t, randn<shape<dyn, 3, 5>>(14, 2, 3, 5));
    auto w = input(t, randn<shape<6, 5>>(15));
    auto b = input(t, randn<shape<6>>(16));
    auto r = input(t, randn<shape<dyn, 3, 6>>(17, 3, 3, 6));  // batch 3, the branch has 2
    BOOST_CHECK_EXCEPTION((void)fused::residual_linear(x, w, b, r), tinymim::error, [](const tinymim::error& e) {
        return std::string(e.what()).find("residual") != std::string::npos;
    });
}

BOOST_AUTO_TEST_CASE(attention_without_kept_probabilities) {
    auto x = randn<shape<dyn, 7, 36>>(18, 3, 7, 36);  // width 12, 3 heads of 4
    TT_CHECK_GRADIENTS([](cpu_tape&, auto a) { return fused::attention_qkv_out(a, 3, 0.5); }, x);
    // The same output and qkv gradient as attention_qkv's (which keeps the probabilities).
    const auto wo = randn<shape<dyn, 7, 12>>(19, 3, 7, 12);
    auto run = [&](bool keep) {
        tape<cpu> t;
        auto v = leaf(t, x);
        auto out = keep ? fused::attention_qkv(v, 3, 0.5).out : fused::attention_qkv_out(v, 3, 0.5);
        ops::sum(ops::mul(out, input(t, wo))).backward();
        std::vector<double> all(out.data(), out.data() + out.size());
        all.insert(all.end(), v.grad(), v.grad() + v.size());
        return all;
    };
    BOOST_TEST(max_abs_diff(run(true), run(false)) < 1e-12);
}

BOOST_AUTO_TEST_SUITE_END()
