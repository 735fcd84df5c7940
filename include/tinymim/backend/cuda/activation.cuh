// CUDA kernels: exact (erf) GELU, row softmax and log-softmax, layer norm, MAE's patch
// standardisation; forward and backward, as in backend/cpu/kernels/rows.hpp. Row kernels run one block
// per row and accumulate their sums in double (the CPU's row kernels accumulate in float, except the
// patch standardisation's moments).
#pragma once

#include <cmath>
#include <cstddef>

#include "tinymim/backend/cuda/launch.cuh"

namespace tinymim::cuda_detail {
// max_j alpha * x[j] over one row, shared by the block (call from every thread of a row block).
template <class T>
__device__ T row_max_scaled(const T* xr, std::size_t n, T alpha) {
    double mx = -INFINITY;
    for (std::size_t j = threadIdx.x; j < n; j += blockDim.x) mx = fmax(mx, double(xr[j] * alpha));
    return T(block_max(mx));
}
}  // namespace tinymim::cuda_detail

namespace tinymim::backends {

template <class T>
void gelu_forward(cuda, std::size_t n, const T* x, T* y) {
    cuda_detail::for_each(n, [=] __device__(std::size_t i) {
        const T v = x[i];
        y[i] = T(0.5) * v * (T(1) + erf(v * T(0.70710678118654752440)));
    });
}

template <class T>
void gelu_backward(cuda, std::size_t n, const T* x, const T* dy, T* dx) {
    cuda_detail::for_each(n, [=] __device__(std::size_t i) {
        const T v = x[i];
        dx[i] += dy[i] * (T(0.5) * (T(1) + erf(v * T(0.70710678118654752440))) +
                          v * exp(T(-0.5) * v * v) * T(0.39894228040143267794));
    });
}

// y[r, :] = softmax(alpha * x[r, :])
template <class T>
void softmax_forward(cuda, std::size_t rows, std::size_t n, T alpha, const T* x, T* y) {
    cuda_detail::for_each_row(rows, [=] __device__(std::size_t r) {
        const T* xr = x + r * n;
        T* yr = y + r * n;
        const T m = cuda_detail::row_max_scaled(xr, n, alpha);
        double s = 0;
        for (std::size_t j = threadIdx.x; j < n; j += blockDim.x) {
            const T e = exp(xr[j] * alpha - m);
            yr[j] = e;
            s += double(e);
        }
        const T inv = T(1.0 / cuda_detail::block_sum(s));
        for (std::size_t j = threadIdx.x; j < n; j += blockDim.x) yr[j] *= inv;
    });
}

// dx += alpha * y * (dy - <dy, y>)
template <class T>
void softmax_backward(cuda, std::size_t rows, std::size_t n, T alpha, const T* y, const T* dy, T* dx) {
    cuda_detail::for_each_row(rows, [=] __device__(std::size_t r) {
        const T* yr = y + r * n;
        const T* gr = dy + r * n;
        T* dr = dx + r * n;
        double dot = 0;
        for (std::size_t j = threadIdx.x; j < n; j += blockDim.x) dot += double(yr[j]) * double(gr[j]);
        const T d = T(cuda_detail::block_sum(dot));
        for (std::size_t j = threadIdx.x; j < n; j += blockDim.x) dr[j] += alpha * yr[j] * (gr[j] - d);
    });
}

// y[r, :] = log_softmax(alpha * x[r, :])
template <class T>
void log_softmax_forward(cuda, std::size_t rows, std::size_t n, T alpha, const T* x, T* y) {
    cuda_detail::for_each_row(rows, [=] __device__(std::size_t r) {
        const T* xr = x + r * n;
        T* yr = y + r * n;
        const T m = cuda_detail::row_max_scaled(xr, n, alpha);
        double s = 0;
        for (std::size_t j = threadIdx.x; j < n; j += blockDim.x) s += exp(double(xr[j] * alpha - m));
        const T lse = m + T(log(cuda_detail::block_sum(s)));
        for (std::size_t j = threadIdx.x; j < n; j += blockDim.x) yr[j] = xr[j] * alpha - lse;
    });
}

// dx += alpha * (dy - exp(y) * sum(dy))
template <class T>
void log_softmax_backward(cuda, std::size_t rows, std::size_t n, T alpha, const T* y, const T* dy, T* dx) {
    cuda_detail::for_each_row(rows, [=] __device__(std::size_t r) {
        const T* yr = y + r * n;
        const T* gr = dy + r * n;
        T* dr = dx + r * n;
        double s = 0;
        for (std::size_t j = threadIdx.x; j < n; j += blockDim.x) s += double(gr[j]);
        const T st = T(cuda_detail::block_sum(s));
        for (std::size_t j = threadIdx.x; j < n; j += blockDim.x) dr[j] += alpha * (gr[j] - exp(yr[j]) * st);
    });
}

// Layer norm over the last axis of [rows, n]; keeps mean and 1/std per row for the backward.
template <class T>
void layer_norm_forward(cuda, std::size_t rows, std::size_t n, T eps, const T* x, const T* gamma, const T* beta, T* y,
                        T* mean, T* rstd) {
    cuda_detail::for_each_row(rows, [=] __device__(std::size_t r) {
        const T* xr = x + r * n;
        T* yr = y + r * n;
        double s = 0;
        for (std::size_t j = threadIdx.x; j < n; j += blockDim.x) s += double(xr[j]);
        const double mu = cuda_detail::block_sum(s) / double(n);
        double v = 0;
        for (std::size_t j = threadIdx.x; j < n; j += blockDim.x) v += (double(xr[j]) - mu) * (double(xr[j]) - mu);
        const T rs = T(1.0 / sqrt(cuda_detail::block_sum(v) / double(n) + double(eps)));
        const T m = T(mu);
        if (threadIdx.x == 0) {
            mean[r] = m;
            rstd[r] = rs;
        }
        for (std::size_t j = threadIdx.x; j < n; j += blockDim.x) {
            T h = (xr[j] - m) * rs;
            if (gamma != nullptr) h *= gamma[j];
            if (beta != nullptr) h += beta[j];
            yr[j] = h;
        }
    });
}

// dx += rstd * (g - mean(g) - xhat * mean(g * xhat)), g = dy * gamma; dgamma += sum_r dy * xhat;
// dbeta += sum_r dy. Any of dx / dgamma / dbeta may be null.
template <class T>
void layer_norm_backward(cuda, std::size_t rows, std::size_t n, const T* x, const T* gamma, const T* mean,
                         const T* rstd, const T* dy, T* dx, T* dgamma, T* dbeta) {
    if (dx != nullptr) {
        cuda_detail::for_each_row(rows, [=] __device__(std::size_t r) {
            const T* xr = x + r * n;
            const T* gr = dy + r * n;
            T* dr = dx + r * n;
            const T m = mean[r], rs = rstd[r];
            double sg = 0, sgx = 0;
            for (std::size_t j = threadIdx.x; j < n; j += blockDim.x) {
                const T g = gamma != nullptr ? gr[j] * gamma[j] : gr[j];
                sg += double(g);
                sgx += double(g) * double((xr[j] - m) * rs);
            }
            const T mg = T(cuda_detail::block_sum(sg) / double(n)), mgx = T(cuda_detail::block_sum(sgx) / double(n));
            for (std::size_t j = threadIdx.x; j < n; j += blockDim.x) {
                const T g = gamma != nullptr ? gr[j] * gamma[j] : gr[j];
                dr[j] += rs * (g - mg - (xr[j] - m) * rs * mgx);
            }
        });
    }
    if (dgamma != nullptr)
        cuda_detail::column_sum_acc(
            rows, n,
            [=] __device__(std::size_t r, std::size_t j) {
                return double(dy[r * n + j]) * double((x[r * n + j] - mean[r]) * rstd[r]);
            },
            1.0, dgamma);
    if (dbeta != nullptr)
        cuda_detail::column_sum_acc(
            rows, n, [=] __device__(std::size_t r, std::size_t j) { return double(dy[r * n + j]); }, 1.0, dbeta);
}

// y[r, :] = (x[r, :] - mean) / sqrt(var_unbiased + eps)
template <class T>
void standardize_rows(cuda, std::size_t rows, std::size_t n, T eps, const T* x, T* y) {
    cuda_detail::for_each_row(rows, [=] __device__(std::size_t r) {
        const T* xr = x + r * n;
        T* yr = y + r * n;
        double s = 0;
        for (std::size_t j = threadIdx.x; j < n; j += blockDim.x) s += double(xr[j]);
        const double mu = cuda_detail::block_sum(s) / double(n);
        double v = 0;
        for (std::size_t j = threadIdx.x; j < n; j += blockDim.x) v += (double(xr[j]) - mu) * (double(xr[j]) - mu);
        const double inv = 1.0 / sqrt(cuda_detail::block_sum(v) / double(n > 1 ? n - 1 : 1) + double(eps));
        for (std::size_t j = threadIdx.x; j < n; j += blockDim.x) yr[j] = T((double(xr[j]) - mu) * inv);
    });
}

}  // namespace tinymim::backends
