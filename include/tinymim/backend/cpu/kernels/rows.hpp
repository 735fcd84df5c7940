// CPU kernels: exact (erf) GELU, row softmax and log-softmax, layer norm; forward and backward.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <limits>
#include <type_traits>
#include <utility>
#include <vector>

#include <Eigen/Core>                          // vectorised exp
#include <unsupported/Eigen/SpecialFunctions>  // vectorised erf

#include "tinymim/backend/cpu/cpu.hpp"

namespace tinymim::backends {

namespace cpu_detail {
// Mean and sum of squared deviations of one row, accumulated in double.
template <class T>
std::pair<double, double> row_moments(const T* x, std::size_t n) {
    double s = 0;
    for (std::size_t j = 0; j < n; ++j) s += double(x[j]);
    const double mu = s / double(n);
    double v = 0;
    for (std::size_t j = 0; j < n; ++j) v += (double(x[j]) - mu) * (double(x[j]) - mu);
    return {mu, v};
}

// Runs f(begin, count) over [0, n) in cache-sized chunks, in parallel.
template <class F>
void chunked(std::size_t n, F&& f) {
    constexpr std::size_t chunk = 4096;
    const std::ptrdiff_t chunks = std::ptrdiff_t((n + chunk - 1) / chunk);
#pragma omp parallel for schedule(static) if (n > 16384)
    for (std::ptrdiff_t c = 0; c < chunks; ++c) {
        const std::size_t b = std::size_t(c) * chunk;
        f(b, std::min(chunk, n - b));
    }
}
}  // namespace cpu_detail

namespace cpu_detail {
// y[i] = GELU(x[i]) = x Phi(x) = 0.5 x (1 + erf(x / sqrt 2)) for i < n, with Eigen's vectorised erf, on
// the calling thread (the row-blocked branches, backend/cpu/fused/branch.hpp, call it inside their own loops).
template <class T>
void gelu_values(std::size_t n, const T* x, T* y) {
    Eigen::Map<const Eigen::Array<T, Eigen::Dynamic, 1>> xv(x, Eigen::Index(n));
    Eigen::Map<Eigen::Array<T, Eigen::Dynamic, 1>> yv(y, Eigen::Index(n));
    yv = T(0.5) * xv * (T(1) + (xv * T(0.70710678118654752440)).erf());
}

// dx[i] (+)= dy[i] GELU'(x[i]) = dy (Phi(x) + x phi(x)) for i < n (add: accumulate, else write).
template <class T>
void gelu_grad_values(std::size_t n, const T* x, const T* dy, T* dx, bool add) {
    Eigen::Map<const Eigen::Array<T, Eigen::Dynamic, 1>> xv(x, Eigen::Index(n)), gv(dy, Eigen::Index(n));
    Eigen::Map<Eigen::Array<T, Eigen::Dynamic, 1>> dv(dx, Eigen::Index(n));
    auto d = gv * (T(0.5) * (T(1) + (xv * T(0.70710678118654752440)).erf()) +
                   xv * (T(-0.5) * xv.square()).exp() * T(0.39894228040143267794));
    if (add)
        dv += d;
    else
        dv = d;
}
// Both of the above from one erf per value: y[i] = GELU(x[i]) and dx[i] (+)= dy[i] GELU'(x[i]) (the
// GELU branch's backward needs both). Phi(x) is made into y first, then used twice; the data are a
// row block in cache, so the extra passes cost little next to the erf they save.
template <class T>
void gelu_values_and_grads(std::size_t n, const T* x, const T* dy, T* y, T* dx, bool add) {
    Eigen::Map<const Eigen::Array<T, Eigen::Dynamic, 1>> xv(x, Eigen::Index(n)), gv(dy, Eigen::Index(n));
    Eigen::Map<Eigen::Array<T, Eigen::Dynamic, 1>> yv(y, Eigen::Index(n)), dv(dx, Eigen::Index(n));
    yv = T(0.5) * (T(1) + (xv * T(0.70710678118654752440)).erf());  // Phi(x)
    auto d = gv * (yv + xv * (T(-0.5) * xv.square()).exp() * T(0.39894228040143267794));
    if (add)
        dv += d;
    else
        dv = d;
    yv *= xv;
}
}  // namespace cpu_detail

// y = GELU(x), exact (erf).
template <class T>
void gelu_forward(cpu, std::size_t n, const T* x, T* y) {
    cpu_detail::chunked(n, [&](std::size_t b, std::size_t m) { cpu_detail::gelu_values(m, x + b, y + b); });
}

// dx += dy * (Phi(x) + x * phi(x))
template <class T>
void gelu_backward(cpu, std::size_t n, const T* x, const T* dy, T* dx) {
    cpu_detail::chunked(
        n, [&](std::size_t b, std::size_t m) { cpu_detail::gelu_grad_values(m, x + b, dy + b, dx + b, true); });
}

namespace cpu_detail {
template <class T>
using row_array = Eigen::Map<Eigen::Array<T, Eigen::Dynamic, 1>>;
template <class T>
using const_row_array = Eigen::Map<const Eigen::Array<T, Eigen::Dynamic, 1>>;

// y = f(x) over one row of n values (y may be x), every value on the vectorised path: Eigen leaves the
// last n % P values of a dynamic-size row (P: its packet, 8 floats with AVX2, 16 with AVX-512) to the
// scalar std::exp, which showed in the profile of the fm models' 50-long attention rows; those go through
// a zero-padded block of one packet here. A block narrower than the packet would itself run scalar.
template <class T, class F>
void vectorised_row(std::size_t n, const T* x, T* y, F&& f) {
    constexpr std::size_t block = std::size_t(Eigen::internal::packet_traits<T>::size);
    // One packet at a time through fixed-size maps: a dynamic-size map of an unaligned row (a 50-token row
    // starts anywhere) makes Eigen peel scalar values until the destination is aligned.
    using packet_in = Eigen::Map<const Eigen::Array<T, block, 1>, Eigen::Unaligned>;
    using packet_out = Eigen::Map<Eigen::Array<T, block, 1>, Eigen::Unaligned>;
    const std::size_t body = n / block * block;
    for (std::size_t j = 0; j < body; j += block) packet_out(y + j) = f(packet_in(x + j));
    if (body == n) return;
    Eigen::Array<T, block, 1> t = Eigen::Array<T, block, 1>::Zero();
    for (std::size_t j = body; j < n; ++j) t[Eigen::Index(j - body)] = x[j];
    const Eigen::Array<T, block, 1> r = f(t);
    for (std::size_t j = body; j < n; ++j) y[j] = r[Eigen::Index(j - body)];
}

// Attention's rows are short (50 tokens in the fm models, 197 in ViT-B/16 ones), so a float softmax works
// on them one packet at a time: the running max and sum stay in a packet and are reduced once, the tail
// of n % P values is one packet loaded under a mask. Dynamic-size Eigen expressions over such a row peel
// scalars until the row is aligned and reduce each pass on its own: 73 ns for a 50-value row on the
// AVX-512 host, 35 ns this way. The tail is written back value by value: a masked store, even of no
// lanes, keeps the next row's loads (the rows are contiguous, and softmax runs in place) from being
// forwarded from the store buffer, which cost more than it saved. Double rows (gradient checks) keep
// the Eigen expressions. (A template, F = float, so that the other ISA's branches are discarded.)
template <class F>
struct float_row_packets {
    static_assert(std::is_same_v<F, float>, "float_row_packets: float rows only");
    using packet = typename Eigen::internal::packet_traits<F>::type;
    static constexpr std::size_t width = std::size_t(Eigen::internal::unpacket_traits<packet>::size);
#if defined(__AVX512F__)
    static constexpr bool zmm = width == 16;
#else
    static constexpr bool zmm = false;
#endif
#if defined(__AVX2__)
    static constexpr bool ymm = width == 8;
#else
    static constexpr bool ymm = false;
#endif
    // Without masked loads, load_partial goes through memory: a store-forwarding stall.
    static constexpr bool masked_loads = zmm || ymm;

