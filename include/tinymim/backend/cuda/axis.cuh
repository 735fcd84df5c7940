// CUDA kernels of max, logsumexp and variance along one axis of [outer, len, inner], as
// backend/cpu/kernels/axis.hpp: a thread per (outer, inner) pair runs backend/axis.hpp's math.
#pragma once

#include <cstddef>

#include "tinymim/backend/axis.hpp"
#include "tinymim/backend/cuda/launch.cuh"

namespace tinymim::cuda_detail {
// f(k, offset of x's column k) for every (outer, inner) pair k.
template <class F>
void for_each_column(std::size_t outer, std::size_t len, std::size_t inner, F f) {
    for_each(outer * inner, [=] __device__(std::size_t k) { f(k, (k / inner) * len * inner + k % inner); });
}
}  // namespace tinymim::cuda_detail

namespace tinymim::backends {

template <class T>
void max_axis(cuda, std::size_t outer, std::size_t len, std::size_t inner, const T* x, T* y) {
    cuda_detail::for_each_column(outer, len, inner,
                                 [=] __device__(std::size_t k, std::size_t c) { y[k] = axis::max(x + c, len, inner); });
}
template <class T>
void max_axis_backward(cuda, std::size_t outer, std::size_t len, std::size_t inner, const T* x, const T* y, const T* dy,
                       T* dx) {
    cuda_detail::for_each_column(outer, len, inner, [=] __device__(std::size_t k, std::size_t c) {
        axis::max_backward(x + c, y[k], dy[k], dx + c, len, inner);
    });
}
template <class T>
void logsumexp_axis(cuda, std::size_t outer, std::size_t len, std::size_t inner, const T* x, T* y) {
    cuda_detail::for_each_column(
        outer, len, inner, [=] __device__(std::size_t k, std::size_t c) { y[k] = axis::logsumexp(x + c, len, inner); });
}
template <class T>
void logsumexp_axis_backward(cuda, std::size_t outer, std::size_t len, std::size_t inner, const T* x, const T* y,
                             const T* dy, T* dx) {
    cuda_detail::for_each_column(outer, len, inner, [=] __device__(std::size_t k, std::size_t c) {
        axis::logsumexp_backward(x + c, y[k], dy[k], dx + c, len, inner);
    });
}
template <class T>
void var_axis(cuda, std::size_t outer, std::size_t len, std::size_t inner, std::size_t correction, const T* x, T* y) {
    cuda_detail::for_each_column(outer, len, inner, [=] __device__(std::size_t k, std::size_t c) {
        y[k] = axis::variance(x + c, len, inner, correction);
    });
}
template <class T>
void var_axis_backward(cuda, std::size_t outer, std::size_t len, std::size_t inner, std::size_t correction, const T* x,
                       const T* dy, T* dx) {
    cuda_detail::for_each_column(outer, len, inner, [=] __device__(std::size_t k, std::size_t c) {
        axis::variance_backward(x + c, dy[k], dx + c, len, inner, correction);
    });
}

}  // namespace tinymim::backends
