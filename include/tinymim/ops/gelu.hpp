// gelu: the exact (erf) GELU of MAE/timm.
#pragma once

#include "tinymim/autograd/var.hpp"
#include "tinymim/backend/kernels.hpp"

namespace tinymim::ops {

template <element T, class S, backend B>
[[nodiscard]] auto gelu(const var<T, S, B>& x) {
    auto y = make_output<T>(x.get_tape(), x.shape(), x.requires_grad());
    const std::size_t n = x.size();
    backends::gelu_forward(B{}, n, x.data(), y.data());
    if (y.requires_grad()) {
        auto *sx = x.get_slot(), *sy = y.get_slot();
        x.get_tape().record(sy, [=](tape<B>& t) {
            backends::gelu_backward(B{}, n, static_cast<const T*>(sx->value), static_cast<const T*>(sy->grad()),
                                    t.grad(sx));
        });
    }
    return y;
}

}  // namespace tinymim::ops
