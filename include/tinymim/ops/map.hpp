// map: a user's element-wise function on every backend. f is a functor with
//   T operator()(T x) const             the value y = f(x)
//   T derivative(T x, T y) const        dy/dx at x, given y = f(x) (many derivatives are cheaper from y)
// both TINYMIM_HOST_DEVICE (core/host_device.hpp) so that a .cu file runs the same functor on the GPU.
// The backward accumulates dx += dy * f.derivative(x, y).
#pragma once

#include <concepts>

#include "tinymim/autograd/var.hpp"
#include "tinymim/backend/kernels.hpp"

namespace tinymim::ops {

template <class F, class T>
concept elementwise_function = requires(const F& f, T x) {
    { f(x) } -> std::convertible_to<T>;
    { f.derivative(x, x) } -> std::convertible_to<T>;
};

template <element T, class S, backend B, class F>
[[nodiscard]] auto map(const var<T, S, B>& x, const F& f) {
    static_assert(elementwise_function<F, T>,
                  "ops::map: f needs `T operator()(T) const` and `T derivative(T x, T y) const` (see ops/map.hpp)");
    auto y = make_output<T>(x.get_tape(), x.shape(), x.requires_grad());
    const std::size_t n = x.size();
    backends::map_forward(B{}, n, f, x.data(), y.data());
    if (y.requires_grad()) {
        auto *sx = x.get_slot(), *sy = y.get_slot();
        x.get_tape().record(sy, [=](tape<B>& t) {
            backends::map_backward(B{}, n, f, static_cast<const T*>(sx->value), static_cast<const T*>(sy->value),
                                   static_cast<const T*>(sy->grad()), t.grad(sx));
        });
    }
    return y;
}

}  // namespace tinymim::ops
