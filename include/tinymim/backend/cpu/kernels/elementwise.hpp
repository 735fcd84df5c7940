// CPU kernels for fills, element-wise arithmetic with trailing broadcasts, and their gradients.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstddef>

#include "tinymim/backend/cpu/cpu.hpp"
#include "tinymim/backend/kinds.hpp"

namespace tinymim::backends {

template <class T>
void fill(cpu, T* p, std::size_t n, T v) {
#pragma omp parallel for schedule(static) if (n > 32768)
    for (std::ptrdiff_t i = 0; i < std::ptrdiff_t(n); ++i) p[i] = v;
}

// out[i] = a[i] (op) b[i % m]: b has the trailing m values of a's shape (m == n: same shape).
template <class T>
void binary(cpu, binop op, std::size_t n, std::size_t m, const T* a, const T* b, T* out) {
    const std::ptrdiff_t rows = std::ptrdiff_t(n / m);
#pragma omp parallel for schedule(static) if (n > 32768)
    for (std::ptrdiff_t r = 0; r < rows; ++r) {
        const T* ar = a + std::size_t(r) * m;
        T* o = out + std::size_t(r) * m;
        switch (op) {
            case binop::add:
                for (std::size_t j = 0; j < m; ++j) o[j] = ar[j] + b[j];
                break;
            case binop::sub:
                for (std::size_t j = 0; j < m; ++j) o[j] = ar[j] - b[j];
                break;
            case binop::mul:
                for (std::size_t j = 0; j < m; ++j) o[j] = ar[j] * b[j];
                break;
        }
    }
}

// out[i] = s * a[i]
template <class T>
void scale(cpu, std::size_t n, T s, const T* a, T* out) {
#pragma omp parallel for schedule(static) if (n > 32768)
    for (std::ptrdiff_t i = 0; i < std::ptrdiff_t(n); ++i) out[i] = s * a[i];
}

// dst[i] += alpha * src[i]
template <class T>
void axpy(cpu, std::size_t n, T alpha, const T* src, T* dst) {
#pragma omp parallel for schedule(static) if (n > 32768)
    for (std::ptrdiff_t i = 0; i < std::ptrdiff_t(n); ++i) dst[i] += alpha * src[i];
}

// dst[j] += alpha * sum_r src[r*m + j] * (w ? w[r*m + j] : 1): the gradient of a broadcast operand.
template <class T>
void reduce_rows_acc(cpu, std::size_t n, std::size_t m, T alpha, const T* src, const T* w, T* dst) {
    const T* partial =
        cpu_detail::sum_rows_in_ranges<T>(n / m, m, n > 32768, [&](std::size_t lo, std::size_t hi, T* acc) {
            for (std::size_t r = lo; r < hi; ++r) {
                const T* s = src + r * m;
                if (w != nullptr) {
                    const T* wr = w + r * m;
                    for (std::size_t j = 0; j < m; ++j) acc[j] += s[j] * wr[j];
                } else {
                    for (std::size_t j = 0; j < m; ++j) acc[j] += s[j];
                }
            }
        });
    for (std::size_t j = 0; j < m; ++j) {
        T sum = T(0);
        for (std::size_t q = 0; q < cpu_detail::sum_ranges; ++q) sum += partial[q * m + j];
        dst[j] += alpha * sum;
    }
}

// dst[i] += g[i] * b[i % m]: the gradient of a in a * b.
template <class T>
void mul_acc(cpu, std::size_t n, std::size_t m, const T* g, const T* b, T* dst) {
    const std::ptrdiff_t rows = std::ptrdiff_t(n / m);
#pragma omp parallel for schedule(static) if (n > 32768)
    for (std::ptrdiff_t r = 0; r < rows; ++r) {
        const T* gr = g + std::size_t(r) * m;
        T* d = dst + std::size_t(r) * m;
        for (std::size_t j = 0; j < m; ++j) d[j] += gr[j] * b[j];
    }
}

// out[r*inner + i] = x[r*inner + i] * s[r]  (per-row scale: drop path), and its accumulate form.
template <class T>
void scale_rows(cpu, std::size_t rows, std::size_t inner, const T* s, const T* x, T* out, bool accumulate) {
#pragma omp parallel for schedule(static) if (rows * inner > 32768)
    for (std::ptrdiff_t r = 0; r < std::ptrdiff_t(rows); ++r) {
        const T f = s[r];
        const T* xr = x + std::size_t(r) * inner;
        T* o = out + std::size_t(r) * inner;
        if (accumulate)
            for (std::size_t i = 0; i < inner; ++i) o[i] += f * xr[i];
        else
            for (std::size_t i = 0; i < inner; ++i) o[i] = f * xr[i];
    }
}

// y[o, i] = sum_l x[o, l, i]  (a reduction over the middle axis of [outer, len, inner]).
template <class T>
void sum_axis(cpu, std::size_t outer, std::size_t len, std::size_t inner, T alpha, const T* x, T* y) {
#pragma omp parallel for schedule(static) if (outer * len * inner > 32768)
    for (std::ptrdiff_t o = 0; o < std::ptrdiff_t(outer); ++o) {
        T* yo = y + std::size_t(o) * inner;
        std::fill(yo, yo + inner, T(0));
        for (std::size_t l = 0; l < len; ++l) {
            const T* xr = x + (std::size_t(o) * len + l) * inner;
            for (std::size_t i = 0; i < inner; ++i) yo[i] += xr[i];
        }
        for (std::size_t i = 0; i < inner; ++i) yo[i] *= alpha;
    }
}

// dx[o, l, i] += alpha * dy[o, i]
template <class T>
void sum_axis_backward(cpu, std::size_t outer, std::size_t len, std::size_t inner, T alpha, const T* dy, T* dx) {
#pragma omp parallel for schedule(static) if (outer * len * inner > 32768)
    for (std::ptrdiff_t o = 0; o < std::ptrdiff_t(outer); ++o) {
        const T* g = dy + std::size_t(o) * inner;
        for (std::size_t l = 0; l < len; ++l) {
            T* d = dx + (std::size_t(o) * len + l) * inner;
            for (std::size_t i = 0; i < inner; ++i) d[i] += alpha * g[i];
        }
    }
}

// Sum of all n values into out[0] (double accumulation for float).
template <class T>
void sum_all(cpu, std::size_t n, T alpha, const T* x, T* out) {
    double acc = 0;
#pragma omp parallel for reduction(+ : acc) schedule(static) if (n > 32768)
    for (std::ptrdiff_t i = 0; i < std::ptrdiff_t(n); ++i) acc += double(x[i]);
    out[0] = T(alpha * acc);
}

// dx[i] += alpha * dy[0]
template <class T>
void add_scalar_grad(cpu, std::size_t n, T alpha, const T* dy, T* dx) {
    const T g = alpha * dy[0];
#pragma omp parallel for schedule(static) if (n > 32768)
    for (std::ptrdiff_t i = 0; i < std::ptrdiff_t(n); ++i) dx[i] += g;
}

}  // namespace tinymim::backends

