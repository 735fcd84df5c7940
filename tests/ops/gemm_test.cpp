// The CPU GEMM (backend/cpu/gemm.hpp) against a plain triple loop in double, through whichever BLAS the
// build links: its thread split (by rows of C, or over the inner dimension of a transposed A with
// per-thread partials), the small products attention makes and the fixed-shape kernels (small_gemm), for
// every transpose pair, beta 0 / 1 / other, padded leading dimensions and odd sizes.
#include <boost/test/unit_test.hpp>

#include <cmath>
#include <cstddef>
#include <limits>
#include <vector>

#include "tinymim/backend/cpu/gemm.hpp"

using namespace tinymim;

namespace {
struct case_t {
    bool ta, tb;
    std::size_t m, n, k;
    float beta;
};

// C = alpha op(A) op(B) + beta C in double, on the same padded row-major storage.
void reference(const case_t& c, float alpha, const std::vector<float>& a, std::size_t lda, const std::vector<float>& b,
               std::size_t ldb, std::vector<double>& out, std::size_t ldc) {
    for (std::size_t i = 0; i < c.m; ++i)
        for (std::size_t j = 0; j < c.n; ++j) {
            double s = 0;
            for (std::size_t p = 0; p < c.k; ++p) {
                const double x = c.ta ? a[p * lda + i] : a[i * lda + p];
                const double y = c.tb ? b[j * ldb + p] : b[p * ldb + j];
                s += x * y;
            }
            // beta 0 means C is not read (it may hold anything, NaN included), as in BLAS.
            out[i * ldc + j] = alpha * s + (c.beta == 0 ? 0.0 : c.beta * out[i * ldc + j]);
        }
}

// Runs the GEMM of case `c` on padded operands filled deterministically and checks the product against the
// reference and the padding for being untouched; returns the worst relative error. nan_c: C starts as NaN
// (with beta 0 it must not be read). fixed: through backends::small_gemm (oneMKL's JIT kernel for the shape,
// where the build has oneMKL) rather than gemm.
double check_product(const case_t& c, float alpha, bool nan_c, bool fixed = false) {
    const std::size_t ar = c.ta ? c.k : c.m, ac = c.ta ? c.m : c.k;
    const std::size_t br = c.tb ? c.n : c.k, bc = c.tb ? c.k : c.n;
    const std::size_t lda = ac + 3, ldb = bc + 2, ldc = c.n + 5;  // padded rows
    std::vector<float> a(ar * lda), b(br * ldb), c0(c.m * ldc);
    for (std::size_t i = 0; i < a.size(); ++i) a[i] = float(std::sin(0.37 * double(i)));
    for (std::size_t i = 0; i < b.size(); ++i) b[i] = float(std::cos(0.11 * double(i)));
    for (std::size_t i = 0; i < c0.size(); ++i)
        c0[i] = nan_c && i % ldc < c.n ? std::numeric_limits<float>::quiet_NaN() : float(std::sin(0.05 * double(i) + 1));
    std::vector<double> want(c0.begin(), c0.end());
    reference(c, alpha, a, lda, b, ldb, want, ldc);
    std::vector<float> got = c0;
    if (fixed)
        backends::small_gemm<float>(c.ta, c.tb, c.m, c.n, c.k, alpha, lda, ldb, c.beta, ldc)(a.data(), b.data(), got.data());
    else
        backends::gemm(cpu{}, c.ta, c.tb, c.m, c.n, c.k, alpha, a.data(), lda, b.data(), ldb, c.beta, got.data(), ldc);
    double worst = 0;
    for (std::size_t i = 0; i < c.m; ++i)
        for (std::size_t j = 0; j < ldc; ++j) {
            const std::size_t at = i * ldc + j;
            // Inside the product: close to the reference (NaN fails); in the padding: untouched.
            if (j < c.n) {
                const double e = std::abs(double(got[at]) - want[at]) / (1 + std::abs(want[at]));
                worst = std::isnan(e) ? std::numeric_limits<double>::infinity() : std::max(worst, e);
            } else {
                BOOST_TEST(got[at] == c0[at]);
            }
        }
    return worst;
}
}  // namespace

BOOST_AUTO_TEST_SUITE(gemm_split)

