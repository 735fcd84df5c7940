// mlp_residual: a pre-norm block's MLP half, y = x + drop_path(GELU(LN(x; gamma, beta) · W1ᵀ + b1) · W2ᵀ + b2).
// x [..., dim], gamma and beta [dim], W1 [hidden, dim], b1 [hidden], W2 [dim, hidden], b2 [dim].
// Equals ops::add(x, ops::drop_path(ops::linear(ops::gelu(ops::linear(ops::layer_norm(x), W1, b1)), W2, b2))).
// Fast path (plan_mlp_residual), with nothing to differentiate and no drop path: the whole half in
// cache-sized row blocks, the hidden activations never in memory. Otherwise, and under bf16_mixed,
// layer_norm_linear then residual_gelu_linear (on the kept samples only under a drop path).
#pragma once

#include <cstddef>

#include "tinymim/autograd/var.hpp"
#include "tinymim/backend/kernels.hpp"
#include "tinymim/fused/kept_samples.hpp"
#include "tinymim/fused/layer_norm_linear.hpp"
#include "tinymim/fused/residual_gelu_linear.hpp"
#include "tinymim/ops/gelu.hpp"

namespace tinymim::fused {

struct mlp_residual_fn {
    template <element T, class S, class SG, class SW1, class SB1, class SW2, class SB2, backend B,
              precision_policy P = fp32>
    [[nodiscard]] static auto reference(const var<T, S, B>& x, const var<T, SG, B>& gamma, const var<T, SG, B>& beta,
                                        T eps, const var<T, SW1, B>& w1, const var<T, SB1, B>& b1,
                                        const var<T, SW2, B>& w2, const var<T, SB2, B>& b2,
                                        const ops::drop_path_run& dp = {}, P p = {}) {
        auto h = ops::gelu(ops::linear(ops::layer_norm(x, gamma, beta, eps), w1, b1, p));
        return ops::add(x, ops::drop_path(ops::linear(h, w2, b2, p), T(dp.p), dp.rng, dp.training));
    }

    template <element T, class S, class SG, class SW1, class SB1, class SW2, class SB2, backend B,
              precision_policy P = fp32>
    [[nodiscard]] var<T, S, B> operator()(const var<T, S, B>& x, const var<T, SG, B>& gamma, const var<T, SG, B>& beta,
                                          T eps, const var<T, SW1, B>& w1, const var<T, SB1, B>& b1,
                                          const var<T, SW2, B>& w2, const var<T, SB2, B>& b2,
                                          const ops::drop_path_run& dp = {}, P = {}) const {
        ops::detail::check_precision<P, T>();
        static_assert(SW1::rank == 2 && SW2::rank == 2,
                      "mlp_residual: the weights must be matrices [out_features, in_features]");
        static_assert(extents_compatible(SW1::static_extents[0], SW2::static_extents[1]) &&
                          extents_compatible(SW1::static_extents[1], SW2::static_extents[0]),
                      "mlp_residual: W1 must be [hidden, dim] and W2 [dim, hidden]");
        const std::size_t dim = w1.extent(1), hidden = w1.extent(0), rows = x.size() / dim;
        TINYMIM_CHECK(
            x.extent(S::rank - 1) == dim && w2.extent(0) == dim && w2.extent(1) == hidden && b1.extent(0) == hidden &&
                b2.extent(0) == dim && gamma.extent(0) == dim && beta.extent(0) == dim,
            "mlp_residual: input ", x.shape().str(), ", W1 ", w1.shape().str(), ", b1 ", b1.shape().str(), ", W2 ",
            w2.shape().str(), ", b2 ", b2.shape().str(), " and the norm's ", gamma.shape().str(),
            " do not fit together (expected [..., dim], [hidden, dim], [hidden], [dim, hidden], [dim], [dim])");
        if (const auto kept = kept_runs(x, dp))
            return detail::mlp_half_on_kept<P>(*kept, x, gamma, beta, eps, w1, b1, w2, b2, dp);
        const bool needs = x.requires_grad() || gamma.requires_grad() || beta.requires_grad() || w1.requires_grad() ||
                           b1.requires_grad() || w2.requires_grad() || b2.requires_grad();
        const bool drops = dp.training && dp.p > 0;
        if constexpr (!P::bf16_operands && requires { plan_mlp_residual(B{}, rows, dim, hidden, sizeof(T)); }) {
            if (!needs && !drops) {
                if (auto plan = plan_mlp_residual(B{}, rows, dim, hidden, sizeof(T))) {
                    auto y = make_output<T>(x.get_tape(), extents<S>(x.shape().all()), false);
                    mlp_residual_forward(B{}, *plan, rows, dim, hidden, eps, x.data(), gamma.data(), beta.data(),
                                         w1.data(), b1.data(), w2.data(), b2.data(), y.data());
                    return y;
                }
            }
        }
        return detail::residual_branch<branch_activation::gelu, P>(
            detail::layer_norm_linear<P>(x, gamma, beta, eps, w1, b1, nullptr), w2, b2, x, dp);
    }
};
inline constexpr mlp_residual_fn mlp_residual{};

}  // namespace tinymim::fused
