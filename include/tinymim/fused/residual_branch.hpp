// The node behind residual_linear and residual_gelu_linear: y = residual + drop_path(act(x) · Wᵀ + b),
// act the identity or GELU. x [rows.., in], W [out, in], b [out], residual [rows.., out].
// Equals ops::add(residual, ops::drop_path(ops::linear(act(x), W, b))) (the residual added first).
// One node on every backend: it keeps only x (GELU(x) recomputed, the branch a temporary). Fast path
// (plan_residual_branch): the CPU's row blocks, act(x) and the GEMM's output never leaving the cache.
// Kept samples: x holds only those of the residual's batch. bf16_mixed: bf16 GEMMs, no row blocks.
#pragma once

#include <algorithm>
#include <cstddef>
#include <optional>
#include <type_traits>

#include "tinymim/autograd/var.hpp"
#include "tinymim/backend/kernels.hpp"
#include "tinymim/core/precision.hpp"
#include "tinymim/ops/drop_path.hpp"
#include "tinymim/ops/linear.hpp"
#include "tinymim/ops/samples.hpp"

namespace tinymim::fused {

enum class branch_activation { none, gelu };

namespace detail {

// The sizes of one branch and the drop path's per-sample factors (null: every factor 1).
struct branch_sizes {
    std::size_t in = 0, out = 0, rows = 0, batch = 0, full = 0, per_sample = 0;
};

template <element T, class SX, class SW, class SB, class SR, backend B>
[[nodiscard]] branch_sizes check_branch(const var<T, SX, B>& x, const var<T, SW, B>& w, const var<T, SB, B>& b,
                                        const var<T, SR, B>& residual, const ops::drop_path_run& dp,
                                        const ops::sample_runs_view* kept) {
    static_assert(SW::rank == 2, "residual_linear: the weight must be a matrix [out_features, in_features]");
    static_assert(SB::rank == 1, "residual_linear: the bias must be a vector [out_features]");
    static_assert(SX::rank == SR::rank, "residual_linear: the input and the residual must have the same rank");
    static_assert(extents_compatible(SX::static_extents[SX::rank - 1], SW::static_extents[1]),
                  "residual_linear: the input's last extent must equal the weight's in_features (weight is [out, in])");
    static_assert(extents_compatible(SR::static_extents[SR::rank - 1], SW::static_extents[0]),
                  "residual_linear: the residual's last extent must equal the weight's out_features");
    branch_sizes s;
    s.in = w.extent(1);
    s.out = w.extent(0);
    s.rows = x.size() / std::max<std::size_t>(s.in, 1);
    s.batch = x.extent(0);
    s.full = kept != nullptr ? kept->batch : s.batch;
    s.per_sample = s.batch != 0 ? s.rows * s.out / s.batch : 0;
    TINYMIM_CHECK(x.extent(SX::rank - 1) == s.in, "residual_linear: input ", x.shape().str(), " does not fit weight ",
                  w.shape().str());
    TINYMIM_CHECK(b.extent(0) == s.out, "residual_linear: bias ", b.shape().str(), " does not match weight ",
                  w.shape().str());
    TINYMIM_CHECK(residual.extent(0) == s.full && residual.size() == s.per_sample * s.full,
                  "residual_linear: residual ", residual.shape().str(), " does not match the branch's output (input ",
                  x.shape().str(), ", weight ", w.shape().str(),
                  kept != nullptr ? ", some samples of the residual's" : "", ")");
    TINYMIM_CHECK(kept == nullptr || (kept->count == s.batch && dp.training && dp.p > 0 && dp.none_dropped),
                  "residual_linear: a branch on ", s.batch, " samples of the residual's ", s.full, " needs ", s.batch,
                  " kept samples under a drop path that keeps every one of them (", kept != nullptr ? kept->count : 0,
                  ")");
    TINYMIM_CHECK(dp.p >= 0 && dp.p < 1, "residual_linear: drop path probability ", dp.p, " is outside [0, 1)");
    return s;
}

// act(x): x itself, or GELU(x) in `act`, a temporary of the caller's.
template <branch_activation Act, element T, backend B>
[[nodiscard]] const T* branch_input(tape<B>& tp, const branch_sizes& s, const T* x,
                                    std::optional<typename tape<B>::template temporary<T>>& act) {
    if constexpr (Act == branch_activation::gelu) {
        act.emplace(tp, s.rows * s.in);
        backends::gelu_forward(B{}, s.rows * s.in, x, act->get());
        return act->get();
    }
    return x;
}

// y = residual + b + act(x) · Wᵀ with every factor 1: residual and bias in one pass, the GEMM accumulates.
template <branch_activation Act, element T, backend B>
void branch_forward_unscaled(tape<B>& tp, const branch_sizes& s, const T* x, const T* w, const T* b, const T* residual,
                             T* y) {
    using namespace backends;
    std::optional<typename tape<B>::template temporary<T>> act;
    const T* a = branch_input<Act>(tp, s, x, act);
    binary(B{}, binop::add, s.rows * s.out, s.out, residual, b, y);
    gemm(B{}, false, true, s.rows, s.out, s.in, T(1), a, s.in, w, s.in, T(1), y, s.out);
}

// y = residual, then the (kept) samples' rows += scale[sample] · (act(x) · Wᵀ + b) from a temporary.
template <branch_activation Act, element T, backend B>
void branch_forward_scaled(tape<B>& tp, const branch_sizes& s, const T* x, const T* w, const T* b, const T* residual,
                           const T* scales, const ops::sample_runs_view* kept, T* y) {
    using namespace backends;
    using temp_t = typename tape<B>::template temporary<T>;
    std::optional<temp_t> act;
    const T* a = branch_input<Act>(tp, s, x, act);
    temp_t z(tp, s.rows * s.out);
    copy_tokens(B{}, s.rows, 1, s.out, b, 1, 0, true, z.get(), 1, 0, false);
    gemm(B{}, false, true, s.rows, s.out, s.in, T(1), a, s.in, w, s.in, T(1), z.get(), s.out);
    B::copy(y, residual, s.full * s.per_sample * sizeof(T));
    const T* zs = z.get();
    const std::size_t ps = s.per_sample;
    ops::for_each_run(kept, s.batch, [&](std::size_t first, std::size_t count, std::size_t at) {
        scale_rows(B{}, count, ps, scales + at, zs + at * ps, y + first * ps, true);
    });
}

// The CPU's row blocks, then the samples the runs leave out: the residual's values.
template <branch_activation Act, backend B, class Plan, element T>
void branch_forward_blocked(const Plan&, const branch_sizes& s, const T* x, const T* w, const T* b, const T* residual,
                            const T* scales, const ops::sample_runs_view* kept, T* y) {
    using namespace backends;
    const bool done = residual_branch_forward_blocked(B{}, Act == branch_activation::gelu, s.rows, s.in, s.out, x, w, b,
                                                      residual, scales, s.rows / std::max<std::size_t>(s.batch, 1), y,
                                                      kept != nullptr ? kept->index : nullptr);
    TINYMIM_CHECK(done, "residual_linear: the CPU's row blocks were planned but not run");
    if (kept == nullptr) return;
    kept->each([](std::size_t, std::size_t, std::size_t) {},
               [&](std::size_t first, std::size_t count) {
                   ops::detail::copy_samples<T, B>(count, s.per_sample, residual + first * s.per_sample,
                                                   y + first * s.per_sample, false);
               });
}

// dx, dW, db of the GELU branch from its scaled gradient gb: in the CPU's row blocks where planned, else
// dW and db against GELU(x) recomputed and dx = GELU'(x) ⊙ (gb · W).
template <element T, backend B>
void gelu_branch_backward(tape<B>& t, const branch_sizes& s, slot<T>* sx, slot<T>* sw, slot<T>* sb, const T* gb) {
    using namespace backends;
    using temp_t = typename tape<B>::template temporary<T>;
    const T* x = static_cast<const T*>(sx->value);
    const T* w = static_cast<const T*>(sw->value);
    const std::size_t n_in = s.rows * s.in;
    if constexpr (requires { plan_residual_branch(B{}, s.rows, s.in, s.out, sizeof(T)); }) {
        if (plan_residual_branch(B{}, s.rows, s.in, s.out, sizeof(T))) {
            bool fresh_x = false, fresh_w = false;
            T* dx = sx->requires_grad ? t.grad_for_write(sx, fresh_x) : nullptr;
            T* dw = sw->requires_grad ? t.grad_for_write(sw, fresh_w) : nullptr;
            const bool done =
                residual_gelu_branch_backward_blocked(B{}, s.rows, s.in, s.out, x, w, gb, dx, !fresh_x, dw, !fresh_w);
            TINYMIM_CHECK(done, "residual_gelu_linear: the CPU's row blocks were planned but not run");
            if (sb->requires_grad)
                reduce_rows_acc(B{}, s.rows * s.out, s.out, T(1), gb, static_cast<const T*>(nullptr), t.grad(sb));
            return;
        }
    }
    {
        std::optional<temp_t> re;
        if (sw->requires_grad) {
            re.emplace(t, n_in);
            gelu_forward(B{}, n_in, x, re->get());
        }
        ops::detail::linear_backward(t, s.rows, s.in, s.out, gb, re ? static_cast<const T*>(re->get()) : nullptr,
                                     static_cast<slot<T>*>(nullptr), sw, sb);
    }
    if (sx->requires_grad) {
        temp_t da(t, n_in);
        gemm(B{}, false, false, s.rows, s.in, s.out, T(1), gb, s.out, w, s.in, T(0), da.get(), s.in);
        bool fresh = false;
        T* dx = t.grad_for_write(sx, fresh);
        if (fresh) fill(B{}, dx, n_in, T(0));
        gelu_backward(B{}, n_in, x, static_cast<const T*>(da.get()), dx);
    }
}

// act(x) as a bf16 GEMM operand, into ab (rows · in values).
template <branch_activation Act, element T, backend B>
void branch_operand_bf16(tape<B>& tp, const branch_sizes& s, const T* x, bf16* ab) {
    std::optional<typename tape<B>::template temporary<T>> act;
    backends::to_bf16(B{}, s.rows * s.in, branch_input<Act>(tp, s, x, act), ab);
}

// The forward under bf16_mixed: act(x) and W cast to bf16, fp32 accumulation onto residual + b (every factor
// 1) or into a temporary b fill that the kept rows add scaled. wb is W in bf16 (kept for the backward).
template <branch_activation Act, element T, backend B>
void branch_forward_bf16(tape<B>& tp, const branch_sizes& s, const T* x, const bf16* wb, const T* b, const T* residual,
                         const T* scales, const ops::sample_runs_view* kept, T* y) {
    using namespace backends;
    typename tape<B>::template temporary<bf16> ab(tp, s.rows * s.in);
    branch_operand_bf16<Act>(tp, s, x, ab.get());
    const bf16* a = ab.get();
    if (scales == nullptr) {
        binary(B{}, binop::add, s.rows * s.out, s.out, residual, b, y);
        gemm_bf16(B{}, false, true, s.rows, s.out, s.in, 1.0f, a, s.in, wb, s.in, 1.0f, y, s.out);
        return;
    }
    typename tape<B>::template temporary<T> z(tp, s.rows * s.out);
    copy_tokens(B{}, s.rows, 1, s.out, b, 1, 0, true, z.get(), 1, 0, false);
    gemm_bf16(B{}, false, true, s.rows, s.out, s.in, 1.0f, a, s.in, wb, s.in, 1.0f, z.get(), s.out);
    B::copy(y, residual, s.full * s.per_sample * sizeof(T));
    const T* zs = z.get();
    const std::size_t ps = s.per_sample;
    ops::for_each_run(kept, s.batch, [&](std::size_t first, std::size_t count, std::size_t at) {
        scale_rows(B{}, count, ps, scales + at, zs + at * ps, y + first * ps, true);
    });
}

// dx, dW, db under bf16_mixed from the scaled gradient gb: gb rounded to bf16 times the bf16 operands,
// act(x) cast again from x (kept in fp32 as the fp32 node keeps it), dx = act'(x) ⊙ (gb · W) in fp32.
template <branch_activation Act, element T, backend B>
void branch_backward_bf16(tape<B>& t, const branch_sizes& s, slot<T>* sx, slot<T>* sw, slot<T>* sb, const bf16* wb,
                          const T* gb) {
    using namespace backends;
    using temp_t = typename tape<B>::template temporary<T>;
    const T* x = static_cast<const T*>(sx->value);
    const std::size_t n_in = s.rows * s.in;
    typename tape<B>::template temporary<bf16> gbb(t, s.rows * s.out);
    to_bf16(B{}, s.rows * s.out, gb, gbb.get());
    bool fresh = false;
    if (sw->requires_grad) {
        typename tape<B>::template temporary<bf16> ab(t, n_in);
        branch_operand_bf16<Act>(t, s, x, ab.get());
        T* dw = t.grad_for_write(sw, fresh);
        gemm_bf16(B{}, true, false, s.out, s.in, s.rows, 1.0f, static_cast<const bf16*>(gbb.get()), s.out,
                  static_cast<const bf16*>(ab.get()), s.in, fresh ? 0.0f : 1.0f, dw, s.in);
    }
    if (sb->requires_grad)
        reduce_rows_acc(B{}, s.rows * s.out, s.out, T(1), gb, static_cast<const T*>(nullptr), t.grad(sb));
    if (!sx->requires_grad) return;
    if constexpr (Act == branch_activation::gelu) {
        temp_t da(t, n_in);
        gemm_bf16(B{}, false, false, s.rows, s.in, s.out, 1.0f, static_cast<const bf16*>(gbb.get()), s.out, wb, s.in,
                  0.0f, da.get(), s.in);
        T* dx = t.grad_for_write(sx, fresh);
        if (fresh) fill(B{}, dx, n_in, T(0));
        gelu_backward(B{}, n_in, x, static_cast<const T*>(da.get()), dx);
    } else {
        T* dx = t.grad_for_write(sx, fresh);
        gemm_bf16(B{}, false, false, s.rows, s.in, s.out, 1.0f, static_cast<const bf16*>(gbb.get()), s.out, wb, s.in,
                  fresh ? 0.0f : 1.0f, dx, s.in);
    }
}

// The node. With `kept`, x holds only those samples of the residual's batch (in order): the branch is added
// to them, the residual's other samples pass unchanged (dp must then be on_the_kept).
template <branch_activation Act, precision_policy P = fp32, element T, class SX, class SW, class SB, class SR,
          backend B>
[[nodiscard]] var<T, SR, B> residual_branch(const var<T, SX, B>& x, const var<T, SW, B>& w, const var<T, SB, B>& b,
                                            const var<T, SR, B>& residual, const ops::drop_path_run& dp,
                                            const ops::sample_runs_view* kept = nullptr) {
    using namespace backends;
    const branch_sizes s = check_branch(x, w, b, residual, dp, kept);
    auto& tp = x.get_tape();
    const T* scales = dp.training && dp.p > 0
                          ? ops::detail::drop_path_scales(tp, s.batch, T(dp.p), dp.rng, dp.none_dropped)
                          : nullptr;
    const bool needs = x.requires_grad() || w.requires_grad() || b.requires_grad() || residual.requires_grad();
    auto y = make_output<T>(tp, residual.shape(), needs);

    bf16* wb = nullptr;  // under bf16_mixed, W cast once (kept for dx when the backward runs)
    bool done = false;
    if constexpr (P::bf16_operands) {
        static_assert(std::is_same_v<T, float>, "residual_linear: bf16_mixed computes on float values");
        std::optional<typename tape<B>::template temporary<bf16>> wb_temp;
        wb = needs ? tp.template scratch<bf16>(s.out * s.in) : wb_temp.emplace(tp, s.out * s.in).get();
        backends::to_bf16(B{}, s.out * s.in, w.data(), wb);
        branch_forward_bf16<Act>(tp, s, x.data(), static_cast<const bf16*>(wb), b.data(), residual.data(), scales, kept,
                                 y.data());
        done = true;
    } else if constexpr (requires { plan_residual_branch(B{}, s.rows, s.in, s.out, sizeof(T)); }) {
        if (auto plan = plan_residual_branch(B{}, s.rows, s.in, s.out, sizeof(T))) {
            branch_forward_blocked<Act, B>(*plan, s, x.data(), w.data(), b.data(), residual.data(), scales, kept,
                                           y.data());
            done = true;
        }
    }
    if (!done && scales == nullptr)
        branch_forward_unscaled<Act>(tp, s, x.data(), w.data(), b.data(), residual.data(), y.data());
    else if (!done)
        branch_forward_scaled<Act>(tp, s, x.data(), w.data(), b.data(), residual.data(), scales, kept, y.data());
    if (!y.requires_grad()) return y;

    const ops::sample_runs_view runs = kept != nullptr ? *kept : ops::sample_runs_view{};
    const bool some = kept != nullptr;
    auto *sx = x.get_slot(), *sw = w.get_slot(), *sb = b.get_slot(), *sr = residual.get_slot(), *sy = y.get_slot();
    tp.record(sy, [=](tape<B>& t) {
        using temp_t = typename tape<B>::template temporary<T>;
        const T* g = sy->grad();
        // d residual = g: y's own buffer when the residual has no gradient yet (and is not the branch's input
        // or a parameter, whose gradients this backward writes), else a copy or a sum.
        if (sr->requires_grad && (sr == sx || sr == sw || sr == sb || !t.pass_grad(sy, sr))) {
            bool fresh = false;
            T* dr = t.grad_for_write(sr, fresh);
            if (fresh)
                B::copy(dr, g, s.full * s.per_sample * sizeof(T));
            else
                axpy(B{}, s.full * s.per_sample, T(1), g, dr);
        }
        if (!sx->requires_grad && !sw->requires_grad && !sb->requires_grad) return;
        std::optional<temp_t> scaled;  // the branch's gradient: the (kept) rows of g scaled per sample
        const T* gb = g;
        if (scales != nullptr) {
            scaled.emplace(t, s.rows * s.out);
            T* gs = scaled->get();
            const std::size_t ps = s.per_sample;
            ops::for_each_run(some ? &runs : nullptr, s.batch,
                              [&](std::size_t first, std::size_t count, std::size_t at) {
                                  scale_rows(B{}, count, ps, scales + at, g + first * ps, gs + at * ps, false);
                              });
            gb = gs;
        }
        if constexpr (P::bf16_operands)
            branch_backward_bf16<Act>(t, s, sx, sw, sb, static_cast<const bf16*>(wb), gb);
        else if constexpr (Act == branch_activation::gelu)
            gelu_branch_backward(t, s, sx, sw, sb, gb);
        else
            ops::detail::linear_backward(t, s.rows, s.in, s.out, gb, static_cast<const T*>(sx->value), sx, sw, sb);
    });
    return y;
}

}  // namespace detail
}  // namespace tinymim::fused
