// CPU kernels of the reductions along one axis of [outer, len, inner] other than sum: max, logsumexp
// and variance, with their gradients (the per-entry math is backend/axis.hpp). y is [outer, inner]
// (the axis kept or not is the same memory).
#pragma once

#include <cstddef>

#include "tinymim/backend/axis.hpp"
#include "tinymim/backend/cpu/cpu.hpp"

namespace tinymim::backends {

namespace axis_detail {
// f(k, offset of x's column k) for every (outer, inner) pair k.
template <class F>
void for_each_column(std::size_t outer, std::size_t len, std::size_t inner, F&& f) {
#pragma omp parallel for schedule(static) if (outer * len * inner > 32768)
    for (std::ptrdiff_t k = 0; k < std::ptrdiff_t(outer * inner); ++k) {
        const std::size_t o = std::size_t(k) / inner, i = std::size_t(k) % inner;
        f(std::size_t(k), o * len * inner + i);
    }
}
}  // namespace axis_detail

template <class T>
void max_axis(cpu, std::size_t outer, std::size_t len, std::size_t inner, const T* x, T* y) {
    axis_detail::for_each_column(outer, len, inner,
                                 [&](std::size_t k, std::size_t c) { y[k] = axis::max(x + c, len, inner); });
}
template <class T>
void max_axis_backward(cpu, std::size_t outer, std::size_t len, std::size_t inner, const T* x, const T* y, const T* dy,
                       T* dx) {
    axis_detail::for_each_column(outer, len, inner, [&](std::size_t k, std::size_t c) {
        axis::max_backward(x + c, y[k], dy[k], dx + c, len, inner);
    });
}
template <class T>
void logsumexp_axis(cpu, std::size_t outer, std::size_t len, std::size_t inner, const T* x, T* y) {
    axis_detail::for_each_column(outer, len, inner,
                                 [&](std::size_t k, std::size_t c) { y[k] = axis::logsumexp(x + c, len, inner); });
}
template <class T>
void logsumexp_axis_backward(cpu, std::size_t outer, std::size_t len, std::size_t inner, const T* x, const T* y,
                             const T* dy, T* dx) {
    axis_detail::for_each_column(outer, len, inner, [&](std::size_t k, std::size_t c) {
        axis::logsumexp_backward(x + c, y[k], dy[k], dx + c, len, inner);
    });
}
template <class T>
void var_axis(cpu, std::size_t outer, std::size_t len, std::size_t inner, std::size_t correction, const T* x, T* y) {
    axis_detail::for_each_column(
        outer, len, inner, [&](std::size_t k, std::size_t c) { y[k] = axis::variance(x + c, len, inner, correction); });
}
template <class T>
void var_axis_backward(cpu, std::size_t outer, std::size_t len, std::size_t inner, std::size_t correction, const T* x,
                       const T* dy, T* dx) {
    axis_detail::for_each_column(outer, len, inner, [&](std::size_t k, std::size_t c) {
        axis::variance_backward(x + c, dy[k], dx + c, len, inner, correction);
    });
}

}  // namespace tinymim::backends
