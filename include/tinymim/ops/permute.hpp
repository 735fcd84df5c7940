// permute and transpose: the axes of a tensor reordered, copied into a new contiguous tensor (there are
// no strided views), by the strided copy kernels of backend/strided.hpp in both directions.
#pragma once

#include <array>
#include <cstddef>

#include "tinymim/autograd/var.hpp"
#include "tinymim/backend/kernels.hpp"
#include "tinymim/backend/strided.hpp"
#include "tinymim/tensor/shape_ops.hpp"

namespace tinymim::ops {

namespace detail {
// y's axis k is x's axis perm[k].
template <class SY, element T, class S, backend B>
auto permute_axes(const var<T, S, B>& x, const std::array<std::size_t, S::rank>& perm) {
    constexpr std::size_t R = S::rank;
    static_assert(R <= backends::max_layout_rank, "permute: takes tensors of rank 8 at most");
    const auto ex = x.shape().all();
    std::array<std::size_t, R> sx{}, ey{};
    for (std::size_t k = R, s = 1; k-- > 0;) sx[k] = s, s *= ex[k];
    for (std::size_t k = 0; k < R; ++k) ey[k] = ex[perm[k]];
    auto y = make_output<T>(x.get_tape(), extents<SY>(ey), x.requires_grad());
    // Over y's index space: x read through its permuted strides, y written contiguously.
    backends::strided_layout fwd;
    fwd.rank = R;
    for (std::size_t k = R, s = 1; k-- > 0;) {
        fwd.extent[k] = ey[k];
        fwd.stride_a[k] = sx[perm[k]];
        fwd.stride_b[k] = s;
        s *= ey[k];
    }
    backends::strided_copy(B{}, fwd, x.data(), y.data(), false);
    if (y.requires_grad()) {
        backends::strided_layout bwd = fwd;  // dy read contiguously, dx written through the permuted strides
        for (std::size_t k = 0; k < R; ++k) bwd.stride_a[k] = fwd.stride_b[k], bwd.stride_b[k] = fwd.stride_a[k];
        auto *sx_ = x.get_slot(), *sy = y.get_slot();
        x.get_tape().record(sy, [=](tape<B>& t) { backends::strided_copy(B{}, bwd, sy->grad(), t.grad(sx_), true); });
    }
    return y;
}

template <class S, std::size_t I, std::size_t J>
consteval auto swap_axes_arr() {
    static_assert(I < S::rank && J < S::rank, "transpose: an axis is out of range for this tensor's rank");
    auto a = S::static_extents;
    a[I] = S::static_extents[J];
    a[J] = S::static_extents[I];
    return a;
}
}  // namespace detail

// The axes reordered: result axis k is x's axis Perm[k] (torch.permute). ops::permute<0, 2, 1, 3>(x).
template <std::size_t... Perm, element T, class S, backend B>
[[nodiscard]] auto permute(const var<T, S, B>& x) {
    using SY = shape_ops::permute_t<S, Perm...>;  // checks that Perm is a permutation, with a sentence
    return detail::permute_axes<SY>(x, std::array<std::size_t, S::rank>{Perm...});
}

// Axes I and J swapped (torch.transpose).
template <std::size_t I, std::size_t J, element T, class S, backend B>
[[nodiscard]] auto transpose(const var<T, S, B>& x) {
    using SY = shape_ops::from_array_t<detail::swap_axes_arr<S, I, J>()>;
    std::array<std::size_t, S::rank> perm{};
    for (std::size_t k = 0; k < S::rank; ++k) perm[k] = k;
    perm[I] = J, perm[J] = I;
    return detail::permute_axes<SY>(x, perm);
}

}  // namespace tinymim::ops
