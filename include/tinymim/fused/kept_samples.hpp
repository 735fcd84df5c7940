// A residual half under a drop path, while training, computes only the samples the drop path keeps: its
// first op (layer_norm_linear) reads them out of x, the half runs on them with every one kept (scaled by
// 1/(1 - p)), and its last op (the residual branch) adds its output to theirs and passes the dropped
// samples through. Equals the half on the whole batch with ops::drop_path (timm's DropPath computes the
// dropped samples and multiplies them by zero). Taken where some but not all samples are dropped and the
// batch extent is dynamic; other batches run the half on x.
#pragma once

#include <optional>

#include "tinymim/autograd/var.hpp"
#include "tinymim/fused/attention_qkv_out.hpp"
#include "tinymim/fused/layer_norm_linear.hpp"
#include "tinymim/fused/residual_branch.hpp"
#include "tinymim/ops/drop_path.hpp"
#include "tinymim/ops/samples.hpp"

namespace tinymim::fused {

// The runs of kept samples where the kept-samples path applies, living on x's tape (until its reset).
// Empty where nothing is dropped, where everything is (the half then runs on x with zero scales, so that
// its parameters get their zero gradients and the optimizer steps them as PyTorch's would), or where the
// batch extent is static.
template <element T, class S, backend B>
[[nodiscard]] std::optional<ops::sample_runs_view> kept_runs(const var<T, S, B>& x, const ops::drop_path_run& dp) {
    if constexpr (S::static_extents[0] == dyn) {
        if (dp.training && dp.p > 0 && !dp.none_dropped) {
            const ops::sample_runs kept = ops::kept_samples(x.extent(0), T(dp.p), dp.rng);
            if (kept.count != 0 && kept.count < kept.batch) return kept.on(x.get_tape());
        }
    }
    return std::nullopt;
}

// The drop path of a half that runs on the kept samples only: every one of them kept.
[[nodiscard]] inline ops::drop_path_run on_the_kept(ops::drop_path_run dp) {
    dp.none_dropped = true;
    return dp;
}

namespace detail {
// x + drop_path(fc2(GELU(fc1(LN(x))))) computed on the kept samples only, in precision P.
template <precision_policy P, element T, class S, class SG, class SW1, class SB1, class SW2, class SB2, backend B>
[[nodiscard]] var<T, S, B> mlp_half_on_kept(const ops::sample_runs_view& kept, const var<T, S, B>& x,
                                            const var<T, SG, B>& gamma, const var<T, SG, B>& beta, T eps,
                                            const var<T, SW1, B>& w1, const var<T, SB1, B>& b1,
                                            const var<T, SW2, B>& w2, const var<T, SB2, B>& b2,
                                            const ops::drop_path_run& dp) {
    return residual_branch<branch_activation::gelu, P>(layer_norm_linear<P>(x, gamma, beta, eps, w1, b1, &kept), w2, b2,
                                                       x, on_the_kept(dp), &kept);
}

// x + drop_path(proj(attention(qkv(LN(x))))) computed on the kept samples only, in precision P (q, k, v
// rounded to bf16 values under bf16_mixed).
template <precision_policy P, element T, class S, class SG, class SQ, class SQB, class SP, class SPB, backend B>
[[nodiscard]] var<T, S, B> attention_half_on_kept(const ops::sample_runs_view& kept, const var<T, S, B>& x,
                                                  const var<T, SG, B>& gamma, const var<T, SG, B>& beta, T eps,
                                                  const var<T, SQ, B>& wqkv, const var<T, SQB, B>& bqkv,
                                                  const var<T, SP, B>& wproj, const var<T, SPB, B>& bproj,
                                                  std::size_t heads, T scale, const ops::drop_path_run& dp) {
    return residual_branch<branch_activation::none, P>(
        attention_qkv_out(layer_norm_linear<P>(x, gamma, beta, eps, wqkv, bqkv, &kept, P::bf16_operands), heads, scale),
        wproj, bproj, x, on_the_kept(dp), &kept);
}
}  // namespace detail

}  // namespace tinymim::fused
