// attention_residual: a pre-norm block's attention half, y = x + drop_path(proj(attention(qkv(LN(x)), heads))).
// x [batch, tokens, dim], gamma and beta [dim], Wqkv [3 dim, dim], bqkv [3 dim], Wproj [dim, dim], bproj [dim].
// Equals residual_linear.reference(attention_qkv_out.reference(layer_norm_linear.reference(x, ...)), ...).
// Fast path (plan_attention_residual), with nothing to differentiate and no drop path: the whole half in
// blocks of whole samples that stay in cache. Otherwise, and under bf16_mixed, the three fused ops (on the
// kept samples only under a drop path, fused/kept_samples.hpp).
#pragma once

#include <cstddef>

#include "tinymim/autograd/var.hpp"
#include "tinymim/backend/kernels.hpp"
#include "tinymim/fused/attention_qkv_out.hpp"
#include "tinymim/fused/kept_samples.hpp"
#include "tinymim/fused/layer_norm_linear.hpp"
#include "tinymim/fused/residual_linear.hpp"

namespace tinymim::fused {

struct attention_residual_fn {
    template <element T, class S, class SG, class SQ, class SQB, class SP, class SPB, backend B,
              precision_policy P = fp32>
    [[nodiscard]] static auto reference(const var<T, S, B>& x, const var<T, SG, B>& gamma, const var<T, SG, B>& beta,
                                        T eps, const var<T, SQ, B>& wqkv, const var<T, SQB, B>& bqkv,
                                        const var<T, SP, B>& wproj, const var<T, SPB, B>& bproj, std::size_t heads,
                                        T scale, const ops::drop_path_run& dp = {}, P p = {}) {
        auto a = attention_qkv_out_fn::reference(
            layer_norm_linear_fn::reference(x, gamma, beta, eps, wqkv, bqkv, p, P::bf16_operands), heads, scale);
        return residual_linear_fn::reference(a, wproj, bproj, x, dp, p);
    }

    template <element T, class S, class SG, class SQ, class SQB, class SP, class SPB, backend B,
              precision_policy P = fp32>
    [[nodiscard]] var<T, S, B> operator()(const var<T, S, B>& x, const var<T, SG, B>& gamma, const var<T, SG, B>& beta,
                                          T eps, const var<T, SQ, B>& wqkv, const var<T, SQB, B>& bqkv,
                                          const var<T, SP, B>& wproj, const var<T, SPB, B>& bproj, std::size_t heads,
                                          T scale, const ops::drop_path_run& dp = {}, P = {}) const {
        ops::detail::check_precision<P, T>();
        static_assert(S::rank == 3, "attention_residual: the input must be tokens [batch, tokens, dim]");
        static_assert(SQ::rank == 2 && SP::rank == 2,
                      "attention_residual: the weights must be matrices [out_features, in_features]");
        const std::size_t batch = x.extent(0), n = x.extent(1), dim = x.extent(2);
        TINYMIM_CHECK(
            wqkv.extent(0) == 3 * dim && wqkv.extent(1) == dim && bqkv.extent(0) == 3 * dim && wproj.extent(0) == dim &&
                wproj.extent(1) == dim && bproj.extent(0) == dim && gamma.extent(0) == dim && beta.extent(0) == dim,
            "attention_residual: input ", x.shape().str(), ", Wqkv ", wqkv.shape().str(), ", bqkv ", bqkv.shape().str(),
            ", Wproj ", wproj.shape().str(), ", bproj ", bproj.shape().str(), " and the norm's ", gamma.shape().str(),
            " do not fit together (expected [batch, tokens, dim], [3 dim, dim], [3 dim], [dim, dim], [dim], [dim])");
        TINYMIM_CHECK(heads > 0 && dim % heads == 0, "attention_residual: width ", dim, " does not divide into ", heads,
                      " heads");
        if (const auto kept = kept_runs(x, dp))
            return detail::attention_half_on_kept<P>(*kept, x, gamma, beta, eps, wqkv, bqkv, wproj, bproj, heads, scale,
                                                     dp);
        const bool needs = x.requires_grad() || gamma.requires_grad() || beta.requires_grad() || wqkv.requires_grad() ||
                           bqkv.requires_grad() || wproj.requires_grad() || bproj.requires_grad();
        const bool drops = dp.training && dp.p > 0;
        if constexpr (!P::bf16_operands && requires { plan_attention_residual(B{}, batch, n, dim, sizeof(T)); }) {
            if (!needs && !drops) {
                if (auto plan = plan_attention_residual(B{}, batch, n, dim, sizeof(T))) {
                    auto y = make_output<T>(x.get_tape(), extents<S>(x.shape().all()), false);
                    attention_residual_forward(B{}, *plan, batch, n, dim, heads, scale, eps, x.data(), gamma.data(),
                                               beta.data(), wqkv.data(), bqkv.data(), wproj.data(), bproj.data(),
                                               y.data());
                    return y;
                }
            }
        }
        return detail::residual_branch<branch_activation::none, P>(
            attention_qkv_out(detail::layer_norm_linear<P>(x, gamma, beta, eps, wqkv, bqkv, nullptr, P::bf16_operands),
                              heads, scale),
            wproj, bproj, x, dp);
    }
};
inline constexpr attention_residual_fn attention_residual{};

}  // namespace tinymim::fused
