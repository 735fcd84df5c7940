// row_argmax: the index of each row's largest entry of a [rows, k] tensor (the first on ties), read back to
// the host (predicted classes, DeiT's hard teacher labels).
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

#include "tinymim/tensor/tensor.hpp"

namespace tinymim {

template <class T, class S, backend B>
[[nodiscard]] std::vector<std::int32_t> row_argmax(const tensor<T, S, B>& x) {
    static_assert(S::rank == 2, "row_argmax: expects a [rows, k] tensor");
    const std::size_t rows = x.extent(0), k = x.extent(1);
    const std::vector<T> host = x.to_vector();
    std::vector<std::int32_t> arg(rows, 0);
    for (std::size_t r = 0; r < rows; ++r) {
        const T* row = host.data() + r * k;
        for (std::size_t j = 1; j < k; ++j)
            if (row[j] > row[std::size_t(arg[r])]) arg[r] = std::int32_t(j);
    }
    return arg;
}

}  // namespace tinymim
