// softmax and log_softmax over the last axis, with an optional scale on the logits.
#pragma once

#include <cstddef>

#include "tinymim/autograd/var.hpp"
#include "tinymim/backend/kernels.hpp"

namespace tinymim::ops {

// y = softmax(alpha * x) over the last axis. The backward keeps only y.
template <element T, class S, backend B>
[[nodiscard]] auto softmax(const var<T, S, B>& x, T alpha = T(1)) {
    const std::size_t n = x.extent(S::rank - 1), rows = x.size() / n;
    auto y = make_output<T>(x.get_tape(), x.shape(), x.requires_grad());
    backends::softmax_forward(B{}, rows, n, alpha, x.data(), y.data());
    if (y.requires_grad()) {
        auto *sx = x.get_slot(), *sy = y.get_slot();
        x.get_tape().record(sy, [=](tape<B>& t) {
            backends::softmax_backward(B{}, rows, n, alpha, static_cast<const T*>(sy->value),
                                       static_cast<const T*>(sy->grad()), t.grad(sx));
        });
    }
    return y;
}

// y = log_softmax(alpha * x) over the last axis (stable: max-shifted log-sum-exp).
template <element T, class S, backend B>
[[nodiscard]] auto log_softmax(const var<T, S, B>& x, T alpha = T(1)) {
    const std::size_t n = x.extent(S::rank - 1), rows = x.size() / n;
    auto y = make_output<T>(x.get_tape(), x.shape(), x.requires_grad());
    backends::log_softmax_forward(B{}, rows, n, alpha, x.data(), y.data());
    if (y.requires_grad()) {
        auto *sx = x.get_slot(), *sy = y.get_slot();
        x.get_tape().record(sy, [=](tape<B>& t) {
            backends::log_softmax_backward(B{}, rows, n, alpha, static_cast<const T*>(sy->value),
                                           static_cast<const T*>(sy->grad()), t.grad(sx));
        });
    }
    return y;
}

}  // namespace tinymim::ops
