// attention_residual: a pre-norm block's attention half,
//   y = x + drop_path(proj(attention(qkv(LN(x; gamma, beta)), heads, scale))).
//
// With something to differentiate it is layer_norm_linear, attention_qkv_out and residual_linear (what
// the backward needs is kept). With nothing to differentiate — a frozen teacher's blocks, evaluation —
// and on the CPU, where the weights fit in the L2 with a block of samples, the whole half runs in blocks
// of whole samples that stay in cache (backend/cpu/attention_half.hpp): the normalised rows, the qkv
// projection and the attention's output never go to memory. With oneMKL the blocks multiply weights
// packed once per call and streamed from the L3, which need not fit in the L2 (vit-small's do not).
// Under a drop path while training, only the samples it keeps go through the half (ops/samples.hpp).
#pragma once

#include <cstddef>
#include <type_traits>

#include "tinymim/autograd/var.hpp"
#include "tinymim/backend/kernels.hpp"
#include "tinymim/ops/attention.hpp"
#include "tinymim/ops/norm_linear.hpp"
#include "tinymim/ops/residual.hpp"

namespace tinymim::ops {

// x: [batch, tokens, dim]; gamma, beta: [dim]; Wqkv: [3 dim, dim]; bqkv: [3 dim]; Wproj: [dim, dim];
// bproj: [dim].
template <element T, class S, class SG, class SQ, class SQB, class SP, class SPB, backend B>
[[nodiscard]] var<T, S, B> attention_residual(const var<T, S, B>& x, const var<T, SG, B>& gamma, const var<T, SG, B>& beta, T eps,
                                              const var<T, SQ, B>& wqkv, const var<T, SQB, B>& bqkv, const var<T, SP, B>& wproj,
                                              const var<T, SPB, B>& bproj, std::size_t heads, T scale,
                                              const drop_path_run& dp = {}) {
    static_assert(S::rank == 3, "attention_residual: the input must be tokens [batch, tokens, dim]");
    static_assert(SQ::rank == 2 && SP::rank == 2, "attention_residual: the weights must be matrices [out_features, in_features]");
    // Under a drop path, only the samples it keeps go through the half.
    if (const auto kept = kept_runs(x, dp))
        return detail::residual_linear_impl<branch_activation::none>(
            attention_qkv_out(detail::layer_norm_linear_impl(x, gamma, beta, eps, wqkv, bqkv, &*kept), heads, scale), wproj,
            bproj, x, on_the_kept(dp), &*kept);
    if constexpr (std::is_same_v<B, cpu>) {
        const std::size_t batch = x.extent(0), n = x.extent(1), dim = x.extent(2);
        TINYMIM_CHECK(wqkv.extent(0) == 3 * dim && wqkv.extent(1) == dim && bqkv.extent(0) == 3 * dim && wproj.extent(0) == dim &&
                          wproj.extent(1) == dim && bproj.extent(0) == dim && gamma.extent(0) == dim && beta.extent(0) == dim,
                      "attention_residual: input ", x.shape().str(), ", Wqkv ", wqkv.shape().str(), ", bqkv ", bqkv.shape().str(),
                      ", Wproj ", wproj.shape().str(), ", bproj ", bproj.shape().str(), " and the norm's ", gamma.shape().str(),
                      " do not fit together (expected [batch, tokens, dim], [3 dim, dim], [3 dim], [dim, dim], [dim], [dim])");
        TINYMIM_CHECK(heads > 0 && dim % heads == 0, "attention_residual: width ", dim, " does not divide into ", heads, " heads");
        const bool needs = x.requires_grad() || gamma.requires_grad() || beta.requires_grad() || wqkv.requires_grad() ||
                           bqkv.requires_grad() || wproj.requires_grad() || bproj.requires_grad();
        const bool drops = dp.training && dp.p > 0;
        using namespace backends;  // kernels found through B{} (attention_half_forward_blocked is CPU-only: not in nvcc TUs)
        if (!needs && !drops && attention_half_streamed(B{}, batch, n, dim, sizeof(T))) {  // with oneMKL: packed weights
            auto y = make_output<T>(x.get_tape(), extents<S>(x.shape().all()), false);
            const bool done = attention_half_forward_streamed(B{}, batch, n, dim, heads, scale, eps, x.data(), gamma.data(),
                                                              beta.data(), wqkv.data(), bqkv.data(), wproj.data(),
                                                              bproj.data(), y.data());
            TINYMIM_CHECK(done, "attention_residual: the CPU's sample blocks were planned but not run");
            return y;
        }
        if (!needs && !drops && attention_half_blocked(B{}, batch, n, dim, sizeof(T))) {
            auto& tp = x.get_tape();
            auto y = make_output<T>(tp, extents<S>(x.shape().all()), false);
            typename tape<B>::template temporary<T> wa(tp, 3 * dim * (dim + 1));  // [Wqkv | bqkv]
            T* wp = wa.get();
            detail::weight_with_bias(wqkv.data(), bqkv.data(), 3 * dim, dim, wp);
            const bool done = attention_half_forward_blocked(B{}, batch, n, dim, heads, scale, eps, x.data(), gamma.data(),
                                                             beta.data(), static_cast<const T*>(wp), wproj.data(), bproj.data(),
                                                             y.data());
            TINYMIM_CHECK(done, "attention_residual: the CPU's sample blocks were planned but not run");
            return y;
        }
    }
    return residual_linear(attention_qkv_out(layer_norm_linear(x, gamma, beta, eps, wqkv, bqkv), heads, scale), wproj, bproj, x, dp);
}

}  // namespace tinymim::ops
