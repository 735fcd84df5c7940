// MAE's fixed 2-D sin-cos position embedding (REFERENCE §8), computed in double, stored as T.
#pragma once

#include <cmath>
#include <cstddef>
#include <vector>

#include "tinymim/core/error.hpp"

namespace tinymim::nn {

// [prefix + grid², dim] row-major. Token i·grid + j (row i, column j) is
// [1-D(dim/2, j) | 1-D(dim/2, i)]: the first half encodes the column; 1-D(Dh, pos) =
// [sin(pos·w_k) | cos(pos·w_k)], w_k = 10000^(-k/(Dh/2)). The prefix rows (CLS, distillation token) are zeros.
template <class T>
[[nodiscard]] std::vector<T> sincos_pos_embed_2d(std::size_t dim, std::size_t grid, std::size_t prefix) {
    TINYMIM_CHECK(dim % 4 == 0, "sin-cos position embedding: the width ", dim, " must be a multiple of 4");
    const std::size_t half = dim / 2, quarter = dim / 4, off = prefix;
    std::vector<T> e((off + grid * grid) * dim, T(0));
    for (std::size_t i = 0; i < grid; ++i)
        for (std::size_t j = 0; j < grid; ++j) {
            T* row = e.data() + (off + i * grid + j) * dim;
            for (std::size_t k = 0; k < quarter; ++k) {
                const double w = 1.0 / std::pow(10000.0, double(k) / double(quarter));
                row[k] = T(std::sin(double(j) * w));
                row[quarter + k] = T(std::cos(double(j) * w));
                row[half + k] = T(std::sin(double(i) * w));
                row[half + quarter + k] = T(std::cos(double(i) * w));
            }
        }
    return e;
}

}  // namespace tinymim::nn
