// CUDA kernels for fills, element-wise arithmetic with trailing broadcasts, reductions, and the AdamW
// update: the same functions, arguments and accumulate conventions as backend/cpu/kernels/elementwise.hpp.
#pragma once

#include <cmath>
#include <cstddef>

#include <thrust/execution_policy.h>
#include <thrust/fill.h>

#include "tinymim/backend/cuda/launch.cuh"
#include "tinymim/backend/kinds.hpp"

namespace tinymim::backends {

template <class T>
void fill(cuda, T* p, std::size_t n, T v) {
    if (n == 0) return;
    thrust::fill_n(thrust::cuda::par_nosync.on(cuda::stream()), p, n, v);
}

// out[i] = a[i] (op) b[i % m]
template <class T>
void binary(cuda, binop op, std::size_t n, std::size_t m, const T* a, const T* b, T* out) {
    cuda_detail::for_each(n, [=] __device__(std::size_t i) {
        const T y = b[i % m];
        out[i] = op == binop::add ? a[i] + y : (op == binop::sub ? a[i] - y : a[i] * y);
    });
}

template <class T>
void scale(cuda, std::size_t n, T s, const T* a, T* out) {
    cuda_detail::for_each(n, [=] __device__(std::size_t i) { out[i] = s * a[i]; });
}

template <class T>
void axpy(cuda, std::size_t n, T alpha, const T* src, T* dst) {
    cuda_detail::for_each(n, [=] __device__(std::size_t i) { dst[i] += alpha * src[i]; });
}

// dst[j] += alpha * sum_r src[r*m + j] * (w ? w[r*m + j] : 1)
template <class T>
void reduce_rows_acc(cuda, std::size_t n, std::size_t m, T alpha, const T* src, const T* w, T* dst) {
    cuda_detail::column_sum_acc(
        n / m, m,
        [=] __device__(std::size_t r, std::size_t j) {
            return double(src[r * m + j]) * (w != nullptr ? double(w[r * m + j]) : 1.0);
        },
        double(alpha), dst);
}

// dst[i] += g[i] * b[i % m]
template <class T>
void mul_acc(cuda, std::size_t n, std::size_t m, const T* g, const T* b, T* dst) {
    cuda_detail::for_each(n, [=] __device__(std::size_t i) { dst[i] += g[i] * b[i % m]; });
}

// out[r*inner + i] (=|+=) x[r*inner + i] * s[r]
template <class T>
void scale_rows(cuda, std::size_t rows, std::size_t inner, const T* s, const T* x, T* out, bool accumulate) {
    cuda_detail::for_each(rows * inner, [=] __device__(std::size_t i) {
        const T v = s[i / inner] * x[i];
        if (accumulate)
            out[i] += v;
        else
            out[i] = v;
    });
}

// y[o, i] = alpha * sum_l x[o, l, i]
template <class T>
void sum_axis(cuda, std::size_t outer, std::size_t len, std::size_t inner, T alpha, const T* x, T* y) {
    cuda_detail::for_each(outer * inner, [=] __device__(std::size_t k) {
        const std::size_t o = k / inner, i = k % inner;
        double s = 0;
        for (std::size_t l = 0; l < len; ++l) s += double(x[(o * len + l) * inner + i]);
        y[k] = T(s) * alpha;
    });
}

// dx[o, l, i] += alpha * dy[o, i]
template <class T>
void sum_axis_backward(cuda, std::size_t outer, std::size_t len, std::size_t inner, T alpha, const T* dy, T* dx) {
    cuda_detail::for_each(outer * len * inner, [=] __device__(std::size_t k) {
        const std::size_t i = k % inner, o = k / (len * inner);
        dx[k] += alpha * dy[o * inner + i];
    });
}

// out[0] = alpha * sum of all n values (double accumulation)
template <class T>
void sum_all(cuda, std::size_t n, T alpha, const T* x, T* out) {
    cuda_detail::sum_to(
        n, [=] __device__(std::size_t i) { return double(x[i]); }, double(alpha), out);
}

// dx[i] += alpha * dy[0]
template <class T>
void add_scalar_grad(cuda, std::size_t n, T alpha, const T* dy, T* dx) {
    cuda_detail::for_each(n, [=] __device__(std::size_t i) { dx[i] += alpha * dy[0]; });
}

// dst[r*m + j] = src[j]
template <class T>
void repeat_rows(cuda, std::size_t rows, std::size_t m, const T* src, T* dst) {
    cuda_detail::for_each(rows * m, [=] __device__(std::size_t i) { dst[i] = src[i % m]; });
}

// Sum of squares (double), read back to the host: for gradient-norm clipping.
template <class T>
[[nodiscard]] double sum_squares(cuda, std::size_t n, const T* x) {
    cuda_detail::scratch out(sizeof(double));
    cuda_detail::sum_to(
        n, [=] __device__(std::size_t i) { return double(x[i]) * double(x[i]); }, 1.0, static_cast<T*>(nullptr),
        out.as<double>());
    double h = 0;
    cuda::copy_to_host(&h, out.as<double>(), sizeof h);
    return h;
}

// The fused AdamW update of backend/cpu/kernels/elementwise.hpp, one thread per parameter value.
template <class T>
void adamw_update(cuda, std::size_t n, T* p, const T* g, T* m, T* v, double lr, double b1, double b2, double eps,
                  double wd, double bc1, double bc2, double grad_scale) {
    const T decay = T(1 - lr * wd), step = T(lr / bc1), rbc2 = T(1 / std::sqrt(bc2)), e = T(eps), gs = T(grad_scale);
    const T tb1 = T(b1), tb2 = T(b2);
    cuda_detail::for_each(n, [=] __device__(std::size_t i) {
        const T gi = gs * g[i];
        const T mi = tb1 * m[i] + (T(1) - tb1) * gi;
        const T vi = tb2 * v[i] + (T(1) - tb2) * gi * gi;
        m[i] = mi;
        v[i] = vi;
        p[i] = p[i] * decay - step * mi / (sqrt(vi) * rbc2 + e);
    });
}

}  // namespace tinymim::backends
