// The CPU row kernels (backend/cpu/kernels/rows.hpp) in float against double precision.
// Softmax rows: every row length around the packet width (the tail goes through a masked load), a row
// that starts anywhere (the rows of an attention block are contiguous and run in place), alphas of both
// signs, and inputs far from zero (a row of large negative scores must not underflow to 0 / 0).
// Layer norm's backward and the column sums of a broadcast operand's gradient (reduce_rows_acc): at sizes
// that run in parallel, at one and two threads (their sums over rows go by ranges of rows, the same
// ranges whatever the thread count).
#include <boost/test/unit_test.hpp>

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <vector>

#include "tinymim/backend/cpu/cpu.hpp"
#include "tinymim/backend/cpu/kernels/elementwise.hpp"
#include "tinymim/backend/cpu/kernels/rows.hpp"

using namespace tinymim;

namespace {
std::vector<double> softmax_ref(const float* x, std::size_t n, double alpha) {
    std::vector<double> y(n);
    double m = -INFINITY, s = 0;
    for (std::size_t j = 0; j < n; ++j) m = std::max(m, alpha * double(x[j]));
    for (std::size_t j = 0; j < n; ++j) s += y[j] = std::exp(alpha * double(x[j]) - m);
    for (auto& v : y) v /= s;
    return y;
}

// Deterministic values in [lo, hi).
std::vector<float> values(std::size_t count, float lo, float hi, unsigned seed) {
    std::vector<float> v(count);
    for (auto& x : v) {
        seed = seed * 1664525u + 1013904223u;
        x = lo + (hi - lo) * float(seed >> 8) / float(1u << 24);
    }
    return v;
}

const std::vector<std::size_t> lengths = {1, 2, 3, 7, 8, 9, 15, 16, 17, 31, 32, 33, 49, 50, 64, 65, 197};
}  // namespace

BOOST_AUTO_TEST_SUITE(row_kernels)

BOOST_AUTO_TEST_CASE(forward_matches_double_for_every_tail) {
    for (const float alpha : {1.0f, 0.125f, -0.5f})
        for (const auto& [lo, hi] : {std::pair{-4.0f, 4.0f}, std::pair{-900.0f, -700.0f}, std::pair{50.0f, 80.0f}})
            for (const std::size_t n : lengths) {
                const std::size_t rows = 3, off = 5;  // rows back to back, starting off an alignment boundary
                auto buf = values(off + rows * n + 16, lo, hi, unsigned(n * 131 + 7));
                const auto x = buf;
                float* y = buf.data() + off;
                for (std::size_t r = 0; r < rows; ++r)  // in place, as attention runs it
                    backends::cpu_detail::softmax_row(n, alpha, y + r * n, y + r * n);
                double worst = 0;
                for (std::size_t r = 0; r < rows; ++r) {
                    const auto ref = softmax_ref(x.data() + off + r * n, n, alpha);
                    double sum = 0;
                    for (std::size_t j = 0; j < n; ++j) {
                        BOOST_REQUIRE_MESSAGE(std::isfinite(y[r * n + j]), "n " << n << " alpha " << alpha << " range ["
                                                                                << lo << ", " << hi << "): value " << j
                                                                                << " is " << y[r * n + j]);
                        worst = std::max(worst, std::abs(double(y[r * n + j]) - ref[j]));
                        sum += y[r * n + j];
                    }
                    BOOST_CHECK_CLOSE(sum, 1.0, 1e-4);
                }
                BOOST_CHECK_MESSAGE(worst < 2e-6, "n " << n << " alpha " << alpha << " range [" << lo << ", " << hi
                                                       << "): worst error " << worst);
                // Nothing outside the rows was written.
                for (std::size_t j = 0; j < off; ++j) BOOST_REQUIRE_EQUAL(buf[j], x[j]);
                for (std::size_t j = off + rows * n; j < buf.size(); ++j) BOOST_REQUIRE_EQUAL(buf[j], x[j]);
            }
}

BOOST_AUTO_TEST_CASE(backward_matches_double_for_every_tail) {
    for (const std::size_t n : lengths) {
        const std::size_t rows = 3, off = 3;
        const auto logits = values(rows * n, -3.0f, 3.0f, unsigned(n + 1));
        std::vector<float> y(rows * n);
        for (std::size_t r = 0; r < rows; ++r)
            backends::cpu_detail::softmax_row(n, 1.0f, logits.data() + r * n, y.data() + r * n);
        auto buf = values(off + rows * n + 16, -1.0f, 1.0f, unsigned(n * 7 + 3));
        const auto g0 = buf;
        float* g = buf.data() + off;
        for (std::size_t r = 0; r < rows; ++r)
            backends::cpu_detail::softmax_row_backward_inplace(n, y.data() + r * n, g + r * n);
        double worst = 0;
        for (std::size_t r = 0; r < rows; ++r) {
            double dot = 0;
            for (std::size_t j = 0; j < n; ++j) dot += double(y[r * n + j]) * double(g0[off + r * n + j]);
            for (std::size_t j = 0; j < n; ++j) {
                const double ref = double(y[r * n + j]) * (double(g0[off + r * n + j]) - dot);
                worst = std::max(worst, std::abs(double(g[r * n + j]) - ref));
            }
        }
        BOOST_CHECK_MESSAGE(worst < 1e-6, "n " << n << ": worst error " << worst);
        for (std::size_t j = 0; j < off; ++j) BOOST_REQUIRE_EQUAL(buf[j], g0[j]);
        for (std::size_t j = off + rows * n; j < buf.size(); ++j) BOOST_REQUIRE_EQUAL(buf[j], g0[j]);
    }
}

