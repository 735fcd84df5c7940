// residual_linear: y = residual + drop_path(x · Wᵀ + b) — the attention half's projection and residual.
// x [B, ..., in], W [out, in], b [out], residual [B, ..., out] -> [B, ..., out].
// Equals ops::add(residual, ops::drop_path(ops::linear(x, W, b), p, rng, training)).
// One node on every backend (fused/residual_branch.hpp); fast path (plan_residual_branch): the CPU's row
// blocks.
#pragma once

#include "tinymim/fused/residual_branch.hpp"
#include "tinymim/ops/elementwise.hpp"

namespace tinymim::fused {

struct residual_linear_fn {
    template <element T, class SX, class SW, class SB, class SR, backend B, precision_policy P = fp32>
    [[nodiscard]] static auto reference(const var<T, SX, B>& x, const var<T, SW, B>& w, const var<T, SB, B>& b,
                                        const var<T, SR, B>& residual, const ops::drop_path_run& dp = {}, P p = {}) {
        return ops::add(residual, ops::drop_path(ops::linear(x, w, b, p), T(dp.p), dp.rng, dp.training));
    }
    template <element T, class SX, class SW, class SB, class SR, backend B, precision_policy P = fp32>
    [[nodiscard]] var<T, SR, B> operator()(const var<T, SX, B>& x, const var<T, SW, B>& w, const var<T, SB, B>& b,
                                           const var<T, SR, B>& residual, const ops::drop_path_run& dp = {},
                                           P = {}) const {
        ops::detail::check_precision<P, T>();
        return detail::residual_branch<branch_activation::none, P>(x, w, b, residual, dp);
    }
};
inline constexpr residual_linear_fn residual_linear{};

}  // namespace tinymim::fused