    static packet load(const F* x) { return Eigen::internal::ploadu<packet>(x); }
    static void store(F* y, const packet& v) { Eigen::internal::pstoreu(y, v); }
    // x[0 .. k) in the first lanes, zeros in the others (k < width); reads nothing past x[k - 1].
    static packet load_partial(const F* x, std::size_t k) {
#if defined(__AVX512F__)
        if constexpr (zmm) return _mm512_maskz_loadu_ps(__mmask16((1u << k) - 1u), x);
#endif
#if defined(__AVX2__)
        if constexpr (ymm)
            return _mm256_maskload_ps(
                x, _mm256_cmpgt_epi32(_mm256_set1_epi32(int(k)), _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7)));
#endif
        alignas(64) F t[width] = {};
        for (std::size_t j = 0; j < k; ++j) t[j] = x[j];
        return Eigen::internal::pload<packet>(t);
    }
    static void store_partial(F* y, std::size_t k, const packet& v) {
        alignas(64) F t[width];
        Eigen::internal::pstore(t, v);
        for (std::size_t j = 0; j < k; ++j) y[j] = t[j];
    }
    // Lanes j < k: all bits set.
    static packet lanes_below(std::size_t k) {
        return Eigen::internal::pcmp_lt(Eigen::internal::plset<packet>(F(0)), Eigen::internal::pset1<packet>(F(k)));
    }
};

// y = softmax(alpha · x) over one row of n values (y may be x).
template <class T>
void softmax_row(std::size_t n, T alpha, const T* x, T* y) {
    if constexpr (!std::is_same_v<T, float>) {
        row_array<T> yr(y, Eigen::Index(n));
        yr = const_row_array<T>(x, Eigen::Index(n)) * alpha;
        const T mx = yr.maxCoeff();
        vectorised_row(n, y, y, [mx](const auto& v) { return (v - mx).exp(); });
        yr *= T(1) / yr.sum();
    } else {
        namespace ei = Eigen::internal;
        using rp = float_row_packets<T>;
        using packet = typename rp::packet;
        constexpr std::size_t w = rp::width;
        const std::size_t body = n / w * w, k = n - body;
        const packet a = ei::pset1<packet>(alpha), lowest = ei::pset1<packet>(-std::numeric_limits<float>::infinity());
        // The tail, scaled; its padding lanes are -inf for the max, 0 into the exp, and their exp is set to
        // 0 (exp(-inf) may come out of Eigen as a denormal, whose arithmetic is slow on x86).
        packet t = lowest, live = ei::pzero(a);
        if (k != 0) {
            live = rp::lanes_below(k);
            t = ei::pselect(live, ei::pmul(a, rp::load_partial(x + body, k)), lowest);
        }
        packet mx = t;
        for (std::size_t j = 0; j < body; j += w) mx = ei::pmax(mx, ei::pmul(a, rp::load(x + j)));
        const packet m = ei::pset1<packet>(ei::predux_max(mx));
        packet sum = ei::pzero(m);
        for (std::size_t j = 0; j < body; j += w) {
            const packet e = ei::pexp(ei::psub(ei::pmul(a, rp::load(x + j)), m));
            rp::store(y + j, e);
            sum = ei::padd(sum, e);
        }
        if (k != 0) {
            t = ei::pand(live, ei::pexp(ei::pand(live, ei::psub(t, m))));
            sum = ei::padd(sum, t);
        }
        const packet inv = ei::pset1<packet>(1.0f / ei::predux(sum));
        for (std::size_t j = 0; j < body; j += w) rp::store(y + j, ei::pmul(inv, rp::load(y + j)));
        if (k != 0) rp::store_partial(y + body, k, ei::pmul(inv, t));
    }
}

// g = y ⊙ (g - <g, y>) over one row: the softmax's backward (alpha 1), written over the incoming gradient.
template <class T>
void softmax_row_backward_inplace(std::size_t n, const T* y, T* g) {
    if constexpr (!std::is_same_v<T, float> || !float_row_packets<float>::masked_loads) {
        const_row_array<T> yr(y, Eigen::Index(n));
        row_array<T> gr(g, Eigen::Index(n));
        const T dot = (yr * gr).sum();
        gr = yr * (gr - dot);
    } else {
        namespace ei = Eigen::internal;
        using rp = float_row_packets<T>;
        using packet = typename rp::packet;
        constexpr std::size_t w = rp::width;
        const std::size_t body = n / w * w, k = n - body;
        packet yt = ei::pset1<packet>(0.0f), gt = yt;
        if (k != 0) {
            yt = rp::load_partial(y + body, k);
            gt = rp::load_partial(g + body, k);
        }
        packet dot = ei::pmul(yt, gt);
        for (std::size_t j = 0; j < body; j += w) dot = ei::pmadd(rp::load(y + j), rp::load(g + j), dot);
        const packet d = ei::pset1<packet>(ei::predux(dot));
        for (std::size_t j = 0; j < body; j += w)
            rp::store(g + j, ei::pmul(rp::load(y + j), ei::psub(rp::load(g + j), d)));
        if (k != 0) rp::store_partial(g + body, k, ei::pmul(yt, ei::psub(gt, d)));
    }
}

// Runs f(r) for every row, in parallel when the rows hold enough values. Every row is computed the same
// way whatever the thread count.
template <class F>
void each_row(std::size_t rows, std::size_t n, F&& f) {
#pragma omp parallel for schedule(static) if (rows * n > 16384)
    for (std::ptrdiff_t r = 0; r < std::ptrdiff_t(rows); ++r) f(std::size_t(r));
}
}  // namespace cpu_detail

