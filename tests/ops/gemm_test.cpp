// The CPU GEMM's thread split (backend/cpu/gemm.hpp): by rows of C, or over the inner dimension of a
// transposed A with per-thread partials, must give what one BLAS call and a plain triple loop give, for
// every transpose pair, beta 0 / 1 / other, padded leading dimensions and odd sizes.
#include <boost/test/unit_test.hpp>

#include <cmath>
#include <cstddef>
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
            out[i * ldc + j] = alpha * s + c.beta * out[i * ldc + j];
        }
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
        const std::size_t ar = c.ta ? c.k : c.m, ac = c.ta ? c.m : c.k;
        const std::size_t br = c.tb ? c.n : c.k, bc = c.tb ? c.k : c.n;
        const std::size_t lda = ac + 3, ldb = bc + 2, ldc = c.n + 5;  // padded rows
        std::vector<float> a(ar * lda), b(br * ldb), c0(c.m * ldc);
        for (std::size_t i = 0; i < a.size(); ++i) a[i] = float(std::sin(0.37 * double(i)));
        for (std::size_t i = 0; i < b.size(); ++i) b[i] = float(std::cos(0.11 * double(i)));
        for (std::size_t i = 0; i < c0.size(); ++i) c0[i] = float(std::sin(0.05 * double(i) + 1));
        std::vector<double> want(c0.begin(), c0.end());
        reference(c, alpha, a, lda, b, ldb, want, ldc);
        for (int threads : {1, 2, 3}) {
            set_num_threads(threads);
            std::vector<float> got = c0;
            backends::gemm(cpu{}, c.ta, c.tb, c.m, c.n, c.k, alpha, a.data(), lda, b.data(), ldb, c.beta, got.data(),
                           ldc);
            double worst = 0;
            for (std::size_t i = 0; i < c.m; ++i)
                for (std::size_t j = 0; j < ldc; ++j) {
                    const std::size_t at = i * ldc + j;
                    // Inside the product: close to the reference; in the padding: untouched.
                    if (j < c.n)
                        worst = std::max(worst, std::abs(double(got[at]) - want[at]) / (1 + std::abs(want[at])));
                    else
                        BOOST_TEST(got[at] == c0[at]);
                }
            BOOST_TEST(worst < 1e-4, "ta " << c.ta << " tb " << c.tb << " m " << c.m << " n " << c.n << " k " << c.k
                                           << " beta " << c.beta << " threads " << threads << ": worst " << worst);
        }
    }
    set_num_threads(2);
}

BOOST_AUTO_TEST_SUITE_END()
