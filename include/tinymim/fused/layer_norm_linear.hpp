// layer_norm_linear: y = LN(x; gamma, beta) · Wᵀ + b — a pre-norm block's norm1 → qkv and norm2 → fc1.
// x [..., in], gamma and beta [in], W [out, in], b [out] -> [..., out].
// Equals ops::linear(ops::layer_norm(x, gamma, beta, eps), W, b).
// Fast path (plan_layer_norm_linear): the normalised rows with a column of ones times [W | b], kept for the
// backward; under a drop path, the kept samples' rows only. bf16_mixed: LN(x) kept in bf16, bf16 GEMMs.
#pragma once

#include <cstddef>
#include <optional>
#include <type_traits>

#include "tinymim/autograd/var.hpp"
#include "tinymim/backend/kernels.hpp"
#include "tinymim/ops/layer_norm.hpp"
#include "tinymim/ops/linear.hpp"
#include "tinymim/ops/samples.hpp"
#include "tinymim/tensor/shape_ops.hpp"

namespace tinymim::fused {

namespace detail {
template <element T, class S, class SG, class SW, class SB, backend B>
void check_layer_norm_linear(const var<T, S, B>& x, const var<T, SG, B>& gamma, const var<T, SG, B>& beta,
                             const var<T, SW, B>& w, const var<T, SB, B>& b, const ops::sample_runs_view* kept) {
    static_assert(SW::rank == 2, "layer_norm_linear: the weight must be a matrix [out_features, in_features]");
    static_assert(SB::rank == 1 && extents_compatible(SB::static_extents[0], SW::static_extents[0]),
                  "layer_norm_linear: the bias must be a vector [out_features] matching the weight's first extent");
    static_assert(
        extents_compatible(S::static_extents[S::rank - 1], SW::static_extents[1]),
        "layer_norm_linear: the input's last extent must equal the weight's in_features (weight is [out, in])");
    const std::size_t in = w.extent(1);
    TINYMIM_CHECK(x.extent(S::rank - 1) == in, "layer_norm_linear: input ", x.shape().str(), " does not fit weight ",
                  w.shape().str(), " (expected last extent ", in, ")");
    TINYMIM_CHECK(gamma.extent(0) == in && beta.extent(0) == in, "layer_norm_linear: gamma ", gamma.shape().str(),
                  " / beta ", beta.shape().str(), " do not match the input's last axis ", x.shape().str());
    TINYMIM_CHECK(b.extent(0) == w.extent(0), "layer_norm_linear: bias ", b.shape().str(), " does not match weight ",
                  w.shape().str());
    TINYMIM_CHECK(kept == nullptr || (S::static_extents[0] == dyn && kept->batch == x.extent(0)),
                  "layer_norm_linear: samples of a batch of ", kept != nullptr ? kept->batch : 0, " taken from ",
                  x.shape().str(), " (the batch extent must match and be dynamic)");
}

// The layer norm's part of the backward: dx, dgamma, dbeta from dn, the gradient of its output rows (the
// i-th kept sample's at row i · per_sample), with the forward's mean and 1/std.
template <element T, backend B>
void layer_norm_rows_backward(tape<B>& t, const ops::sample_runs_view* kept, std::size_t batch, std::size_t per_sample,
                              std::size_t in, slot<T>* sx, slot<T>* sg, slot<T>* sbeta, const T* mean, const T* rstd,
                              const T* dn) {
    const T* xs = static_cast<const T*>(sx->value);
    T* dx = sx->requires_grad ? t.grad(sx) : nullptr;
    T* dg = sg->requires_grad ? t.grad(sg) : nullptr;
    T* dbeta = sbeta->requires_grad ? t.grad(sbeta) : nullptr;
    ops::for_each_run(kept, batch, [&](std::size_t first, std::size_t count, std::size_t at) {
        const std::size_t r0 = at * per_sample;
        backends::layer_norm_backward(B{}, count * per_sample, in, xs + first * per_sample * in,
                                      static_cast<const T*>(sg->value), mean + r0, rstd + r0, dn + r0 * in,
                                      dx != nullptr ? dx + first * per_sample * in : nullptr, dg, dbeta);
    });
}

// The backend's node: [LN(x) | 1] rows ld apart (kept for the backward) times [W | b], or LN(x) times W onto
// a bias fill. With `kept`, of those samples of x only: [kept->count, ..., out].
template <class Plan, element T, class S, class SG, class SW, class SB, backend B>
[[nodiscard]] auto layer_norm_linear_node(const Plan& plan, const var<T, S, B>& x, const var<T, SG, B>& gamma,
                                          const var<T, SG, B>& beta, T eps, const var<T, SW, B>& w,
                                          const var<T, SB, B>& b, const ops::sample_runs_view* kept) {
    using namespace backends;
    using SY = shape_ops::replace_last_t<S, SW::static_extents[0]>;
    using temp_t = typename tape<B>::template temporary<T>;
    const std::size_t in = w.extent(1), out = w.extent(0);
    const std::size_t batch = kept != nullptr ? kept->count : x.extent(0);
    const std::size_t per_sample = x.extent(0) != 0 ? x.size() / in / x.extent(0) : 0;  // rows of one sample
    const std::size_t rows = batch * per_sample;
    const bool ones = plan.bias_column;
    const std::size_t ld = ones ? in + 1 : in;
    auto& tp = x.get_tape();
    auto *sx = x.get_slot(), *sg = gamma.get_slot(), *sbeta = beta.get_slot(), *sw = w.get_slot(), *sb = b.get_slot();
    const bool needs =
        sx->requires_grad || sg->requires_grad || sbeta->requires_grad || sw->requires_grad || sb->requires_grad;
    auto ey = x.shape().all();
    ey[0] = batch;
    ey[S::rank - 1] = out;
    auto y = make_output<T>(tp, extents<SY>(ey), needs);

    // LN(x) rows (with the ones): kept for the backward when it runs, else a temporary of this op.
    std::optional<temp_t> xa_temp;
    T* xa = nullptr;
    if (needs) {
        xa = tp.template scratch<T>(rows * ld);
    } else {
        xa_temp.emplace(tp, rows * ld);
        xa = xa_temp->get();
    }
    T* mean = tp.template scratch<T>(rows);
    T* rstd = tp.template scratch<T>(rows);
    // The i-th (kept) sample's rows at row i · per_sample.
    ops::for_each_run(kept, batch, [&](std::size_t first, std::size_t count, std::size_t at) {
        layer_norm_forward_ld(B{}, count * per_sample, in, eps, x.data() + first * per_sample * in, gamma.data(),
                              beta.data(), xa + at * per_sample * ld, ld, mean + at * per_sample,
                              rstd + at * per_sample, ones);
    });
    if (ones) {
        temp_t wa(tp, out * ld);
        weight_with_bias(B{}, w.data(), b.data(), out, in, wa.get());
        gemm(B{}, false, true, rows, out, ld, T(1), static_cast<const T*>(xa), ld, static_cast<const T*>(wa.get()), ld,
             T(0), y.data(), out);
    } else {
        copy_tokens(B{}, rows, 1, out, b.data(), 1, 0, true, y.data(), 1, 0, false);
        gemm(B{}, false, true, rows, out, in, T(1), static_cast<const T*>(xa), in, w.data(), in, T(1), y.data(), out);
    }
    if (!y.requires_grad()) return y;

    const ops::sample_runs_view runs = kept != nullptr ? *kept : ops::sample_runs_view{};
    const bool some = kept != nullptr;
    auto* sy = y.get_slot();
    tp.record(sy, [=](tape<B>& t) {
        using namespace backends;
        const T* gy = sy->grad();
        bool fresh = false;
        if (ones && sw->requires_grad && sb->requires_grad) {
            // [dW | db] = gyᵀ · [LN(x) | 1]: the bias's gradient is the product's last column.
            temp_t dwb(t, out * ld);
            gemm(B{}, true, false, out, ld, rows, T(1), gy, out, static_cast<const T*>(xa), ld, T(0), dwb.get(), ld);
            bool fresh_b = false;
            T* dw = t.grad_for_write(sw, fresh);
            T* db = t.grad_for_write(sb, fresh_b);
            add_weight_bias(B{}, static_cast<const T*>(dwb.get()), out, in, dw, fresh, db, fresh_b);
        } else {
            if (sw->requires_grad) {  // dW (+)= gyᵀ · LN(x)
                T* dw = t.grad_for_write(sw, fresh);
                gemm(B{}, true, false, out, in, rows, T(1), gy, out, static_cast<const T*>(xa), ld, fresh ? T(0) : T(1),
                     dw, in);
            }
            if (sb->requires_grad)
                reduce_rows_acc(B{}, rows * out, out, T(1), gy, static_cast<const T*>(nullptr), t.grad(sb));
        }
        if (!sx->requires_grad && !sg->requires_grad && !sbeta->requires_grad) return;
        temp_t dn(t, rows * in);  // the layer norm's output gradient, gy · W
        gemm(B{}, false, false, rows, in, out, T(1), gy, out, static_cast<const T*>(sw->value), in, T(0), dn.get(), in);
        layer_norm_rows_backward(t, some ? &runs : nullptr, batch, per_sample, in, sx, sg, sbeta, mean, rstd,
                                 static_cast<const T*>(dn.get()));
    });
    return y;
}

// The node under bf16_mixed, on any backend with gemm_bf16: LN(x) in fp32, stored in bf16 (the GEMM's
// operand, kept for dW), times W cast to bf16 once (kept for dx) onto a bias fill, fp32 accumulation; the
// output rounded to bf16 values when `round_output` (q, k, v: the attention's operands). The backward
// multiplies gy rounded to bf16 by those operands; the bias and the layer norm's gradients stay fp32.
template <element T, class S, class SG, class SW, class SB, backend B>
[[nodiscard]] auto layer_norm_linear_bf16_node(const var<T, S, B>& x, const var<T, SG, B>& gamma,
                                               const var<T, SG, B>& beta, T eps, const var<T, SW, B>& w,
                                               const var<T, SB, B>& b, const ops::sample_runs_view* kept,
                                               bool round_output) {
    static_assert(std::is_same_v<T, float>, "layer_norm_linear: bf16_mixed computes on float values");
    using namespace backends;
    using SY = shape_ops::replace_last_t<S, SW::static_extents[0]>;
    const std::size_t in = w.extent(1), out = w.extent(0);
    const std::size_t batch = kept != nullptr ? kept->count : x.extent(0);
    const std::size_t per_sample = x.extent(0) != 0 ? x.size() / in / x.extent(0) : 0;
    const std::size_t rows = batch * per_sample;
    auto& tp = x.get_tape();
    auto *sx = x.get_slot(), *sg = gamma.get_slot(), *sbeta = beta.get_slot(), *sw = w.get_slot(), *sb = b.get_slot();
    const bool needs =
        sx->requires_grad || sg->requires_grad || sbeta->requires_grad || sw->requires_grad || sb->requires_grad;
    auto ey = x.shape().all();
    ey[0] = batch;
    ey[S::rank - 1] = out;
    auto y = make_output<T>(tp, extents<SY>(ey), needs);

    // bf16 operands: kept for the backward when it runs, else temporaries of this op.
    std::optional<typename tape<B>::template temporary<bf16>> xb_temp, wb_temp;
    bf16* xb = needs ? tp.template scratch<bf16>(rows * in) : xb_temp.emplace(tp, rows * in).get();
    bf16* wb = needs ? tp.template scratch<bf16>(out * in) : wb_temp.emplace(tp, out * in).get();
    T* mean = tp.template scratch<T>(rows);
    T* rstd = tp.template scratch<T>(rows);
    {
        typename tape<B>::template temporary<T> xa(tp, rows * in);  // LN(x) in fp32
        ops::for_each_run(kept, batch, [&](std::size_t first, std::size_t count, std::size_t at) {
            layer_norm_forward(B{}, count * per_sample, in, eps, x.data() + first * per_sample * in, gamma.data(),
                               beta.data(), xa.get() + at * per_sample * in, mean + at * per_sample,
                               rstd + at * per_sample);
        });
        to_bf16(B{}, rows * in, static_cast<const T*>(xa.get()), xb);
    }
    to_bf16(B{}, out * in, w.data(), wb);
    copy_tokens(B{}, rows, 1, out, b.data(), 1, 0, true, y.data(), 1, 0, false);
    gemm_bf16(B{}, false, true, rows, out, in, 1.0f, static_cast<const bf16*>(xb), in, static_cast<const bf16*>(wb), in,
              1.0f, y.data(), out);
    if (round_output) round_bf16(B{}, rows * out, y.data(), y.data());
    if (!y.requires_grad()) return y;

    const ops::sample_runs_view runs = kept != nullptr ? *kept : ops::sample_runs_view{};
    const bool some = kept != nullptr;
    auto* sy = y.get_slot();
    tp.record(sy, [=](tape<B>& t) {
        using namespace backends;
        const T* gy = sy->grad();
        typename tape<B>::template temporary<bf16> gyb(t, rows * out);
        to_bf16(B{}, rows * out, gy, gyb.get());
        bool fresh = false;
        if (sw->requires_grad) {  // dW (+)= bf16(gy)ᵀ · bf16(LN(x))
            T* dw = t.grad_for_write(sw, fresh);
            gemm_bf16(B{}, true, false, out, in, rows, 1.0f, static_cast<const bf16*>(gyb.get()), out,
                      static_cast<const bf16*>(xb), in, fresh ? 0.0f : 1.0f, dw, in);
        }
        if (sb->requires_grad)
            reduce_rows_acc(B{}, rows * out, out, T(1), gy, static_cast<const T*>(nullptr), t.grad(sb));
        if (!sx->requires_grad && !sg->requires_grad && !sbeta->requires_grad) return;
        typename tape<B>::template temporary<T> dn(t, rows * in);  // the layer norm's output gradient
        gemm_bf16(B{}, false, false, rows, in, out, 1.0f, static_cast<const bf16*>(gyb.get()), out,
                  static_cast<const bf16*>(wb), in, 0.0f, dn.get(), in);
        layer_norm_rows_backward(t, some ? &runs : nullptr, batch, per_sample, in, sx, sg, sbeta, mean, rstd,
                                 static_cast<const T*>(dn.get()));
    });
    return y;
}

// With `kept`, of those samples of x only (in order; the batch extent dynamic): [kept->count, ..., out].
// Under bf16_mixed the bf16 node, its output rounded to bf16 values when `round_output`.
template <precision_policy P = fp32, element T, class S, class SG, class SW, class SB, backend B>
[[nodiscard]] auto layer_norm_linear(const var<T, S, B>& x, const var<T, SG, B>& gamma, const var<T, SG, B>& beta,
                                     T eps, const var<T, SW, B>& w, const var<T, SB, B>& b,
                                     const ops::sample_runs_view* kept, bool round_output = false) {
    check_layer_norm_linear(x, gamma, beta, w, b, kept);
    if constexpr (P::bf16_operands)
        return layer_norm_linear_bf16_node(x, gamma, beta, eps, w, b, kept, round_output);
    else if constexpr (requires { plan_layer_norm_linear(B{}, std::size_t{}, std::size_t{}); }) {
        if (auto plan = plan_layer_norm_linear(B{}, w.extent(1), w.extent(0)))
            return layer_norm_linear_node(*plan, x, gamma, beta, eps, w, b, kept);
    }
    if constexpr (!P::bf16_operands) {
        if constexpr (S::static_extents[0] == dyn) {
            if (kept != nullptr)
                return ops::linear(ops::layer_norm(ops::take_samples(x, *kept), gamma, beta, eps), w, b);
        }
        return ops::linear(ops::layer_norm(x, gamma, beta, eps), w, b);
    }
}
}  // namespace detail

// P (default fp32): the precision policy; under bf16_mixed `round_output` rounds y to bf16 values.
struct layer_norm_linear_fn {
    template <element T, class S, class SG, class SW, class SB, backend B, precision_policy P = fp32>
    [[nodiscard]] static auto reference(const var<T, S, B>& x, const var<T, SG, B>& gamma, const var<T, SG, B>& beta,
                                        T eps, const var<T, SW, B>& w, const var<T, SB, B>& b, P p = {},
                                        bool round_output = false) {
        return ops::linear(ops::layer_norm(x, gamma, beta, eps), w, b, p, round_output);
    }
    template <element T, class S, class SG, class SW, class SB, backend B, precision_policy P = fp32>
    [[nodiscard]] auto operator()(const var<T, S, B>& x, const var<T, SG, B>& gamma, const var<T, SG, B>& beta, T eps,
                                  const var<T, SW, B>& w, const var<T, SB, B>& b, P = {},
                                  bool round_output = false) const {
        ops::detail::check_precision<P, T>();
        return detail::layer_norm_linear<P>(x, gamma, beta, eps, w, b, nullptr, round_output);
    }
};
inline constexpr layer_norm_linear_fn layer_norm_linear{};

}  // namespace tinymim::fused