BOOST_AUTO_TEST_CASE(layer_norm_backward_matches_double_in_parallel) {
    const std::size_t rows = 1000, n = 96;
    const auto x = values(rows * n, -2.0f, 3.0f, 11), dy = values(rows * n, -1.0f, 1.0f, 12);
    const auto gamma = values(n, 0.5f, 1.5f, 13);
    std::vector<float> mean(rows), rstd(rows);
    std::vector<double> ref_dx(rows * n), ref_dg(n, 0.0), ref_db(n, 0.0);
    for (std::size_t r = 0; r < rows; ++r) {
        double m = 0, v = 0;
        for (std::size_t j = 0; j < n; ++j) m += x[r * n + j];
        m /= double(n);
        for (std::size_t j = 0; j < n; ++j) v += (x[r * n + j] - m) * (x[r * n + j] - m);
        const double rs = 1.0 / std::sqrt(v / double(n) + 1e-6);
        mean[r] = float(m), rstd[r] = float(rs);
        double mg = 0, mgx = 0;
        for (std::size_t j = 0; j < n; ++j) {
            const double g = double(dy[r * n + j]) * gamma[j],
                         xhat = (x[r * n + j] - double(mean[r])) * double(rstd[r]);
            mg += g / double(n), mgx += g * xhat / double(n);
            ref_dg[j] += double(dy[r * n + j]) * xhat, ref_db[j] += dy[r * n + j];
        }
        for (std::size_t j = 0; j < n; ++j) {
            const double g = double(dy[r * n + j]) * gamma[j],
                         xhat = (x[r * n + j] - double(mean[r])) * double(rstd[r]);
            ref_dx[r * n + j] = 0.25 + double(rstd[r]) * (g - mg - xhat * mgx);  // added to a dx of 0.25
        }
    }
    const int threads_before = tinymim::num_threads();
    std::vector<float> first_dg;
    for (const int threads : {1, 2}) {
        tinymim::set_num_threads(threads);
        std::vector<float> dx(rows * n, 0.25f), dg(n, 0.0f), db(n, 0.0f);
        backends::layer_norm_backward(cpu{}, rows, n, x.data(), gamma.data(), mean.data(), rstd.data(), dy.data(),
                                      dx.data(), dg.data(), db.data());
        double ex = 0, eg = 0, eb = 0;
        for (std::size_t i = 0; i < dx.size(); ++i) ex = std::max(ex, std::abs(dx[i] - ref_dx[i]));
        for (std::size_t j = 0; j < n; ++j) {
            eg = std::max(eg, std::abs(dg[j] - ref_dg[j]) / (1 + std::abs(ref_dg[j])));
            eb = std::max(eb, std::abs(db[j] - ref_db[j]) / (1 + std::abs(ref_db[j])));
        }
        BOOST_TEST_CONTEXT("threads " << threads) {
            BOOST_TEST(ex < 1e-5);
            BOOST_TEST(eg < 1e-4);  // sums over 1 000 rows in float
            BOOST_TEST(eb < 1e-4);
        }
        if (first_dg.empty())
            first_dg = dg;
        else
            BOOST_TEST(dg == first_dg, "dgamma depends on the thread count");
    }
    tinymim::set_num_threads(threads_before);
}

BOOST_AUTO_TEST_CASE(column_sums_match_double_in_parallel) {
    for (const std::size_t m : {1ul, 96ul, 97ul, 288ul}) {
        const std::size_t rows = 70000 / m + 3;
        const auto src = values(rows * m, -1.0f, 1.0f, unsigned(m)), w = values(rows * m, 0.0f, 2.0f, unsigned(m + 1));
        for (const bool weighted : {false, true}) {
            std::vector<double> ref(m, 0.5);
            for (std::size_t r = 0; r < rows; ++r)
                for (std::size_t j = 0; j < m; ++j) ref[j] += -2.0 * src[r * m + j] * (weighted ? w[r * m + j] : 1.0f);
            const int threads_before = tinymim::num_threads();
            std::vector<float> first;
            for (const int threads : {1, 2}) {
                tinymim::set_num_threads(threads);
                std::vector<float> dst(m, 0.5f);
                backends::reduce_rows_acc(cpu{}, rows * m, m, -2.0f, src.data(), weighted ? w.data() : nullptr,
                                          dst.data());
                double worst = 0;
                for (std::size_t j = 0; j < m; ++j)
                    worst = std::max(worst, std::abs(dst[j] - ref[j]) / (1 + std::abs(ref[j])));
                BOOST_TEST_CONTEXT("m " << m << ", weighted " << weighted << ", threads " << threads) {
                    BOOST_TEST(worst < 1e-4);
                    if (first.empty())
                        first = dst;
                    else
                        BOOST_TEST(dst == first, "the sums depend on the thread count");
                }
            }
            tinymim::set_num_threads(threads_before);
        }
    }
}

BOOST_AUTO_TEST_SUITE_END()