// Row softmax and log-softmax with Eigen's vectorised exp/log; row sums in T (a row is a few hundred
// values at most in a ViT: the attention's tokens).

// y[r, :] = softmax(alpha * x[r, :])
template <class T>
void softmax_forward(cpu, std::size_t rows, std::size_t n, T alpha, const T* x, T* y) {
    using namespace cpu_detail;
    each_row(rows, n, [&](std::size_t r) { softmax_row(n, alpha, x + r * n, y + r * n); });
}

// dx += alpha * y * (dy - <dy, y>)
template <class T>
void softmax_backward(cpu, std::size_t rows, std::size_t n, T alpha, const T* y, const T* dy, T* dx) {
    using namespace cpu_detail;
    each_row(rows, n, [&](std::size_t r) {
        const_row_array<T> yr(y + r * n, Eigen::Index(n)), gr(dy + r * n, Eigen::Index(n));
        row_array<T> dr(dx + r * n, Eigen::Index(n));
        const T dot = (yr * gr).sum();
        dr += alpha * yr * (gr - dot);
    });
}

// y[r, :] = log_softmax(alpha * x[r, :])
template <class T>
void log_softmax_forward(cpu, std::size_t rows, std::size_t n, T alpha, const T* x, T* y) {
    using namespace cpu_detail;
    each_row(rows, n, [&](std::size_t r) {
        const_row_array<T> xr(x + r * n, Eigen::Index(n));
        row_array<T> yr(y + r * n, Eigen::Index(n));
        yr = xr * alpha;
        const T mx = yr.maxCoeff();
        T sum = 0;
        for (std::size_t j0 = 0; j0 < n; j0 += 256) {  // exp(y - max) summed through a block in cache
            const std::size_t len = std::min<std::size_t>(256, n - j0);
            T e[256];
            vectorised_row(len, y + r * n + j0, e, [mx](const auto& v) { return (v - mx).exp(); });
            sum += const_row_array<T>(e, Eigen::Index(len)).sum();
        }
        yr -= mx + std::log(sum);
    });
}

