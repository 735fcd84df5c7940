// narrow along any axis (torch.narrow): entries [begin, begin + count) of one axis, copied out by the
// strided copy kernels (backend/strided.hpp); the gradient goes back into that block, zeros elsewhere.
#pragma once

#include <cstddef>

#include "tinymim/ops/concat.hpp"  // detail::concat_block, detail::swapped

namespace tinymim::ops {

// x's entries [begin, begin + count) along axis Axis. Count static: the result's extent there is Count
// (checked against a static extent at compile time); Count = dyn: the count is the run-time argument.
template <std::size_t Axis, std::size_t Count = dyn, element T, class S, backend B>
[[nodiscard]] auto narrow(const var<T, S, B>& x, std::size_t begin, std::size_t count = Count) {
    static_assert(Axis < S::rank, "narrow: the axis is out of range for this tensor's rank");
    static_assert(Count == dyn || S::static_extents[Axis] == dyn || Count <= S::static_extents[Axis],
                  "narrow: the static count is larger than the axis");
    using SY = shape_ops::set_extent_t<S, Axis, Count>;
    const auto e = x.shape().all();
    TINYMIM_CHECK(count != dyn && begin <= e[Axis] && count <= e[Axis] - begin, "narrow: entries [", begin, ", ",
                  begin + (count == dyn ? 0 : count), ") along axis ", Axis, " are not inside ", x.shape().str());
    std::size_t outer = 1, inner = 1;
    for (std::size_t i = 0; i < Axis; ++i) outer *= e[i];
    for (std::size_t i = Axis + 1; i < S::rank; ++i) inner *= e[i];
    auto ey = e;
    ey[Axis] = count;
    auto y = make_output<T>(x.get_tape(), extents<SY>(ey), x.requires_grad());
    const auto block = detail::concat_block(outer, count, e[Axis], inner);  // y's entries inside x
    const std::size_t offset = begin * inner;
    backends::strided_copy(B{}, detail::swapped(block), x.data() + offset, y.data(), false);
    if (y.requires_grad()) {
        auto *sx = x.get_slot(), *sy = y.get_slot();
        x.get_tape().record(sy, [=](tape<B>& t) {
            backends::strided_copy(B{}, block, static_cast<const T*>(sy->grad()), t.grad(sx) + offset, true);
        });
    }
    return y;
}

}  // namespace tinymim::ops
