// sum / mean over one axis, and over everything (to a scalar).
#pragma once

#include <cstddef>

#include "tinymim/autograd/var.hpp"
#include "tinymim/backend/kernels.hpp"
#include "tinymim/tensor/shape_ops.hpp"

namespace tinymim::ops {

namespace detail {
template <std::size_t Axis, element T, class S, backend B>
auto reduce_axis(const var<T, S, B>& x, bool average) {
    static_assert(Axis < S::rank, "sum/mean: the axis is out of range for this tensor's rank");
    using SY = shape_ops::remove_axis_t<S, Axis>;
    const auto e = x.shape().all();
    std::size_t outer = 1, inner = 1;
    for (std::size_t i = 0; i < Axis; ++i) outer *= e[i];
    for (std::size_t i = Axis + 1; i < S::rank; ++i) inner *= e[i];
    const std::size_t len = e[Axis];
    std::array<std::size_t, SY::rank> ey{};
    for (std::size_t i = 0, k = 0; i < S::rank; ++i)
        if (i != Axis) ey[k++] = e[i];
    auto y = make_output<T>(x.get_tape(), extents<SY>(ey), x.requires_grad());
    const T alpha = average ? T(1) / T(len) : T(1);
    backends::sum_axis(B{}, outer, len, inner, alpha, x.data(), y.data());
    if (y.requires_grad()) {
        auto *sx = x.get_slot(), *sy = y.get_slot();
        x.get_tape().record(sy, [=](tape<B>& t) {
            backends::sum_axis_backward(B{}, outer, len, inner, alpha, sy->grad(), t.grad(sx));
        });
    }
    return y;
}
template <element T, class S, backend B>
auto reduce_all(const var<T, S, B>& x, bool average) {
    auto y = make_output<T>(x.get_tape(), extents<shape<>>{}, x.requires_grad());
    const std::size_t n = x.size();
    const T alpha = average ? T(1) / T(n) : T(1);
    backends::sum_all(B{}, n, alpha, x.data(), y.data());
    if (y.requires_grad()) {
        auto *sx = x.get_slot(), *sy = y.get_slot();
        x.get_tape().record(sy, [=](tape<B>& t) { backends::add_scalar_grad(B{}, n, alpha, sy->grad(), t.grad(sx)); });
    }
    return y;
}
}  // namespace detail

// Sum over axis Axis (the axis disappears).
template <std::size_t Axis, element T, class S, backend B>
[[nodiscard]] auto sum(const var<T, S, B>& x) {
    return detail::reduce_axis<Axis>(x, false);
}
// Mean over axis Axis (the axis disappears).
template <std::size_t Axis, element T, class S, backend B>
[[nodiscard]] auto mean(const var<T, S, B>& x) {
    return detail::reduce_axis<Axis>(x, true);
}
// Sum of all entries, a scalar (shape<>).
template <element T, class S, backend B>
[[nodiscard]] auto sum(const var<T, S, B>& x) {
    return detail::reduce_all(x, false);
}
// Mean of all entries, a scalar (shape<>).
template <element T, class S, backend B>
[[nodiscard]] auto mean(const var<T, S, B>& x) {
    return detail::reduce_all(x, true);
}

}  // namespace tinymim::ops
