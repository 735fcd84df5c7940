// Host batches on a training backend: the loader makes batches in host memory; a CUDA model needs
// them on the device. on_backend<B>(x) is x itself for the CPU and a device copy otherwise.
#pragma once

#include <type_traits>

#include "tinymim/tensor/tensor.hpp"

namespace tinymim::train {

// Bind the result with auto&&: a reference for the CPU, a new tensor for other backends.
template <class B, class T, class S>
[[nodiscard]] decltype(auto) on_backend(const tensor<T, S, cpu>& x) {
    if constexpr (std::is_same_v<B, cpu>) {  // the loader's own batch, no copy
        return (x);
    } else {
        tensor<T, S, B> y(x.shape());
        y.copy_from(x.data(), x.size());
        return y;
    }
}

// One value of a (scalar) var or tensor, read back to the host.
template <class V>
[[nodiscard]] double read_scalar(const V& v) {
    using T = std::remove_cv_t<std::remove_pointer_t<decltype(v.data())>>;
    T x{};
    V::backend_type::copy_to_host(&x, v.data(), sizeof(T));
    return double(x);
}

}  // namespace tinymim::train
