// The CPU GEMM (backend/cpu/blas/gemm.hpp) against a plain triple loop in double, through whichever BLAS the
// build links: its thread split (by rows of C, or over the inner dimension of a transposed A with
// per-thread partials), the small products attention makes, the fixed-shape kernels (small_gemm) and the
// packed weights of the frozen blocks (packed_weight), for every transpose pair (packed_weight: A · Wᵀ),
// beta 0 / 1 / other, padded leading dimensions and odd sizes.
#include <boost/test/unit_test.hpp>

#include <cmath>
#include <cstddef>
#include <limits>
#include <vector>

#include "tinymim/backend/cpu/blas/gemm.hpp"
#include "tinymim/backend/cpu/blas/packed_weight.hpp"
#include "tinymim/backend/cpu/blas/small_gemm.hpp"

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
// (with beta 0 it must not be read). Through gemm, or backends::small_gemm (oneMKL's JIT kernel for the
// shape, where the build has oneMKL), or backends::packed_weight (oneMKL's packed panels; for A · Wᵀ or
// A · W with alpha 1 and W's rows unpadded, as the linear layers keep their weights).
enum class through { gemm, fixed, packed };
double check_product(const case_t& c, float alpha, bool nan_c, through via = through::gemm) {
    const std::size_t ar = c.ta ? c.k : c.m, ac = c.ta ? c.m : c.k;
    const std::size_t br = c.tb ? c.n : c.k, bc = c.tb ? c.k : c.n;
    const std::size_t lda = ac + 3, ldb = via == through::packed ? bc : bc + 2, ldc = c.n + 5;  // padded rows
    std::vector<float> a(ar * lda), b(br * ldb), c0(c.m * ldc);
    for (std::size_t i = 0; i < a.size(); ++i) a[i] = float(std::sin(0.37 * double(i)));
    for (std::size_t i = 0; i < b.size(); ++i) b[i] = float(std::cos(0.11 * double(i)));
    for (std::size_t i = 0; i < c0.size(); ++i)
        c0[i] =
            nan_c && i % ldc < c.n ? std::numeric_limits<float>::quiet_NaN() : float(std::sin(0.05 * double(i) + 1));
    std::vector<double> want(c0.begin(), c0.end());
    reference(c, alpha, a, lda, b, ldb, want, ldc);
    std::vector<float> got = c0;
    if (via == through::fixed)
        backends::small_gemm<float>(c.ta, c.tb, c.m, c.n, c.k, alpha, lda, ldb, c.beta, ldc)(a.data(), b.data(),
                                                                                             got.data());
    else if (via == through::packed)  // (packed for more rows than this product has: blocks end short)
        backends::packed_weight<float, backends::cpu_detail::scratch::packed_first>(b.data(), c.n, c.k, c.m + 7, c.tb)(
            c.m, a.data(), lda, c.beta, got.data(), ldc);
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
        {false, true, 1001, 37, 19, 1.0f},  // forward onto a bias: split by rows
        {false, false, 999, 23, 41, 0.0f},  // input gradient: split by rows
        {true, false, 29, 17, 1003, 0.0f},  // weight gradient: split over the inner dimension
        {true, true, 13, 31, 777, 0.5f},    // both transposed, beta other than 0 / 1
        {true, false, 7, 9, 300, 1.0f},     // accumulating into an existing gradient
        {false, true, 100, 5, 3, 0.0f},     // too few rows to split: the plain call
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
        const double worst =
            check_product({m % 2 == 1, false, m, 7 + m % 5, 3 + m % 11, m % 3 == 0 ? 1.0f : 0.0f}, 1.5f, false);
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
                    const double worst = check_product({ta, tb, 50, 16, 50, beta}, 0.25f, beta == 0.0f, through::fixed);
                    BOOST_TEST(worst < 1e-4, "ta " << ta << " tb " << tb << " beta " << beta << ": worst " << worst);
                }
        for (std::size_t m = 1; m <= 40; m += 3) {
            const double worst =
                check_product({m % 2 == 0, m % 3 == 0, m, 5 + m % 7, 2 + m % 13, 0.0f}, 1.5f, false, through::fixed);
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

// Packed weights (backends::packed_weight) on A · Wᵀ and A · W: beta 0 (a NaN C is not read) and 1, odd
// shapes and vit-small's qkv product, each packed twice (the second time into the buffer the first left).
BOOST_AUTO_TEST_CASE(packed_weights_match_the_reference) {
    for (int round = 0; round < 2; ++round)
        for (bool tw : {true, false}) {
            for (float beta : {0.0f, 1.0f}) {
                const double worst =
                    check_product({false, tw, 197, 1152, 384, beta}, 1.0f, beta == 0.0f, through::packed);
                BOOST_TEST(worst < 1e-4, "transposed " << tw << ", beta " << beta << ": worst " << worst);
            }
            for (std::size_t m = 1; m <= 40; m += 3) {
                const double worst =
                    check_product({false, tw, m, 5 + m % 7, 2 + m % 13, 0.0f}, 1.0f, false, through::packed);
                BOOST_TEST(worst < 1e-4, "transposed " << tw << ", m " << m << ": worst " << worst);
            }
        }
}

// One packed weight used from every thread at once, on blocks of different heights, each thread writing
// its own rows of C (as the frozen blocks use it), in double.
BOOST_AUTO_TEST_CASE(a_packed_weight_runs_on_many_threads) {
    constexpr std::size_t n = 70, k = 45, block = 33, blocks = 16;
    std::vector<double> a(blocks * block * k), w(n * k), c(blocks * block * n, -1.0);
    for (std::size_t i = 0; i < a.size(); ++i) a[i] = std::sin(0.3 * double(i));
    for (std::size_t i = 0; i < w.size(); ++i) w[i] = std::cos(0.7 * double(i));
    const backends::packed_weight<double, backends::cpu_detail::scratch::packed_second> product(w.data(), n, k, block);
    const int before = num_threads();
    set_num_threads(2);
#pragma omp parallel for schedule(dynamic)
    for (std::ptrdiff_t i = 0; i < std::ptrdiff_t(blocks); ++i) {
        const std::size_t rows = block - std::size_t(i) % 5;  // some blocks end short
        product(rows, a.data() + std::size_t(i) * block * k, k, 0.0, c.data() + std::size_t(i) * block * n, n);
    }
    set_num_threads(before);
    double worst = 0;
    for (std::size_t i = 0; i < blocks; ++i)
        for (std::size_t r = 0; r < block; ++r)
            for (std::size_t j = 0; j < n; ++j) {
                const double got = c[(i * block + r) * n + j];
                if (r >= block - i % 5) {  // rows past the block's end: untouched
                    BOOST_TEST(got == -1.0);
                    continue;
                }
                double s = 0;
                for (std::size_t p = 0; p < k; ++p) s += a[(i * block + r) * k + p] * w[j * k + p];
                worst = std::max(worst, std::abs(got - s));
            }
    BOOST_TEST(worst < 1e-12);
}

BOOST_AUTO_TEST_SUITE_END()
