// Initialisers as MAE: xavier-uniform for linear maps, N(0, std) for tokens, constants; all seeded.
#pragma once

#include <cmath>
#include <cstddef>
#include <vector>

#include "tinymim/core/random.hpp"
#include "tinymim/tensor/tensor.hpp"

namespace tinymim::nn::init {

template <class T, class S, class B>
void fill(tensor<T, S, B>& t, T v) {
    t.fill(v);
}

// U(-a, a), a = sqrt(6 / (fan_in + fan_out)) for a weight viewed as [fan_out, fan_in].
template <class T, class S, class B>
void xavier_uniform(tensor<T, S, B>& t, std::size_t fan_in, std::size_t fan_out, const counter_rng& rng) {
    const double a = std::sqrt(6.0 / double(fan_in + fan_out));
    std::vector<T> h(t.size());
    for (std::size_t i = 0; i < h.size(); ++i) h[i] = T((2 * rng.uniform(i) - 1) * a);
    t.copy_from(h);
}

// N(0, std), truncated at +-2 std when `truncate` (timm's trunc_normal_ with a = -2, b = 2 for std 1).
template <class T, class S, class B>
void normal(tensor<T, S, B>& t, double std, const counter_rng& rng, bool truncate = false) {
    std::vector<T> h(t.size());
    std::uint64_t k = 0;
    for (std::size_t i = 0; i < h.size(); ++i) {
        double v = rng.normal(k++);
        while (truncate && std::abs(v) > 2.0) v = rng.normal(k++);
        h[i] = T(v * std);
    }
    t.copy_from(h);
}

}  // namespace tinymim::nn::init
