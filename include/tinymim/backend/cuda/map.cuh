// CUDA kernels of ops::map, as backend/cpu/kernels/map.hpp: the functor is copied to the device by value,
// so it must be trivially copyable and its members TINYMIM_HOST_DEVICE.
#pragma once

#include <cstddef>
#include <type_traits>

#include "tinymim/backend/cuda/launch.cuh"

namespace tinymim::backends {

template <class T, class F>
void map_forward(cuda, std::size_t n, const F& f, const T* x, T* y) {
    static_assert(std::is_trivially_copyable_v<F>, "ops::map: a functor run on the GPU must be trivially copyable");
    cuda_detail::for_each(n, [=] __device__(std::size_t i) { y[i] = f(x[i]); });
}

template <class T, class F>
void map_backward(cuda, std::size_t n, const F& f, const T* x, const T* y, const T* dy, T* dx) {
    static_assert(std::is_trivially_copyable_v<F>, "ops::map: a functor run on the GPU must be trivially copyable");
    cuda_detail::for_each(n, [=] __device__(std::size_t i) { dx[i] += dy[i] * f.derivative(x[i], y[i]); });
}

}  // namespace tinymim::backends
