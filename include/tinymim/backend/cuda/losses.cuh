// CUDA kernels for the losses (cross-entropy with label smoothing, KL from student logits, MSE,
// smooth-L1, cosine), as in backend/cpu/kernels/losses.hpp: per-row terms in double, summed in a fixed order.
#pragma once

#include <cmath>
#include <cstddef>
#include <cstdint>

#include "tinymim/backend/cuda/activation.cuh"
#include "tinymim/backend/cuda/launch.cuh"
#include "tinymim/backend/kinds.hpp"

namespace tinymim::cuda_detail {
// <a, b>, <a, a>, <b, b> of one row, shared by the block (call from every thread of a row block).
struct row_dots_t {
    double ab, aa, bb;
};
template <class T>
__device__ row_dots_t row_dots(const T* ar, const T* br, std::size_t n) {
    double ab = 0, aa = 0, bb = 0;
    for (std::size_t j = threadIdx.x; j < n; j += blockDim.x) {
        ab += double(ar[j]) * double(br[j]);
        aa += double(ar[j]) * double(ar[j]);
        bb += double(br[j]) * double(br[j]);
    }
    return {block_sum(ab), block_sum(aa), block_sum(bb)};
}
}  // namespace tinymim::cuda_detail

namespace tinymim::backends {

template <class T>
void cross_entropy_forward(cuda, std::size_t rows, std::size_t c, T smoothing, const T* logits,
                           const std::int32_t* labels, T* logp, T* loss) {
    log_softmax_forward(cuda{}, rows, c, T(1), logits, logp);
    cuda_detail::scratch terms(rows * sizeof(double));
    double* tr = terms.as<double>();
    cuda_detail::for_each_row(rows, [=] __device__(std::size_t r) {
        const T* lp = logp + r * c;
        double s = 0;
        for (std::size_t j = threadIdx.x; j < c; j += blockDim.x) s += double(lp[j]);
        s = cuda_detail::block_sum(s);
        if (threadIdx.x == 0)
            tr[r] = -(1.0 - double(smoothing)) * double(lp[labels[r]]) - double(smoothing) / double(c) * s;
    });
    cuda_detail::sum_to(
        rows, [=] __device__(std::size_t r) { return tr[r]; }, 1.0 / double(rows), loss);
}
template <class T>
void cross_entropy_backward(cuda, std::size_t rows, std::size_t c, T smoothing, const T* logp,
                            const std::int32_t* labels, const T* g, T* dlogits) {
    cuda_detail::for_each(rows * c, [=] __device__(std::size_t i) {
        const std::size_t r = i / c, j = i % c;
        const T f = g[0] / T(rows), off = smoothing / T(c);
        const T q = off + (std::int32_t(j) == labels[r] ? T(1) - smoothing : T(0));
        dlogits[i] += f * (exp(logp[i]) - q);
    });
}

// loss = 1/rows sum_r sum_j t (log t - log s), s = softmax(alpha z). Keeps log s.
template <class T>
void kl_forward(cuda, std::size_t rows, std::size_t n, T alpha, const T* target, const T* z, T* logs, T* loss) {
    log_softmax_forward(cuda{}, rows, n, alpha, z, logs);
    cuda_detail::scratch terms(rows * sizeof(double));
    double* tr = terms.as<double>();
    cuda_detail::for_each_row(rows, [=] __device__(std::size_t r) {
        const T* t = target + r * n;
        const T* l = logs + r * n;
        double s = 0;
        for (std::size_t j = threadIdx.x; j < n; j += blockDim.x)
            if (t[j] > T(0)) s += double(t[j]) * (log(double(t[j])) - double(l[j]));
        s = cuda_detail::block_sum(s);
        if (threadIdx.x == 0) tr[r] = s;
    });
    cuda_detail::sum_to(
        rows, [=] __device__(std::size_t r) { return tr[r]; }, 1.0 / double(rows), loss);
}
// dz += g alpha (s sum(t) - t) / rows; dt += g (log t - log s + 1) / rows (where t > 0).
template <class T>
void kl_backward(cuda, std::size_t rows, std::size_t n, T alpha, const T* target, const T* logs, const T* g, T* dz,
                 T* dt) {
    cuda_detail::for_each_row(rows, [=] __device__(std::size_t r) {
        const T f = g[0] / T(rows);
        const T* t = target + r * n;
        const T* l = logs + r * n;
        if (dz != nullptr) {
            double s = 0;
            for (std::size_t j = threadIdx.x; j < n; j += blockDim.x) s += double(t[j]);
            const T st = T(cuda_detail::block_sum(s));
            for (std::size_t j = threadIdx.x; j < n; j += blockDim.x)
                dz[r * n + j] += f * alpha * (exp(l[j]) * st - t[j]);
        }
        if (dt != nullptr)
            for (std::size_t j = threadIdx.x; j < n; j += blockDim.x)
                if (t[j] > T(0)) dt[r * n + j] += f * (log(t[j]) - l[j] + T(1));
    });
}

template <class T>
void pointwise_loss_forward(cuda, pointwise_loss kind, std::size_t n, T beta, const T* a, const T* b, T* loss) {
    cuda_detail::sum_to(
        n,
        [=] __device__(std::size_t i) {
            const double d = double(a[i]) - double(b[i]);
            if (kind == pointwise_loss::mse) return d * d;
            return fabs(d) < double(beta) ? 0.5 * d * d / double(beta) : fabs(d) - 0.5 * double(beta);
        },
        1.0 / double(n), loss);
}
template <class T>
void pointwise_loss_backward(cuda, pointwise_loss kind, std::size_t n, T beta, const T* a, const T* b, const T* g,
                             T* da, T* db) {
    cuda_detail::for_each(n, [=] __device__(std::size_t i) {
        const T f = g[0] / T(n);
        const T d = a[i] - b[i];
        T dl;
        if (kind == pointwise_loss::mse)
            dl = T(2) * d;
        else
            dl = fabs(d) < beta ? d / beta : (d > T(0) ? T(1) : (d < T(0) ? T(-1) : T(0)));
        if (da != nullptr) da[i] += f * dl;
        if (db != nullptr) db[i] -= f * dl;
    });
}

// loss = mean_r (1 - <a_r, b_r> / (max(|a_r|, eps) max(|b_r|, eps)))
template <class T>
void cosine_forward(cuda, std::size_t rows, std::size_t n, T eps, const T* a, const T* b, T* loss) {
    cuda_detail::scratch terms(rows * sizeof(double));
    double* tr = terms.as<double>();
    cuda_detail::for_each_row(rows, [=] __device__(std::size_t r) {
        const T* ar = a + r * n;
        const T* br = b + r * n;
        const auto [ab, aa, bb] = cuda_detail::row_dots(ar, br, n);
        if (threadIdx.x == 0) tr[r] = 1.0 - ab / (fmax(sqrt(aa), double(eps)) * fmax(sqrt(bb), double(eps)));
    });
    cuda_detail::sum_to(
        rows, [=] __device__(std::size_t r) { return tr[r]; }, 1.0 / double(rows), loss);
}
template <class T>
void cosine_backward(cuda, std::size_t rows, std::size_t n, T eps, const T* a, const T* b, const T* g, T* da, T* db) {
    cuda_detail::for_each_row(rows, [=] __device__(std::size_t r) {
        const double f = double(g[0]) / double(rows);
        const T* ar = a + r * n;
        const T* br = b + r * n;
        const auto [ab, aa, bb] = cuda_detail::row_dots(ar, br, n);
        const double na = sqrt(aa), nb = sqrt(bb);
        const bool ca = na > double(eps), cb = nb > double(eps);
        const double ea = fmax(na, double(eps)), eb = fmax(nb, double(eps));
        const double cs = ab / (ea * eb);
        for (std::size_t j = threadIdx.x; j < n; j += blockDim.x) {
            if (da != nullptr)
                da[r * n + j] -= T(f * (double(br[j]) / (ea * eb) - (ca ? cs * double(ar[j]) / aa : 0.0)));
            if (db != nullptr)
                db[r * n + j] -= T(f * (double(ar[j]) / (ea * eb) - (cb ? cs * double(br[j]) / bb : 0.0)));
        }
    });
}

}  // namespace tinymim::backends
