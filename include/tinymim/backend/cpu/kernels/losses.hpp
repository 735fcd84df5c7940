// CPU kernels for the losses: cross-entropy with label smoothing, KL(teacher || student) from
// student logits, MSE, smooth-L1, cosine; each forward writes a scalar, each backward accumulates.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <limits>

#include "tinymim/backend/cpu/kernels/rows.hpp"
#include "tinymim/backend/kinds.hpp"

namespace tinymim::backends {

// loss = mean_r [ -(1-eps) log p[r, y_r] - eps/C sum_c log p[r, c] ]; keeps log p for the backward.
template <class T>
void cross_entropy_forward(cpu, std::size_t rows, std::size_t c, T smoothing, const T* logits,
                           const std::int32_t* labels, T* logp, T* loss) {
    log_softmax_forward(cpu{}, rows, c, T(1), logits, logp);
    double acc = 0;
#pragma omp parallel for reduction(+ : acc) schedule(static) if (rows * c > 16384)
    for (std::ptrdiff_t r = 0; r < std::ptrdiff_t(rows); ++r) {
        const T* lp = logp + std::size_t(r) * c;
        double s = 0;
        for (std::size_t j = 0; j < c; ++j) s += double(lp[j]);
        acc += -(1.0 - double(smoothing)) * double(lp[labels[r]]) - double(smoothing) / double(c) * s;
    }
    loss[0] = T(acc / double(rows));
}
template <class T>
void cross_entropy_backward(cpu, std::size_t rows, std::size_t c, T smoothing, const T* logp,
                            const std::int32_t* labels, const T* g, T* dlogits) {
    const T f = g[0] / T(rows), off = smoothing / T(c);
#pragma omp parallel for schedule(static) if (rows * c > 16384)
    for (std::ptrdiff_t r = 0; r < std::ptrdiff_t(rows); ++r) {
        const T* lp = logp + std::size_t(r) * c;
        T* d = dlogits + std::size_t(r) * c;
        for (std::size_t j = 0; j < c; ++j) {
            const T q = off + (std::int32_t(j) == labels[r] ? T(1) - smoothing : T(0));
            d[j] += f * (std::exp(lp[j]) - q);
        }
    }
}

// loss = 1/rows sum_r sum_j t (log t - log s), s = softmax(alpha z), 0 log 0 = 0. Keeps log s.
template <class T>
void kl_forward(cpu, std::size_t rows, std::size_t n, T alpha, const T* target, const T* z, T* logs, T* loss) {
    using namespace cpu_detail;
    log_softmax_forward(cpu{}, rows, n, alpha, z, logs);
    double acc = 0;
#pragma omp parallel for reduction(+ : acc) schedule(static) if (rows * n > 16384)
    for (std::ptrdiff_t r = 0; r < std::ptrdiff_t(rows); ++r) {
        const_row_array<T> tr(target + std::size_t(r) * n, Eigen::Index(n)),
            lr(logs + std::size_t(r) * n, Eigen::Index(n));
        // t log t is 0 where t is 0: the select drops those terms (log of the clamped value stays finite)
        const T tiny = std::numeric_limits<T>::min();
        acc += double((tr > T(0)).select(tr * (tr.max(tiny).log() - lr), T(0)).sum());
    }
    loss[0] = T(acc / double(rows));
}
// dz += g alpha (s sum(t) - t) / rows; dt += g (log t - log s + 1) / rows (where t > 0).
template <class T>
void kl_backward(cpu, std::size_t rows, std::size_t n, T alpha, const T* target, const T* logs, const T* g, T* dz,
                 T* dt) {
    using namespace cpu_detail;
    const T f = g[0] / T(rows);
    each_row(rows, n, [&](std::size_t r) {
        const_row_array<T> tr(target + r * n, Eigen::Index(n)), lr(logs + r * n, Eigen::Index(n));
        if (dz != nullptr) {
            row_array<T> d(dz + r * n, Eigen::Index(n));
            d += (f * alpha) * (lr.exp() * tr.sum() - tr);
        }
        if (dt != nullptr) {
            row_array<T> d(dt + r * n, Eigen::Index(n));
            const T tiny = std::numeric_limits<T>::min();
            d += (tr > T(0)).select(f * (tr.max(tiny).log() - lr + T(1)), T(0));
        }
    });
}

// loss = mean_i l(a_i - b_i): l = d² (mse) or 0.5 d²/beta if |d| < beta else |d| - 0.5 beta (smooth-L1).
template <class T>
void pointwise_loss_forward(cpu, pointwise_loss kind, std::size_t n, T beta, const T* a, const T* b, T* loss) {
    double acc = 0;
#pragma omp parallel for reduction(+ : acc) schedule(static) if (n > 16384)
    for (std::ptrdiff_t i = 0; i < std::ptrdiff_t(n); ++i) {
        const double d = double(a[i]) - double(b[i]);
        if (kind == pointwise_loss::mse)
            acc += d * d;
        else
            acc += std::abs(d) < double(beta) ? 0.5 * d * d / double(beta) : std::abs(d) - 0.5 * double(beta);
    }
    loss[0] = T(acc / double(n));
}
// da += g l'(d)/n, db -= g l'(d)/n (either may be null).
template <class T>
void pointwise_loss_backward(cpu, pointwise_loss kind, std::size_t n, T beta, const T* a, const T* b, const T* g, T* da,
                             T* db) {
    const T f = g[0] / T(n);
#pragma omp parallel for schedule(static) if (n > 16384)
    for (std::ptrdiff_t i = 0; i < std::ptrdiff_t(n); ++i) {
        const T d = a[i] - b[i];
        T dl;
        if (kind == pointwise_loss::mse)
            dl = T(2) * d;
        else
            dl = std::abs(d) < beta ? d / beta : (d > T(0) ? T(1) : (d < T(0) ? T(-1) : T(0)));
        if (da != nullptr) da[i] += f * dl;
        if (db != nullptr) db[i] -= f * dl;
    }
}

// loss = mean_r (1 - <a_r, b_r> / (max(|a_r|, eps) max(|b_r|, eps))).
template <class T>
void cosine_forward(cpu, std::size_t rows, std::size_t n, T eps, const T* a, const T* b, T* loss) {
    double acc = 0;
#pragma omp parallel for reduction(+ : acc) schedule(static) if (rows * n > 16384)
    for (std::ptrdiff_t r = 0; r < std::ptrdiff_t(rows); ++r) {
        const T* ar = a + std::size_t(r) * n;
        const T* br = b + std::size_t(r) * n;
        double ab = 0, aa = 0, bb = 0;
        for (std::size_t j = 0; j < n; ++j) {
            ab += double(ar[j]) * double(br[j]);
            aa += double(ar[j]) * double(ar[j]);
            bb += double(br[j]) * double(br[j]);
        }
        acc += 1.0 - ab / (std::max(std::sqrt(aa), double(eps)) * std::max(std::sqrt(bb), double(eps)));
    }
    loss[0] = T(acc / double(rows));
}
template <class T>
void cosine_backward(cpu, std::size_t rows, std::size_t n, T eps, const T* a, const T* b, const T* g, T* da, T* db) {
    const T f = g[0] / T(rows);
#pragma omp parallel for schedule(static) if (rows * n > 16384)
    for (std::ptrdiff_t r = 0; r < std::ptrdiff_t(rows); ++r) {
        const T* ar = a + std::size_t(r) * n;
        const T* br = b + std::size_t(r) * n;
        double ab = 0, aa = 0, bb = 0;
        for (std::size_t j = 0; j < n; ++j) {
            ab += double(ar[j]) * double(br[j]);
            aa += double(ar[j]) * double(ar[j]);
            bb += double(br[j]) * double(br[j]);
        }
        const double na = std::sqrt(aa), nb = std::sqrt(bb);
        const bool ca = na > double(eps), cb = nb > double(eps);  // clamped norms have zero derivative
        const double ea = std::max(na, double(eps)), eb = std::max(nb, double(eps));
        const double cos = ab / (ea * eb);
        for (std::size_t j = 0; j < n; ++j) {
            if (da != nullptr)
                da[std::size_t(r) * n + j] -=
                    T(f * (double(br[j]) / (ea * eb) - (ca ? cos * double(ar[j]) / aa : 0.0)));
            if (db != nullptr)
                db[std::size_t(r) * n + j] -=
                    T(f * (double(ar[j]) / (ea * eb) - (cb ? cos * double(br[j]) / bb : 0.0)));
        }
    }
}

}  // namespace tinymim::backends
