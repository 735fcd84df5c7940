// concat and stack along any axis: a and b copied into one tensor by the strided copy kernels
// (backend/strided.hpp); the gradient of each side is its block of the result's gradient.
#pragma once

#include <array>
#include <cstddef>

#include "tinymim/autograd/var.hpp"
#include "tinymim/backend/kernels.hpp"
#include "tinymim/backend/strided.hpp"
#include "tinymim/tensor/shape_ops.hpp"

namespace tinymim::ops {

namespace detail {
// One side's block of the result seen as [outer, len, inner] inside [outer, total, inner].
inline backends::strided_layout concat_block(std::size_t outer, std::size_t len, std::size_t total, std::size_t inner) {
    backends::strided_layout l;
    l.rank = 3;
    l.extent[0] = outer, l.extent[1] = len, l.extent[2] = inner;
    l.stride_a[0] = len * inner, l.stride_a[1] = inner, l.stride_a[2] = 1;    // the side, contiguous
    l.stride_b[0] = total * inner, l.stride_b[1] = inner, l.stride_b[2] = 1;  // its block of the result
    return l;
}
inline backends::strided_layout swapped(backends::strided_layout l) {
    for (std::size_t k = 0; k < l.rank; ++k) {
        const std::size_t s = l.stride_a[k];
        l.stride_a[k] = l.stride_b[k], l.stride_b[k] = s;
    }
    return l;
}

template <std::size_t Axis, class SY, element T, class SA, class SB, backend B>
auto concat_impl(const char* name, const var<T, SA, B>& a, const var<T, SB, B>& b) {
    const auto ea = a.shape().all(), eb = b.shape().all();
    bool same = true;
    for (std::size_t i = 0; i < SA::rank; ++i) same = same && (i == Axis || ea[i] == eb[i]);
    TINYMIM_CHECK(same, name, ": shapes differ outside axis ", Axis, ": ", a.shape().str(), " and ", b.shape().str());
    std::size_t outer = 1, inner = 1;
    for (std::size_t i = 0; i < Axis; ++i) outer *= ea[i];
    for (std::size_t i = Axis + 1; i < SA::rank; ++i) inner *= ea[i];
    const std::size_t la = ea[Axis], lb = eb[Axis], total = la + lb;
    auto ey = ea;
    ey[Axis] = total;
    auto y = make_output<T>(a.get_tape(), extents<SY>(ey), a.requires_grad() || b.requires_grad());
    const auto block_a = concat_block(outer, la, total, inner), block_b = concat_block(outer, lb, total, inner);
    backends::strided_copy(B{}, block_a, a.data(), y.data(), false);
    backends::strided_copy(B{}, block_b, b.data(), y.data() + la * inner, false);
    if (y.requires_grad()) {
        auto *sa = a.get_slot(), *sb = b.get_slot(), *sy = y.get_slot();
        const auto back_a = swapped(block_a), back_b = swapped(block_b);
        a.get_tape().record(sy, [=](tape<B>& t) {
            const T* g = sy->grad();
            if (sa->requires_grad) backends::strided_copy(B{}, back_a, g, t.grad(sa), true);
            if (sb->requires_grad) backends::strided_copy(B{}, back_b, g + la * inner, t.grad(sb), true);
        });
    }
    return y;
}
}  // namespace detail

// a and b joined along axis Axis (torch.cat): every other extent must agree.
template <std::size_t Axis, element T, class SA, class SB, backend B>
[[nodiscard]] auto concat(const var<T, SA, B>& a, const var<T, SB, B>& b) {
    static_assert(SA::rank == SB::rank, "concat: the two tensors have different ranks");
    static_assert(Axis < SA::rank, "concat: the axis is out of range for these tensors' rank");
    static_assert(shape_ops::concatenable<SA, SB, Axis>(), "concat: the static extents differ outside the axis");
    return detail::concat_impl<Axis, shape_ops::concat_t<SA, SB, Axis>>("concat", a, b);
}

// a and b of one shape stacked along a new axis Axis of extent 2 (torch.stack).
template <std::size_t Axis, element T, class SA, class SB, backend B>
[[nodiscard]] auto stack(const var<T, SA, B>& a, const var<T, SB, B>& b) {
    static_assert(shapes_compatible<SA, SB>(), "stack: the two tensors' static shapes differ");
    static_assert(Axis <= SA::rank, "stack: the new axis is beyond the rank");
    using SA1 = shape_ops::insert_axis_t<SA, Axis, 1>;
    using SB1 = shape_ops::insert_axis_t<SB, Axis, 1>;
    auto insert_one = [](const auto& e) {
        std::array<std::size_t, SA::rank + 1> out{};
        for (std::size_t i = 0, k = 0; i <= SA::rank; ++i) out[i] = i == Axis ? 1 : e[k++];
        return out;
    };
    TINYMIM_CHECK(a.shape().all() == b.shape().all(), "stack: shapes differ: ", a.shape().str(), " and ",
                  b.shape().str());
    const auto va = a.view_as(extents<SA1>(insert_one(a.shape().all())));
    const auto vb = b.view_as(extents<SB1>(insert_one(b.shape().all())));
    return detail::concat_impl<Axis, shape_ops::insert_axis_t<common_shape_t<SA, SB>, Axis, 2>>("stack", va, vb);
}

}  // namespace tinymim::ops
