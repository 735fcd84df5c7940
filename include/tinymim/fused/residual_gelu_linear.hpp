// residual_gelu_linear: y = residual + drop_path(GELU(x) · Wᵀ + b) — the MLP half's fc2 and residual.
// x [B, ..., in], W [out, in], b [out], residual [B, ..., out] -> [B, ..., out].
// Equals ops::add(residual, ops::drop_path(ops::linear(ops::gelu(x), W, b), p, rng, training)).
// One node on every backend that keeps only x (fused/residual_branch.hpp); fast path
// (plan_residual_branch): the CPU's row blocks, forward and backward.
#pragma once

#include "tinymim/fused/residual_branch.hpp"
#include "tinymim/ops/elementwise.hpp"
#include "tinymim/ops/gelu.hpp"

namespace tinymim::fused {

struct residual_gelu_linear_fn {
    template <element T, class SX, class SW, class SB, class SR, backend B, precision_policy P = fp32>
    [[nodiscard]] static auto reference(const var<T, SX, B>& x, const var<T, SW, B>& w, const var<T, SB, B>& b,
                                        const var<T, SR, B>& residual, const ops::drop_path_run& dp = {}, P p = {}) {
        return ops::add(residual, ops::drop_path(ops::linear(ops::gelu(x), w, b, p), T(dp.p), dp.rng, dp.training));
    }
    template <element T, class SX, class SW, class SB, class SR, backend B, precision_policy P = fp32>
    [[nodiscard]] var<T, SR, B> operator()(const var<T, SX, B>& x, const var<T, SW, B>& w, const var<T, SB, B>& b,
                                           const var<T, SR, B>& residual, const ops::drop_path_run& dp = {},
                                           P = {}) const {
        ops::detail::check_precision<P, T>();
        return detail::residual_branch<branch_activation::gelu, P>(x, w, b, residual, dp);
    }
};
inline constexpr residual_gelu_linear_fn residual_gelu_linear{};

}  // namespace tinymim::fused
