// The reductions along one axis other than sum, per output entry, shared by the CPU and CUDA kernels:
// each function walks the `len` values x[l * inner] of one (outer, inner) pair, in double. Comparisons
// replace std::isfinite / isinf so that one definition serves host and device.
#pragma once

#include <cmath>
#include <cstddef>

#include "tinymim/core/host_device.hpp"

namespace tinymim::backends::axis {

// The maximum; NaN if any value is NaN (as PyTorch's max).
template <class T>
TINYMIM_HOST_DEVICE T max(const T* x, std::size_t len, std::size_t inner) {
    T m = x[0];
    for (std::size_t l = 1; l < len && m == m; ++l) {
        const T v = x[l * inner];
        if (v > m || v != v) m = v;
    }
    return m;
}
// The gradient goes to the first entry that holds the maximum m (the index PyTorch's max returns).
template <class T>
TINYMIM_HOST_DEVICE void max_backward(const T* x, T m, T dy, T* dx, std::size_t len, std::size_t inner) {
    for (std::size_t l = 0; l < len; ++l) {
        const T v = x[l * inner];
        if (v == m || (v != v && m != m)) {
            dx[l * inner] += dy;
            return;
        }
    }
}

// m + log(sum exp(x - m)) with m the maximum, so that no exp overflows; an infinite or NaN m is the result.
template <class T>
TINYMIM_HOST_DEVICE T logsumexp(const T* x, std::size_t len, std::size_t inner) {
    const T m = max(x, len, inner);
    if (!(m - m == T(0))) return m;
    double s = 0;
    for (std::size_t l = 0; l < len; ++l) s += std::exp(double(x[l * inner]) - double(m));
    return m + T(std::log(s));
}
// dx += dy * exp(x - y) (the softmax); nothing where y is -inf (every x was -inf).
template <class T>
TINYMIM_HOST_DEVICE void logsumexp_backward(const T* x, T y, T dy, T* dx, std::size_t len, std::size_t inner) {
    if (y < T(0) && !(y - y == T(0))) return;
    for (std::size_t l = 0; l < len; ++l) dx[l * inner] += dy * T(std::exp(double(x[l * inner]) - double(y)));
}

template <class T>
TINYMIM_HOST_DEVICE double mean(const T* x, std::size_t len, std::size_t inner) {
    double s = 0;
    for (std::size_t l = 0; l < len; ++l) s += double(x[l * inner]);
    return s / double(len);
}
// sum (x - mean)^2 / (len - correction), two passes.
template <class T>
TINYMIM_HOST_DEVICE T variance(const T* x, std::size_t len, std::size_t inner, std::size_t correction) {
    const double mu = mean(x, len, inner);
    double ss = 0;
    for (std::size_t l = 0; l < len; ++l) ss += (double(x[l * inner]) - mu) * (double(x[l * inner]) - mu);
    return T(ss / double(len - correction));
}
// dx += dy * 2 (x - mean) / (len - correction)
template <class T>
TINYMIM_HOST_DEVICE void variance_backward(const T* x, T dy, T* dx, std::size_t len, std::size_t inner,
                                           std::size_t correction) {
    const double mu = mean(x, len, inner), f = 2.0 * double(dy) / double(len - correction);
    for (std::size_t l = 0; l < len; ++l) dx[l * inner] += T(f * (double(x[l * inner]) - mu));
}

}  // namespace tinymim::backends::axis
