// linear: y = x · Wᵀ + b over the last axis, W stored [out, in] as PyTorch does.
#pragma once

#include <cstddef>

#include "tinymim/autograd/var.hpp"
#include "tinymim/backend/kernels.hpp"
#include "tinymim/core/precision.hpp"
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

// The checks of y = x · Wᵀ (+ b) and its output var [..., out] (needing a gradient when an input does).
template <element T, class SX, class SW, backend B>
auto linear_output(const var<T, SX, B>& x, const var<T, SW, B>& w, const slot<T>* bias_slot) {
    static_assert(SW::rank == 2, "linear: the weight must be a matrix [out_features, in_features]");
    static_assert(extents_compatible(SX::static_extents[SX::rank - 1], SW::static_extents[1]),
                  "linear: the input's last extent must equal the weight's in_features (weight is [out, in])");
    using SY = shape_ops::replace_last_t<SX, SW::static_extents[0]>;
    const std::size_t in = w.extent(1);
    TINYMIM_CHECK(x.extent(SX::rank - 1) == in, "linear: input ", x.shape().str(), " does not fit weight ",
                  w.shape().str(), " (expected last extent ", in, ")");
    auto ey = x.shape().all();
    ey[SX::rank - 1] = w.extent(0);
    const bool needs = x.requires_grad() || w.requires_grad() || (bias_slot != nullptr && bias_slot->requires_grad);
    return make_output<T>(x.get_tape(), extents<SY>(ey), needs);
}

template <element T, class SX, class SW, backend B>
auto linear_impl(const var<T, SX, B>& x, const var<T, SW, B>& w, const T* bias_value, slot<T>* bias_slot) {
    auto y = linear_output(x, w, bias_slot);
    const std::size_t in = w.extent(1), out = w.extent(0), rows = x.size() / in;
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

// The mixed-precision linear (bf16_mixed): x and W become bf16 operands — W once per call, and a model uses
// each weight once per forward —, y = x · Wᵀ (+ b) accumulates and is stored in float, or is rounded to bf16
// values when it feeds a float kernel as an operand (round_output: attention's q, k, v). The backward
// multiplies dy, rounded to bf16, by the forward's operands, which it keeps in bf16 (half of a float copy).
template <class SX, class SW, backend B>
auto linear_bf16_impl(const var<float, SX, B>& x, const var<float, SW, B>& w, const float* bias_value,
                      slot<float>* bias_slot, bool round_output) {
    auto y = linear_output(x, w, bias_slot);
    const std::size_t in = w.extent(1), out = w.extent(0), rows = x.size() / in;
    auto& tp = x.get_tape();
    using namespace backends;
    bf16* xb = tp.template scratch<bf16>(rows * in);
    bf16* wb = tp.template scratch<bf16>(out * in);
    to_bf16(B{}, rows * in, x.data(), xb);
    to_bf16(B{}, out * in, w.data(), wb);
    if (bias_value != nullptr) copy_tokens(B{}, rows, 1, out, bias_value, 1, 0, true, y.data(), 1, 0, false);
    gemm_bf16(B{}, false, true, rows, out, in, 1.0f, xb, in, wb, in, bias_value != nullptr ? 1.0f : 0.0f, y.data(),
              out);
    if (round_output) round_bf16(B{}, rows * out, y.data(), y.data());
    if (y.requires_grad()) {
        auto *sx = x.get_slot(), *sw = w.get_slot(), *sy = y.get_slot();
        tp.record(sy, [=](tape<B>& t) {
            const float* dy = sy->grad();
            typename tape<B>::template temporary<bf16> dyb(t, rows * out);
            to_bf16(B{}, rows * out, dy, dyb.get());
            bool fresh = false;
            if (sx->requires_grad) {
                float* dx = t.grad_for_write(sx, fresh);
                gemm_bf16(B{}, false, false, rows, in, out, 1.0f, static_cast<const bf16*>(dyb.get()), out,
                          static_cast<const bf16*>(wb), in, fresh ? 0.0f : 1.0f, dx, in);
            }
            if (sw->requires_grad) {
                float* dw = t.grad_for_write(sw, fresh);
                gemm_bf16(B{}, true, false, out, in, rows, 1.0f, static_cast<const bf16*>(dyb.get()), out,
                          static_cast<const bf16*>(xb), in, fresh ? 0.0f : 1.0f, dw, in);
            }
            if (bias_slot != nullptr && bias_slot->requires_grad)
                reduce_rows_acc(B{}, rows * out, out, 1.0f, dy, static_cast<const float*>(nullptr), t.grad(bias_slot));
        });
    }
    return y;
}

template <precision_policy P, element T>
constexpr void check_precision() {
    static_assert(precision_fits<P, T>,
                  "linear: bf16_mixed computes on float master weights (double stays exact for gradient checks)");
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

// The same under a precision policy: fp32 as above; bf16_mixed with bf16 operands and float accumulation
// (detail::linear_bf16_impl), the result rounded to bf16 values when `round_output` (it is itself an operand).
template <precision_policy P, element T, class SX, class SW, backend B>
[[nodiscard]] auto linear(const var<T, SX, B>& x, const var<T, SW, B>& w, P, bool round_output = false) {
    detail::check_precision<P, T>();
    if constexpr (P::bf16_operands)
        return detail::linear_bf16_impl(x, w, static_cast<const float*>(nullptr), static_cast<slot<float>*>(nullptr),
                                        round_output);
    else
        return linear(x, w);
}

template <precision_policy P, element T, class SX, class SW, class SB, backend B>
[[nodiscard]] auto linear(const var<T, SX, B>& x, const var<T, SW, B>& w, const var<T, SB, B>& b, P,
                          bool round_output = false) {
    detail::check_precision<P, T>();
    if constexpr (P::bf16_operands) {
        static_assert(SB::rank == 1 && extents_compatible(SB::static_extents[0], SW::static_extents[0]),
                      "linear: the bias must be a vector [out_features] matching the weight's first extent");
        TINYMIM_CHECK(b.extent(0) == w.extent(0), "linear: bias ", b.shape().str(), " does not match weight ",
                      w.shape().str());
        return detail::linear_bf16_impl(x, w, b.data(), b.get_slot(), round_output);
    } else {
        return linear(x, w, b);
    }
}

}  // namespace tinymim::ops