namespace tinymim::backends {

// dst[r*m + j] = src[j] for r < rows (a row repeated; its gradient is reduce_rows_acc).
template <class T>
void repeat_rows(cpu, std::size_t rows, std::size_t m, const T* src, T* dst) {
#pragma omp parallel for schedule(static) if (rows * m > 32768)
    for (std::ptrdiff_t r = 0; r < std::ptrdiff_t(rows); ++r) std::copy(src, src + m, dst + std::size_t(r) * m);
}

}  // namespace tinymim::backends

namespace tinymim::backends {

// Sum of squares (double accumulation): for gradient-norm clipping.
template <class T>
[[nodiscard]] double sum_squares(cpu, std::size_t n, const T* x) {
    double acc = 0;
#pragma omp parallel for reduction(+ : acc) schedule(static) if (n > 32768)
    for (std::ptrdiff_t i = 0; i < std::ptrdiff_t(n); ++i) acc += double(x[i]) * double(x[i]);
    return acc;
}

// One fused AdamW update (PyTorch's, decoupled weight decay): g' = grad_scale·g;
// p *= 1 - lr·wd; m = b1·m + (1-b1)·g'; v = b2·v + (1-b2)·g'²; p -= lr/bc1 · m / (sqrt(v)/sqrt(bc2) + eps).
template <class T>
void adamw_update(cpu, std::size_t n, T* p, const T* g, T* m, T* v, double lr, double b1, double b2, double eps,
                  double wd, double bc1, double bc2, double grad_scale) {
    const T decay = T(1 - lr * wd), step = T(lr / bc1), rbc2 = T(1 / std::sqrt(bc2)), e = T(eps), gs = T(grad_scale);
    const T tb1 = T(b1), tb2 = T(b2);
#pragma omp parallel for schedule(static) if (n > 32768)
    for (std::ptrdiff_t i = 0; i < std::ptrdiff_t(n); ++i) {
        const T gi = gs * g[i];
        m[i] = tb1 * m[i] + (T(1) - tb1) * gi;
        v[i] = tb2 * v[i] + (T(1) - tb2) * gi * gi;
        p[i] = p[i] * decay - step * m[i] / (std::sqrt(v[i]) * rbc2 + e);
    }
}

// [W | b]: each of W's `out` rows of `in` values followed by b's value — the weight that rows carrying a
// column of ones multiply, so that the GEMM adds the bias.
template <class T>
void weight_with_bias(cpu, const T* w, const T* b, std::size_t out, std::size_t in, T* wb) {
    for (std::size_t o = 0; o < out; ++o) {
        std::copy(w + o * in, w + (o + 1) * in, wb + o * (in + 1));
        wb[o * (in + 1) + in] = b[o];
    }
}

// The reverse: wb [out, in + 1] into dw [out, in] and db [out], written (fresh) or added.
template <class T>
void add_weight_bias(cpu, const T* wb, std::size_t out, std::size_t in, T* dw, bool fresh_w, T* db, bool fresh_b) {
    for (std::size_t o = 0; o < out; ++o) {
        const T* r = wb + o * (in + 1);
        T* d = dw + o * in;
        if (fresh_w)
            std::copy(r, r + in, d);
        else
            for (std::size_t j = 0; j < in; ++j) d[j] += r[j];
        db[o] = fresh_b ? r[in] : db[o] + r[in];
    }
}

}  // namespace tinymim::backends