BOOST_AUTO_TEST_CASE(split_products_match_the_reference) {
    const case_t cases[] = {
        {false, true, 1001, 37, 19, 1.0f},   // forward onto a bias: split by rows
        {false, false, 999, 23, 41, 0.0f},   // input gradient: split by rows
        {true, false, 29, 17, 1003, 0.0f},   // weight gradient: split over the inner dimension
        {true, true, 13, 31, 777, 0.5f},     // both transposed, beta other than 0 / 1
        {true, false, 7, 9, 300, 1.0f},      // accumulating into an existing gradient
        {false, true, 100, 5, 3, 0.0f},      // too few rows to split: the plain call
    };
    const float alpha = 0.75f;
    for (const auto& c : cases) {
        for (int threads : {1, 2, 3}) {
            set_num_threads(threads);
            const double worst = check_product(c, alpha, false);
            BOOST_TEST(worst < 1e-4, "ta " << c.ta << " tb " << c.tb << " m " << c.m << " n " << c.n << " k " << c.k
                                           << " beta " << c.beta << " threads " << threads << ": worst " << worst);
        }
    }
    set_num_threads(2);
}

// Attention's per-head products and their like: every transpose pair, beta and two alphas, C holding
// NaN under beta 0 (the library relies on beta 0 not reading fresh arena memory), and a sweep of odd
// small shapes.
BOOST_AUTO_TEST_CASE(small_products_match_the_reference) {
    set_num_threads(2);
    for (bool ta : {false, true})
        for (bool tb : {false, true})
            for (float beta : {0.0f, 1.0f, 0.5f})
                for (float alpha : {1.0f, 0.17677f}) {
                    const case_t c{ta, tb, 50, 32, 50, beta};
                    const double worst = check_product(c, alpha, false);
                    BOOST_TEST(worst < 1e-4, "ta " << ta << " tb " << tb << " beta " << beta << " alpha " << alpha
                                                   << ": worst " << worst);
                }
    for (bool tb : {false, true}) {
        const double worst = check_product({false, tb, 50, 50, 32, 0.0f}, 0.5f, true);
        BOOST_TEST(worst < 1e-4, "beta 0 read a NaN C (tb " << tb << "): worst " << worst);
    }
    for (std::size_t m = 1; m <= 80; ++m) {
        const double worst = check_product({m % 2 == 1, false, m, 7 + m % 5, 3 + m % 11, m % 3 == 0 ? 1.0f : 0.0f}, 1.5f,
                                           false);
        BOOST_TEST(worst < 1e-4, "m " << m << ": worst " << worst);
    }
}

// The fixed-shape kernels (backends::small_gemm) on the same cases: every transpose pair, beta 0 / 1 /
// other, a NaN C under beta 0, odd shapes, each shape made twice (the second from the cache).
BOOST_AUTO_TEST_CASE(fixed_shape_kernels_match_the_reference) {
    for (int round = 0; round < 2; ++round) {
        for (bool ta : {false, true})
            for (bool tb : {false, true})
                for (float beta : {0.0f, 1.0f, 0.5f}) {
                    const double worst = check_product({ta, tb, 50, 16, 50, beta}, 0.25f, beta == 0.0f, true);
                    BOOST_TEST(worst < 1e-4, "ta " << ta << " tb " << tb << " beta " << beta << ": worst " << worst);
                }
        for (std::size_t m = 1; m <= 40; m += 3) {
            const double worst = check_product({m % 2 == 0, m % 3 == 0, m, 5 + m % 7, 2 + m % 13, 0.0f}, 1.5f, false, true);
            BOOST_TEST(worst < 1e-4, "m " << m << ": worst " << worst);
        }
    }
}

// One kernel called from every thread at once, each on its own C (as attention calls it).
BOOST_AUTO_TEST_CASE(a_fixed_shape_kernel_runs_on_many_threads) {
    constexpr std::size_t n = 24, k = 20, count = 64;
    std::vector<float> a(count * n * k), b(k * n), c(count * n * n, -1.0f);
    for (std::size_t i = 0; i < a.size(); ++i) a[i] = float(std::sin(0.3 * double(i)));
    for (std::size_t i = 0; i < b.size(); ++i) b[i] = float(std::cos(0.7 * double(i)));
    const backends::small_gemm<float> product(false, false, n, n, k, 1.0f, k, n, 0.0f, n);
    set_num_threads(2);
#pragma omp parallel for schedule(dynamic)
    for (std::ptrdiff_t i = 0; i < std::ptrdiff_t(count); ++i)
        product(a.data() + std::size_t(i) * n * k, b.data(), c.data() + std::size_t(i) * n * n);
    double worst = 0;
    for (std::size_t i = 0; i < count; ++i)
        for (std::size_t r = 0; r < n; ++r)
            for (std::size_t j = 0; j < n; ++j) {
                double s = 0;
                for (std::size_t p = 0; p < k; ++p) s += double(a[i * n * k + r * k + p]) * double(b[p * n + j]);
                worst = std::max(worst, std::abs(double(c[i * n * n + r * n + j]) - s));
            }
    BOOST_TEST(worst < 1e-4);
}

BOOST_AUTO_TEST_SUITE_END()
