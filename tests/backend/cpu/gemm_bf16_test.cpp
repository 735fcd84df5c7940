// The CPU's bf16 GEMM (backend/cpu/blas/gemm_bf16.hpp) against a triple loop in double over the same bf16
// values, for every transpose pair, alpha and beta, strided operands, and the linear layers' tall shapes.
//
// Tolerance: the operands are bf16, so every product a·b is exact in float (8 + 8 significant bits) and in
// double; the only rounding is the float accumulation of k products and the final scaling, which the
// classic bound puts at |C - C_exact| <= gamma_{k+2} · (|alpha| Σ|a||b| + |beta C|), gamma_n = n·2^-24 / (1 -
// n·2^-24). The test allows exactly that, per entry.
#include <boost/test/unit_test.hpp>

#include <cmath>
#include <cstddef>
#include <vector>

#include "tinymim/backend/cpu/blas/gemm_bf16.hpp"
#include "tinymim/core/random.hpp"

using namespace tinymim;

namespace {
struct gemm_case {
    bool ta, tb;
    std::size_t m, n, k;
    float alpha, beta;
};

std::vector<bf16> random_bf16(std::size_t count, std::uint64_t seed) {
    std::vector<bf16> v(count);
    counter_rng r(seed);
    for (std::size_t i = 0; i < count; ++i) v[i] = bf16(float(r.normal(i)));
    return v;
}

// The worst entry of |got - exact| / bound over C, and whether every entry of C was written.
double worst_over_bound(const gemm_case& c, std::size_t pad) {
    const std::size_t lda = (c.ta ? c.m : c.k) + pad, ldb = (c.tb ? c.k : c.n) + pad, ldc = c.n + pad;
    const std::size_t a_rows = c.ta ? c.k : c.m, b_rows = c.tb ? c.n : c.k;
    const auto a = random_bf16(a_rows * lda, 1 + c.m), b = random_bf16(b_rows * ldb, 2 + c.n);
    std::vector<float> got(c.m * ldc);
    counter_rng r(3);
    for (std::size_t i = 0; i < got.size(); ++i) got[i] = float(bf16(float(r.normal(i))));
    const std::vector<float> before = got;
    backends::gemm_bf16(cpu{}, c.ta, c.tb, c.m, c.n, c.k, c.alpha, a.data(), lda, b.data(), ldb, c.beta, got.data(),
                        ldc);
    auto at = [&](std::size_t i, std::size_t p) { return double(float(c.ta ? a[p * lda + i] : a[i * lda + p])); };
    auto bt = [&](std::size_t p, std::size_t j) { return double(float(c.tb ? b[j * ldb + p] : b[p * ldb + j])); };
    const double u = std::ldexp(1.0, -24), n_ops = double(c.k + 2), gamma = n_ops * u / (1 - n_ops * u);
    double worst = 0;
    for (std::size_t i = 0; i < c.m; ++i) {
        for (std::size_t j = 0; j < c.n; ++j) {
            double exact = 0, magnitude = 0;
            for (std::size_t p = 0; p < c.k; ++p) {
                exact += at(i, p) * bt(p, j);
                magnitude += std::abs(at(i, p) * bt(p, j));
            }
            const double old = before[i * ldc + j];
            exact = double(c.alpha) * exact + (c.beta == 0 ? 0.0 : double(c.beta) * old);
            const double bound =
                gamma * (std::abs(double(c.alpha)) * magnitude + std::abs(double(c.beta) * old)) + 1e-30;
            worst = std::max(worst, std::abs(double(got[i * ldc + j]) - exact) / bound);
        }
        for (std::size_t j = c.n; j < ldc; ++j)  // the padding between rows of C is not C's: untouched
            BOOST_TEST_REQUIRE(got[i * ldc + j] == before[i * ldc + j]);
    }
    return worst;
}
}  // namespace

BOOST_AUTO_TEST_SUITE(gemm_bf16)

BOOST_AUTO_TEST_CASE(every_transpose_pair_alpha_and_beta_within_the_float_accumulation_bound) {
    BOOST_TEST_MESSAGE("bf16 GEMM path: " << backends::cpu_bf16_gemm_path());
    for (const bool ta : {false, true})
        for (const bool tb : {false, true})
            for (const float beta : {0.0f, 1.0f, -0.5f})
                for (const std::size_t pad : {std::size_t(0), std::size_t(3)}) {
                    const gemm_case c{ta, tb, 37, 29, 53, 0.75f, beta};
                    BOOST_TEST_CONTEXT("ta " << ta << ", tb " << tb << ", beta " << beta << ", pad " << pad) {
                        BOOST_TEST(worst_over_bound(c, pad) <= 1.0);
                    }
                }
}

BOOST_AUTO_TEST_CASE(the_linear_layers_shapes) {
    // A linear layer's forward (x · Wᵀ), its input gradient (dy · W) and weight gradient (dyᵀ · x), tall
    // enough for the float GEMM's own thread split on the widened operands.
    const gemm_case cases[] = {{false, true, 600, 96, 192, 1.0f, 0.0f},
                               {false, false, 600, 192, 96, 1.0f, 1.0f},
                               {true, false, 96, 192, 600, 1.0f, 0.0f}};
    for (const auto& c : cases) BOOST_TEST_CONTEXT("m " << c.m << ", n " << c.n << ", k " << c.k) {
            BOOST_TEST(worst_over_bound(c, 0) <= 1.0);
        }
}

// The widened path runs the inner dimension in panels when the operands exceed its budget: several panels must
// still meet the bound, with beta applied once.
BOOST_AUTO_TEST_CASE(the_widened_path_in_several_panels) {
    const std::size_t budget = backends::cpu_detail::widened_budget_floats;
    backends::cpu_detail::widened_budget_floats = 64 * (37 + 29);  // k = 150 in 3 panels of at most 64: 50 each
    for (const bool ta : {false, true})
        for (const bool tb : {false, true})
            for (const float beta : {0.0f, -0.5f}) {
                const gemm_case c{ta, tb, 37, 29, 150, 0.75f, beta};
                BOOST_TEST_CONTEXT("ta " << ta << ", tb " << tb << ", beta " << beta) {
                    BOOST_TEST(worst_over_bound(c, 3) <= 1.0);
                }
            }
    backends::cpu_detail::widened_budget_floats = budget;
}

BOOST_AUTO_TEST_CASE(an_empty_inner_dimension_scales_c_by_beta) {
    std::vector<float> c = {1.0f, 2.0f, 3.0f, 4.0f};
    const bf16 none{};
    backends::gemm_bf16(cpu{}, false, false, 2, 2, 0, 1.0f, &none, 1, &none, 2, 0.5f, c.data(), 2);
    BOOST_TEST(c == (std::vector<float>{0.5f, 1.0f, 1.5f, 2.0f}), boost::test_tools::per_element());
    backends::gemm_bf16(cpu{}, false, false, 2, 2, 0, 1.0f, &none, 1, &none, 2, 0.0f, c.data(), 2);
    BOOST_TEST(c == (std::vector<float>(4, 0.0f)), boost::test_tools::per_element());
}

BOOST_AUTO_TEST_SUITE_END()