// dx += alpha * (dy - exp(y) * sum(dy))
template <class T>
void log_softmax_backward(cpu, std::size_t rows, std::size_t n, T alpha, const T* y, const T* dy, T* dx) {
    using namespace cpu_detail;
    each_row(rows, n, [&](std::size_t r) {
        const_row_array<T> yr(y + r * n, Eigen::Index(n)), gr(dy + r * n, Eigen::Index(n));
        row_array<T> dr(dx + r * n, Eigen::Index(n));
        const T s = gr.sum();
        dr += alpha * (gr - yr.exp() * s);
    });
}

// Layer norm over the last axis of [rows, n], the output's rows ldy >= n values apart; keeps mean and
// 1/std per row for the backward. ones: ldy > n, and each output row is followed by a 1 (the column a
// GEMM multiplies by the bias, fused/layer_norm_linear.hpp); the other values past n are left as they are.
template <class T>
void layer_norm_forward_ld(cpu, std::size_t rows, std::size_t n, T eps, const T* x, const T* gamma, const T* beta, T* y,
                           std::size_t ldy, T* mean, T* rstd, bool ones = false) {
    using namespace cpu_detail;
    // Two passes over the row in T, vectorised (a row is one token: a few hundred values).
    each_row(rows, n, [&](std::size_t r) {
        const_row_array<T> xr(x + r * n, Eigen::Index(n));
        row_array<T> yr(y + r * ldy, Eigen::Index(n));
        const T m = xr.sum() / T(n);
        yr = xr - m;
        const T rs = T(1) / std::sqrt(yr.square().sum() / T(n) + eps);
        mean[r] = m;
        rstd[r] = rs;
        if (gamma != nullptr && beta != nullptr)
            yr = yr * rs * const_row_array<T>(gamma, Eigen::Index(n)) + const_row_array<T>(beta, Eigen::Index(n));
        else if (gamma != nullptr)
            yr = yr * rs * const_row_array<T>(gamma, Eigen::Index(n));
        else if (beta != nullptr)
            yr = yr * rs + const_row_array<T>(beta, Eigen::Index(n));
        else
            yr *= rs;
        if (ones) y[r * ldy + n] = T(1);
    });
}

