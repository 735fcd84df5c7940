// CPU kernels of ops::map: y[i] = f(x[i]) and dx[i] += dy[i] * f.derivative(x[i], y[i]).
#pragma once

#include <cstddef>

#include "tinymim/backend/cpu/cpu.hpp"

namespace tinymim::backends {

template <class T, class F>
void map_forward(cpu, std::size_t n, const F& f, const T* x, T* y) {
#pragma omp parallel for schedule(static) if (n > 32768)
    for (std::ptrdiff_t i = 0; i < std::ptrdiff_t(n); ++i) y[i] = f(x[i]);
}

template <class T, class F>
void map_backward(cpu, std::size_t n, const F& f, const T* x, const T* y, const T* dy, T* dx) {
#pragma omp parallel for schedule(static) if (n > 32768)
    for (std::ptrdiff_t i = 0; i < std::ptrdiff_t(n); ++i) dx[i] += dy[i] * f.derivative(x[i], y[i]);
}

}  // namespace tinymim::backends
