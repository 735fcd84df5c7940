// linear: y = x · Wᵀ + b over the last axis, W stored [out, in] as PyTorch does.
#pragma once

#include <cstddef>

#include "tinymim/autograd/var.hpp"
#include "tinymim/backend/kernels.hpp"
#include "tinymim/tensor/shape_ops.hpp"

namespace tinymim::ops {

namespace detail {
// The backward of y = a · Wᵀ + b over `rows` rows, from dy: dx (+)= dy · W (sx null or needing no
// gradient: skipped), dW (+)= dyᵀ · a, db += the column sums of dy (sb may be null). A first gradient
// is written by its GEMM (beta 0), a later one added (beta 1). Shared by linear and the fused residual
// branches (fused/residual_branch.hpp), which pass a recomputed activation as `a`.
template <element T, backend B>
void linear_backward(tape<B>& t, std::size_t rows, std::size_t in, std::size_t out, const T* dy, const T* a,
                     slot<T>* sx, slot<T>* sw, slot<T>* sb) {
    using namespace backends;
    bool fresh = false;
    if (sx != nullptr && sx->requires_grad) {
        T* dx = t.grad_for_write(sx, fresh);
        gemm(B{}, false, false, rows, in, out, T(1), dy, out, static_cast<const T*>(sw->value), in, fresh ? T(0) : T(1),
             dx, in);
    }
    if (sw->requires_grad) {
        T* dw = t.grad_for_write(sw, fresh);
        gemm(B{}, true, false, out, in, rows, T(1), dy, out, a, in, fresh ? T(0) : T(1), dw, in);
    }
    if (sb != nullptr && sb->requires_grad)
        reduce_rows_acc(B{}, rows * out, out, T(1), dy, static_cast<const T*>(nullptr), t.grad(sb));
}

template <element T, class SX, class SW, backend B>
auto linear_impl(const var<T, SX, B>& x, const var<T, SW, B>& w, const T* bias_value, slot<T>* bias_slot) {
    static_assert(SW::rank == 2, "linear: the weight must be a matrix [out_features, in_features]");
    static_assert(extents_compatible(SX::static_extents[SX::rank - 1], SW::static_extents[1]),
                  "linear: the input's last extent must equal the weight's in_features (weight is [out, in])");
    using SY = shape_ops::replace_last_t<SX, SW::static_extents[0]>;
    const std::size_t in = w.extent(1), out = w.extent(0);
    TINYMIM_CHECK(x.extent(SX::rank - 1) == in, "linear: input ", x.shape().str(), " does not fit weight ",
                  w.shape().str(), " (expected last extent ", in, ")");
    const std::size_t rows = x.size() / in;
    auto ey = x.shape().all();
    ey[SX::rank - 1] = out;
    const bool needs = x.requires_grad() || w.requires_grad() || (bias_slot != nullptr && bias_slot->requires_grad);
    auto y = make_output<T>(x.get_tape(), extents<SY>(ey), needs);
    using namespace backends;
    if (bias_value != nullptr) {  // y starts as the bias in every row; the GEMM adds x · Wᵀ (one pass less)
        copy_tokens(B{}, rows, 1, out, bias_value, 1, 0, true, y.data(), 1, 0, false);
        gemm(B{}, false, true, rows, out, in, T(1), x.data(), in, w.data(), in, T(1), y.data(), out);
    } else {
        gemm(B{}, false, true, rows, out, in, T(1), x.data(), in, w.data(), in, T(0), y.data(), out);
    }
    if (y.requires_grad()) {
        auto *sx = x.get_slot(), *sw = w.get_slot(), *sy = y.get_slot();
        x.get_tape().record(sy, [=](tape<B>& t) {
            linear_backward(t, rows, in, out, static_cast<const T*>(sy->grad()), static_cast<const T*>(sx->value), sx,
                            sw, bias_slot);
        });
    }
    return y;
}
}  // namespace detail

// y = x · Wᵀ (no bias). x: [..., in], W: [out, in] -> [..., out].
template <element T, class SX, class SW, backend B>
[[nodiscard]] auto linear(const var<T, SX, B>& x, const var<T, SW, B>& w) {
    return detail::linear_impl(x, w, static_cast<const T*>(nullptr), static_cast<slot<T>*>(nullptr));
}

// y = x · Wᵀ + b. b: [out].
template <element T, class SX, class SW, class SB, backend B>
[[nodiscard]] auto linear(const var<T, SX, B>& x, const var<T, SW, B>& w, const var<T, SB, B>& b) {
    static_assert(SB::rank == 1 && extents_compatible(SB::static_extents[0], SW::static_extents[0]),
                  "linear: the bias must be a vector [out_features] matching the weight's first extent");
    TINYMIM_CHECK(b.extent(0) == w.extent(0), "linear: bias ", b.shape().str(), " does not match weight ",
                  w.shape().str());
    return detail::linear_impl(x, w, static_cast<const T*>(b.data()), b.get_slot());
}

}  // namespace tinymim::ops
