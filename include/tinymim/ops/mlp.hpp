// mlp_residual: a pre-norm block's MLP half, y = x + drop_path(GELU(LN(x; gamma, beta) · W1ᵀ + b1) · W2ᵀ + b2).
//
// With something to differentiate it is layer_norm_linear and residual_gelu_linear (what the backward
// needs is kept). With nothing to differentiate — a frozen teacher's blocks, evaluation — and on the CPU,
// where the weights fit in the L2 together, the whole MLP runs in row blocks that stay in cache
// (backend/cpu/mlp.hpp): the hidden activations, four times the width, never go to memory. With oneMKL
// the blocks multiply weights packed once per call and streamed from the L3, which need not fit in the L2
// (vit-small's do not) and were faster where they do (fm-small's forward +3 %, docs/performance.md).
// Under a drop path while training, only the samples it keeps go through the half (ops/samples.hpp).
#pragma once

#include <cstddef>
#include <type_traits>

#include "tinymim/autograd/var.hpp"
#include "tinymim/backend/kernels.hpp"
#include "tinymim/ops/norm_linear.hpp"
#include "tinymim/ops/residual.hpp"

namespace tinymim::ops {

// x: [..., dim]; gamma, beta: [dim]; W1: [hidden, dim]; b1: [hidden]; W2: [dim, hidden]; b2: [dim].
template <element T, class S, class SG, class SW1, class SB1, class SW2, class SB2, backend B>
[[nodiscard]] var<T, S, B> mlp_residual(const var<T, S, B>& x, const var<T, SG, B>& gamma, const var<T, SG, B>& beta, T eps,
                                        const var<T, SW1, B>& w1, const var<T, SB1, B>& b1, const var<T, SW2, B>& w2,
                                        const var<T, SB2, B>& b2, const drop_path_run& dp = {}) {
    static_assert(SW1::rank == 2 && SW2::rank == 2, "mlp_residual: the weights must be matrices [out_features, in_features]");
    static_assert(extents_compatible(SW1::static_extents[0], SW2::static_extents[1]) &&
                      extents_compatible(SW1::static_extents[1], SW2::static_extents[0]),
                  "mlp_residual: W1 must be [hidden, dim] and W2 [dim, hidden]");
    // Under a drop path, only the samples it keeps go through the half.
    if (const auto kept = kept_runs(x, dp))
        return detail::residual_linear_impl<branch_activation::gelu>(
            detail::layer_norm_linear_impl(x, gamma, beta, eps, w1, b1, &*kept), w2, b2, x, on_the_kept(dp), &*kept);
    if constexpr (std::is_same_v<B, cpu>) {
        const std::size_t dim = w1.extent(1), hidden = w1.extent(0), rows = x.size() / dim;
        TINYMIM_CHECK(x.extent(S::rank - 1) == dim && w2.extent(0) == dim && w2.extent(1) == hidden &&
                          b1.extent(0) == hidden && b2.extent(0) == dim && gamma.extent(0) == dim && beta.extent(0) == dim,
                      "mlp_residual: input ", x.shape().str(), ", W1 ", w1.shape().str(), ", b1 ", b1.shape().str(), ", W2 ",
                      w2.shape().str(), ", b2 ", b2.shape().str(), " and the norm's ", gamma.shape().str(),
                      " do not fit together (expected [..., dim], [hidden, dim], [hidden], [dim, hidden], [dim], [dim])");
        const bool needs = x.requires_grad() || gamma.requires_grad() || beta.requires_grad() || w1.requires_grad() ||
                           b1.requires_grad() || w2.requires_grad() || b2.requires_grad();
        const bool drops = dp.training && dp.p > 0;
        using namespace backends;  // kernels found through B{} (mlp_forward_blocked is CPU-only: not in nvcc TUs)
        if (!needs && !drops && mlp_streamed(B{}, rows, dim, hidden, sizeof(T))) {  // with oneMKL: packed weights
            auto y = make_output<T>(x.get_tape(), extents<S>(x.shape().all()), false);
            const bool done = mlp_forward_streamed(B{}, rows, dim, hidden, eps, x.data(), gamma.data(), beta.data(), w1.data(),
                                                   b1.data(), w2.data(), b2.data(), y.data());
            TINYMIM_CHECK(done, "mlp_residual: the CPU's row blocks were planned but not run");
            return y;
        }
        // dim <= 256: layer_norm_linear's bound for the column of ones (the product with [W1 | b1]).
        if (!needs && !drops && dim <= 256 && mlp_blocked(B{}, rows, dim, hidden, sizeof(T))) {
            auto& tp = x.get_tape();
            auto y = make_output<T>(tp, extents<S>(x.shape().all()), false);
            typename tape<B>::template temporary<T> wa(tp, hidden * (dim + 1));  // [W1 | b1]
            T* wp = wa.get();
            detail::weight_with_bias(w1.data(), b1.data(), hidden, dim, wp);
            const bool done = mlp_forward_blocked(B{}, rows, dim, hidden, eps, x.data(), gamma.data(), beta.data(),
                                                  static_cast<const T*>(wp), w2.data(), b2.data(), y.data());
            TINYMIM_CHECK(done, "mlp_residual: the CPU's row blocks were planned but not run");
            return y;
        }
    }
    return residual_gelu_linear(layer_norm_linear(x, gamma, beta, eps, w1, b1), w2, b2, x, dp);
}

}  // namespace tinymim::ops