// The same with the rows contiguous.
template <class T>
void layer_norm_forward(cpu, std::size_t rows, std::size_t n, T eps, const T* x, const T* gamma, const T* beta, T* y,
                        T* mean, T* rstd) {
    layer_norm_forward_ld(cpu{}, rows, n, eps, x, gamma, beta, y, n, mean, rstd);
}

// dx += rstd * (g - mean(g) - xhat * mean(g * xhat)) with g = dy * gamma;
// dgamma += sum_r dy * xhat; dbeta += sum_r dy. Any of dx/dgamma/dbeta may be null.
// The row means are vectorised sums in T, as the forward's; dgamma and dbeta are summed by ranges of
// rows (cpu_detail::sum_rows_in_ranges).
template <class T>
void layer_norm_backward(cpu, std::size_t rows, std::size_t n, const T* x, const T* gamma, const T* mean, const T* rstd,
                         const T* dy, T* dx, T* dgamma, T* dbeta) {
    using namespace cpu_detail;
    if (dx != nullptr) {
        each_row(rows, n, [&](std::size_t r) {
            const_row_array<T> xr(x + r * n, Eigen::Index(n)), gr(dy + r * n, Eigen::Index(n));
            row_array<T> dr(dx + r * n, Eigen::Index(n));
            const T m = mean[r], rs = rstd[r], inv_n = T(1) / T(n);
            if (gamma != nullptr) {
                const_row_array<T> ga(gamma, Eigen::Index(n));
                const T mg = (gr * ga).sum() * inv_n, mgx = (gr * ga * (xr - m)).sum() * rs * inv_n;
                dr += rs * (gr * ga - mg - (xr - m) * (rs * mgx));
            } else {
                const T mg = gr.sum() * inv_n, mgx = (gr * (xr - m)).sum() * rs * inv_n;
                dr += rs * (gr - mg - (xr - m) * (rs * mgx));
            }
        });
    }
    if (dgamma != nullptr || dbeta != nullptr) {  // range q's dgamma partial at 2qn, its dbeta at (2q + 1)n
        const T* partial =
            sum_rows_in_ranges<T>(rows, 2 * n, rows * n > 16384, [&](std::size_t lo, std::size_t hi, T* acc) {
                row_array<T> ag(acc, Eigen::Index(n)), ab(acc + n, Eigen::Index(n));
                for (std::size_t r = lo; r < hi; ++r) {
                    const_row_array<T> xr(x + r * n, Eigen::Index(n)), gr(dy + r * n, Eigen::Index(n));
                    ag += gr * (xr - mean[r]) * rstd[r];
                    ab += gr;
                }
            });
        for (std::size_t q = 0; q < sum_ranges; ++q)
            for (std::size_t j = 0; j < n; ++j) {
                if (dgamma != nullptr) dgamma[j] += partial[2 * q * n + j];
                if (dbeta != nullptr) dbeta[j] += partial[(2 * q + 1) * n + j];
            }
    }
}

}  // namespace tinymim::backends

namespace tinymim::backends {

// y[r, :] = (x[r, :] - mean) / sqrt(var_unbiased + eps): MAE's per-patch pixel normalisation.
template <class T>
void standardize_rows(cpu, std::size_t rows, std::size_t n, T eps, const T* x, T* y) {
#pragma omp parallel for schedule(static) if (rows * n > 16384)
    for (std::ptrdiff_t r = 0; r < std::ptrdiff_t(rows); ++r) {
        const T* xr = x + std::size_t(r) * n;
        T* yr = y + std::size_t(r) * n;
        const auto [mu, v] = cpu_detail::row_moments(xr, n);
        const double inv = 1.0 / std::sqrt(v / double(n > 1 ? n - 1 : 1) + double(eps));
        for (std::size_t j = 0; j < n; ++j) yr[j] = T((double(xr[j]) - mu) * inv);
    }
}

}  // namespace tinymim::backends
