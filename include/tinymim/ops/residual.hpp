// Fused residual branches: out = residual + drop_path(act(x) · Wᵀ + b), one node, as a pre-norm
// transformer block ends each of its two branches (act = identity after attention, GELU in the MLP).
//
// Run as separate ops (linear, gelu, drop_path, add) the branch keeps the linear's output, the dropped
// copy and — in the MLP — the GELU output (4 × the tokens) until the end of the step. Fused, the step
// keeps only x: the GELU output is recomputed in the backward (one elementwise pass), and the branch
// value and the scaled gradient are temporaries from the tape's pool. Same values as the separate ops
// up to float rounding (the residual is added first).
#pragma once

#include <algorithm>
#include <cstddef>
#include <optional>
#include <type_traits>

#include "tinymim/autograd/var.hpp"
#include "tinymim/backend/kernels.hpp"
#include "tinymim/core/random.hpp"
#include "tinymim/ops/drop_path.hpp"
#include "tinymim/ops/linear.hpp"
#include "tinymim/ops/samples.hpp"

namespace tinymim::ops {

// Stochastic depth of a residual branch: each sample's branch is dropped with probability p while
// training (kept ones scaled by 1/(1-p)); the draw of sample b is rng.uniform(b), as ops::drop_path.
struct drop_path_run {
    double p = 0;
    counter_rng rng{};
    bool training = false;
    bool none_dropped = false;  // the dropped samples were taken out (kept_samples): scale every one by 1/(1-p)
};

// A residual half under a drop path, while training, computes only the samples the drop path keeps: its
// first op (layer_norm_linear) reads them out of x, the half runs on them with every one kept (scaled by
// 1/(1 - p)), and its last op (the residual branch) adds its output to theirs and passes the dropped
// samples through unchanged. The runs of kept samples where that applies; empty where nothing is
// dropped, where everything is (the caller then runs the half on x with zero scales, so that its
// parameters still get their zero gradients and the optimizer steps them as PyTorch's would), or where
// the batch extent is static. The runs live on x's tape (until its reset).
template <element T, class S, backend B>
[[nodiscard]] std::optional<sample_runs_view> kept_runs(const var<T, S, B>& x, const drop_path_run& dp) {
    if constexpr (S::static_extents[0] == dyn) {
        if (dp.training && dp.p > 0 && !dp.none_dropped) {
            const sample_runs kept = kept_samples(x.extent(0), T(dp.p), dp.rng);
            if (kept.count != 0 && kept.count < kept.batch) return kept.on(x.get_tape());
        }
    }
    return std::nullopt;
}
// The drop path of a half that runs on the kept samples only: every one of them kept.
[[nodiscard]] inline drop_path_run on_the_kept(drop_path_run dp) {
    dp.none_dropped = true;
    return dp;
}

enum class branch_activation { none, gelu };

namespace detail {
// With `kept`, x holds only those samples of the residual's batch (in order): the branch is added to them,
// the residual's other samples pass unchanged (dp must then be on_the_kept: every sample of x kept).
template <branch_activation Act, element T, class SX, class SW, class SB, class SR, backend B>
[[nodiscard]] var<T, SR, B> residual_linear_impl(const var<T, SX, B>& x, const var<T, SW, B>& w, const var<T, SB, B>& b,
                                                 const var<T, SR, B>& residual, const drop_path_run& dp,
                                                 const sample_runs_view* kept = nullptr) {
    static_assert(SW::rank == 2, "residual_linear: the weight must be a matrix [out_features, in_features]");
    static_assert(SB::rank == 1, "residual_linear: the bias must be a vector [out_features]");
    static_assert(SX::rank == SR::rank, "residual_linear: the input and the residual must have the same rank");
    static_assert(extents_compatible(SX::static_extents[SX::rank - 1], SW::static_extents[1]),
                  "residual_linear: the input's last extent must equal the weight's in_features (weight is [out, in])");
    static_assert(extents_compatible(SR::static_extents[SR::rank - 1], SW::static_extents[0]),
                  "residual_linear: the residual's last extent must equal the weight's out_features");
    const std::size_t in = w.extent(1), out = w.extent(0), rows = x.size() / in;
    TINYMIM_CHECK(x.extent(SX::rank - 1) == in, "residual_linear: input ", x.shape().str(), " does not fit weight ",
                  w.shape().str());
    TINYMIM_CHECK(b.extent(0) == out, "residual_linear: bias ", b.shape().str(), " does not match weight ", w.shape().str());
    const std::size_t batch = x.extent(0), n_in = rows * in, n_out = rows * out;
    const std::size_t full = kept != nullptr ? kept->batch : batch;  // the residual's samples
    TINYMIM_CHECK(residual.extent(0) == full && residual.size() == n_out / std::max<std::size_t>(batch, 1) * full,
                  "residual_linear: residual ", residual.shape().str(), " does not match the branch's output (input ",
                  x.shape().str(), ", weight ", w.shape().str(), kept != nullptr ? ", some samples of the residual's" : "", ")");
    TINYMIM_CHECK(kept == nullptr || (kept->count == batch && dp.training && dp.p > 0 && dp.none_dropped),
                  "residual_linear: a branch on ", batch, " samples of the residual's ", full, " needs ", batch,
                  " kept samples under a drop path that keeps every one of them (", kept != nullptr ? kept->count : 0, ")");
    TINYMIM_CHECK(dp.p >= 0 && dp.p < 1, "residual_linear: drop path probability ", dp.p, " is outside [0, 1)");
    using namespace backends;
    using temp_t = typename tape<B>::template temporary<T>;
    auto& tp = x.get_tape();
    const std::size_t per_sample = batch != 0 ? n_out / batch : 0;  // output values of one sample
    const T* scales = dp.training && dp.p > 0 ? drop_path_scales(tp, batch, T(dp.p), dp.rng, dp.none_dropped) : nullptr;
    const sample_runs_view runs = kept != nullptr ? *kept : sample_runs_view{};
    const bool some = kept != nullptr;
    const bool needs = x.requires_grad() || w.requires_grad() || b.requires_grad() || residual.requires_grad();
    auto y = make_output<T>(tp, residual.shape(), needs);

    // On the CPU, where the weight fits in cache beside a block of rows: the whole branch block by block,
    // act(x) never leaving the cache (backend/cpu/branch.hpp).
    bool blocked = false;
    if constexpr (std::is_same_v<B, cpu>)
        blocked = residual_branch_forward_blocked(B{}, Act == branch_activation::gelu, rows, in, out, x.data(), w.data(),
                                                  b.data(), residual.data(), scales, rows / std::max<std::size_t>(batch, 1),
                                                  y.data(), runs.index);
    if (blocked && some) {  // the samples left out: the residual's values
        runs.each([](std::size_t, std::size_t, std::size_t) {},
                  [&](std::size_t first, std::size_t count) {
                      detail::copy_samples<T, B>(count, per_sample, residual.data() + first * per_sample,
                                                 y.data() + first * per_sample, false);
                  });
    }
    if (!blocked) {
        std::optional<temp_t> act;  // GELU(x), recomputed in the backward
        const T* a = x.data();
        if constexpr (Act == branch_activation::gelu) {
            act.emplace(tp, n_in);
            gelu_forward(B{}, n_in, x.data(), act->get());
            a = act->get();
        }
        if (scales == nullptr) {  // y = residual + b + a · Wᵀ: residual and bias in one pass, the GEMM accumulates
            binary(B{}, binop::add, n_out, out, residual.data(), b.data(), y.data());
            gemm(B{}, false, true, rows, out, in, T(1), a, in, w.data(), in, T(1), y.data(), out);
        } else {  // the branch in a temporary, then y = residual + scale[sample] · branch
            temp_t z(tp, n_out);
            copy_tokens(B{}, rows, 1, out, b.data(), 1, 0, true, z.get(), 1, 0, false);
            gemm(B{}, false, true, rows, out, in, T(1), a, in, w.data(), in, T(1), z.get(), out);
            B::copy(y.data(), residual.data(), residual.size() * sizeof(T));
            const T* zs = z.get();
            if (!some) scale_rows(B{}, batch, per_sample, scales, zs, y.data(), true);
            else  // onto the kept samples' rows only
                runs.each([&](std::size_t first, std::size_t count, std::size_t at) {
                              scale_rows(B{}, count, per_sample, scales + at, zs + at * per_sample, y.data() + first * per_sample, true);
                          });
        }
    }

    if (y.requires_grad()) {
        auto *sx = x.get_slot(), *sw = w.get_slot(), *sb = b.get_slot(), *sr = residual.get_slot(), *sy = y.get_slot();
        tp.record(sy, [=](tape<B>& t) {
            const T* g = sy->grad();
            bool fresh = false;
            // d residual = g: y's own buffer when the residual has no gradient yet (and is not the branch's
            // input or a parameter, whose gradients this backward writes), else a copy or a sum.
            if (sr->requires_grad && (sr == sx || sr == sw || sr == sb || !t.pass_grad(sy, sr))) {
                T* dr = t.grad_for_write(sr, fresh);
                if (fresh) B::copy(dr, g, full * per_sample * sizeof(T));
                else axpy(B{}, full * per_sample, T(1), g, dr);
            }
            if (!sx->requires_grad && !sw->requires_grad && !sb->requires_grad) return;
            std::optional<temp_t> scaled;  // the branch's gradient: g scaled per sample by the drop path
            const T* gb = g;
            if (scales != nullptr) {
                scaled.emplace(t, n_out);
                T* gs = scaled->get();
                if (!some) scale_rows(B{}, batch, per_sample, scales, g, gs, false);
                else  // the kept samples' rows of g
                    runs.each([&](std::size_t first, std::size_t count, std::size_t at) {
                                  scale_rows(B{}, count, per_sample, scales + at, g + first * per_sample, gs + at * per_sample, false);
                              });
                gb = gs;
            }
            if constexpr (Act == branch_activation::gelu) {
                if constexpr (std::is_same_v<B, cpu>) {  // in cache-sized row blocks (backend/cpu/branch.hpp)
                    if (residual_branch_blocked(B{}, rows, in, out, sizeof(T))) {
                        bool fresh_x = false, fresh_w = false;
                        T* dx = sx->requires_grad ? t.grad_for_write(sx, fresh_x) : nullptr;
                        T* dw = sw->requires_grad ? t.grad_for_write(sw, fresh_w) : nullptr;
                        const bool done =
                            residual_gelu_branch_backward_blocked(B{}, rows, in, out, static_cast<const T*>(sx->value),
                                                                  static_cast<const T*>(sw->value), gb, dx, !fresh_x, dw, !fresh_w);
                        TINYMIM_CHECK(done, "residual_gelu_linear: the CPU's row blocks were planned but not run");
                        if (sb->requires_grad)
                            reduce_rows_acc(B{}, rows * out, out, T(1), gb, static_cast<const T*>(nullptr), t.grad(sb));
                        return;
                    }
                }
                {  // dW (+)= gbᵀ · GELU(x), db; GELU(x) recomputed for the GEMM
                    std::optional<temp_t> re;
                    if (sw->requires_grad) {
                        re.emplace(t, n_in);
                        gelu_forward(B{}, n_in, static_cast<const T*>(sx->value), re->get());
                    }
                    linear_backward(t, rows, in, out, gb, re ? static_cast<const T*>(re->get()) : nullptr,
                                    static_cast<slot<T>*>(nullptr), sw, sb);
                }
                if (sx->requires_grad) {  // dx (+)= GELU'(x) ⊙ (gb · W)
                    temp_t da(t, n_in);
                    gemm(B{}, false, false, rows, in, out, T(1), gb, out, static_cast<const T*>(sw->value), in, T(0),
                         da.get(), in);
                    T* dx = t.grad_for_write(sx, fresh);
                    if (fresh) fill(B{}, dx, n_in, T(0));
                    gelu_backward(B{}, n_in, static_cast<const T*>(sx->value), static_cast<const T*>(da.get()), dx);
                }
            } else {
                linear_backward(t, rows, in, out, gb, static_cast<const T*>(sx->value), sx, sw, sb);
            }
        });
    }
    return y;
}
}  // namespace detail

// out = residual + drop_path(x · Wᵀ + b). x: [B, ..., in], W: [out, in], b: [out], residual: [B, ..., out].
template <element T, class SX, class SW, class SB, class SR, backend B>
[[nodiscard]] var<T, SR, B> residual_linear(const var<T, SX, B>& x, const var<T, SW, B>& w, const var<T, SB, B>& b,
                                            const var<T, SR, B>& residual, const drop_path_run& dp = {}) {
    return detail::residual_linear_impl<branch_activation::none>(x, w, b, residual, dp);
}

// out = residual + drop_path(GELU(x) · Wᵀ + b): the MLP's second half, GELU(x) never kept.
template <element T, class SX, class SW, class SB, class SR, backend B>
[[nodiscard]] var<T, SR, B> residual_gelu_linear(const var<T, SX, B>& x, const var<T, SW, B>& w, const var<T, SB, B>& b,
                                                 const var<T, SR, B>& residual, const drop_path_run& dp = {}) {
    return detail::residual_linear_impl<branch_activation::gelu>(x, w, b, residual, dp);
}

}  // namespace tinymim::ops
