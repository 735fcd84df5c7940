// layer_norm_linear: y = layer_norm(x; gamma, beta) · Wᵀ + b as one node — a pre-norm block's
// norm1 → qkv and norm2 → fc1.
//
// The linear's bias needs a pass of its own before or after the GEMM: each output row filled with the
// bias for the GEMM to accumulate onto (a write and a read of all of y), which was 5 % of the fm
// distillation step (`copy_tokens` in the profile). On the CPU this op has the layer norm write its rows
// with one more column, of ones, and multiplies them by [W | b]: the GEMM's inner dimension grows by one
// and y is written once. Measured with oneMKL on the AVX-512 host (docs/performance.md): 3-20 % faster
// than filling and accumulating for the fm and vit-tiny products (in = 96, 192), 3-8 % slower for
// vit-small's (in = 384, the rows then no longer 64-byte multiples): above in = 256 the bias is filled as
// before. The normalised rows are kept for the backward as the separate ops keep the layer norm's
// output. Other backends run the two ops.
#pragma once

#include <algorithm>
#include <cstddef>
#include <optional>
#include <type_traits>

#include "tinymim/autograd/var.hpp"
#include "tinymim/backend/kernels.hpp"
#include "tinymim/ops/layer_norm.hpp"
#include "tinymim/ops/linear.hpp"
#include "tinymim/ops/samples.hpp"
#include "tinymim/tensor/shape_ops.hpp"

namespace tinymim::ops {

namespace detail {
// [W | b] on the CPU: each of W's `out` rows of `in` values followed by b's value — the weight that rows
// carrying a column of ones multiply, so that the GEMM adds the bias.
template <class T>
void weight_with_bias(const T* w, const T* b, std::size_t out, std::size_t in, T* wb) {
    for (std::size_t o = 0; o < out; ++o) {
        std::copy(w + o * in, w + (o + 1) * in, wb + o * (in + 1));
        wb[o * (in + 1) + in] = b[o];
    }
}
// The reverse: wb [out, in + 1] into dw [out, in] and db [out], written (fresh) or added.
template <class T>
void add_weight_bias(const T* wb, std::size_t out, std::size_t in, T* dw, bool fresh_w, T* db, bool fresh_b) {
    for (std::size_t o = 0; o < out; ++o) {
        const T* r = wb + o * (in + 1);
        T* d = dw + o * in;
        if (fresh_w) std::copy(r, r + in, d);
        else
            for (std::size_t j = 0; j < in; ++j) d[j] += r[j];
        db[o] = fresh_b ? r[in] : db[o] + r[in];
    }
}

// With `kept`, of those samples of x only (in order; the batch extent dynamic): [kept->count, ..., out].
template <element T, class S, class SG, class SW, class SB, backend B>
[[nodiscard]] auto layer_norm_linear_impl(const var<T, S, B>& x, const var<T, SG, B>& gamma, const var<T, SG, B>& beta, T eps,
                                          const var<T, SW, B>& w, const var<T, SB, B>& b, const sample_runs_view* kept) {
    static_assert(SW::rank == 2, "layer_norm_linear: the weight must be a matrix [out_features, in_features]");
    static_assert(SB::rank == 1 && extents_compatible(SB::static_extents[0], SW::static_extents[0]),
                  "layer_norm_linear: the bias must be a vector [out_features] matching the weight's first extent");
    static_assert(extents_compatible(S::static_extents[S::rank - 1], SW::static_extents[1]),
                  "layer_norm_linear: the input's last extent must equal the weight's in_features (weight is [out, in])");
    TINYMIM_CHECK(kept == nullptr || (S::static_extents[0] == dyn && kept->batch == x.extent(0)),
                  "layer_norm_linear: samples of a batch of ", kept != nullptr ? kept->batch : 0, " taken from ",
                  x.shape().str(), " (the batch extent must match and be dynamic)");
    if constexpr (!std::is_same_v<B, cpu>) {
        if constexpr (S::static_extents[0] == dyn) {
            if (kept != nullptr) return linear(layer_norm(take_samples(x, *kept), gamma, beta, eps), w, b);
        }
        return linear(layer_norm(x, gamma, beta, eps), w, b);
    } else {
        using SY = shape_ops::replace_last_t<S, SW::static_extents[0]>;
        using temp_t = typename tape<B>::template temporary<T>;
        const std::size_t in = w.extent(1), out = w.extent(0);
        const std::size_t batch = kept != nullptr ? kept->count : x.extent(0);
        const std::size_t per_sample = x.extent(0) != 0 ? x.size() / in / x.extent(0) : 0;  // rows of one sample
        const std::size_t rows = batch * per_sample;
        const sample_runs_view runs = kept != nullptr ? *kept : sample_runs_view{};
        const bool ones = in <= 256;  // the bias through a column of ones (above: filled, as linear does)
        const std::size_t ld = ones ? in + 1 : in;
        TINYMIM_CHECK(x.extent(S::rank - 1) == in, "layer_norm_linear: input ", x.shape().str(), " does not fit weight ",
                      w.shape().str(), " (expected last extent ", in, ")");
        TINYMIM_CHECK(gamma.extent(0) == in && beta.extent(0) == in, "layer_norm_linear: gamma ", gamma.shape().str(),
                      " / beta ", beta.shape().str(), " do not match the input's last axis ", x.shape().str());
        TINYMIM_CHECK(b.extent(0) == out, "layer_norm_linear: bias ", b.shape().str(), " does not match weight ",
                      w.shape().str());
        using namespace backends;  // kernels found through B{} (layer_norm_forward_ld is CPU-only)
        auto& tp = x.get_tape();
        auto *sx = x.get_slot(), *sg = gamma.get_slot(), *sbeta = beta.get_slot(), *sw = w.get_slot(), *sb = b.get_slot();
        const bool needs = sx->requires_grad || sg->requires_grad || sbeta->requires_grad || sw->requires_grad ||
                           sb->requires_grad;
        auto ey = x.shape().all();
        ey[0] = batch;
        ey[S::rank - 1] = out;
        auto y = make_output<T>(tp, extents<SY>(ey), needs);

        // LN(x), rows ld apart (and [LN(x) | 1] with the ones): kept for the backward when it runs, else a
        // temporary of this op.
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
        // Every row of x, or the kept samples' rows run by run: [LN | 1] of the i-th kept sample at row
        // i · per_sample.
        auto normalise = [&](std::size_t first, std::size_t count, std::size_t at) {
            layer_norm_forward_ld(B{}, count * per_sample, in, eps, x.data() + first * per_sample * in, gamma.data(),
                                  beta.data(), xa + at * per_sample * ld, ld, mean + at * per_sample, rstd + at * per_sample, ones);
        };
        if (kept == nullptr) normalise(0, batch, 0);
        else runs.each(normalise);
        if (ones) {
            temp_t wa(tp, out * ld);
            T* wp = wa.get();
            detail::weight_with_bias(w.data(), b.data(), out, in, wp);
            gemm(B{}, false, true, rows, out, ld, T(1), static_cast<const T*>(xa), ld, static_cast<const T*>(wp), ld,
                           T(0), y.data(), out);
        } else {
            copy_tokens(B{}, rows, 1, out, b.data(), 1, 0, true, y.data(), 1, 0, false);
            gemm(B{}, false, true, rows, out, in, T(1), static_cast<const T*>(xa), in, w.data(), in, T(1), y.data(),
                           out);
        }

        if (y.requires_grad()) {
            auto* sy = y.get_slot();
            const bool some = kept != nullptr;
            tp.record(sy, [=](tape<B>& t) {
                using namespace backends;
                const T* gy = sy->grad();
                bool fresh = false;
                if (ones && sw->requires_grad && sb->requires_grad) {
                    // [dW | db] = gyᵀ · [LN(x) | 1]: the bias's gradient is the product's last column, not a pass
                    // of its own over gy.
                    temp_t dwb(t, out * ld);
                    gemm(B{}, true, false, out, ld, rows, T(1), gy, out, static_cast<const T*>(xa), ld, T(0), dwb.get(), ld);
                    bool fresh_b = false;
                    T* dw = t.grad_for_write(sw, fresh);
                    T* db = t.grad_for_write(sb, fresh_b);
                    detail::add_weight_bias(static_cast<const T*>(dwb.get()), out, in, dw, fresh, db, fresh_b);
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
                const T* xs = static_cast<const T*>(sx->value);
                const T* dns = dn.get();
                T* dx = sx->requires_grad ? t.grad(sx) : nullptr;
                T* dg = sg->requires_grad ? t.grad(sg) : nullptr;
                T* dbeta = sbeta->requires_grad ? t.grad(sbeta) : nullptr;
                auto run = [&](std::size_t first, std::size_t count, std::size_t at) {  // as in the forward
                    const std::size_t r0 = at * per_sample;
                    layer_norm_backward(B{}, count * per_sample, in, xs + first * per_sample * in, static_cast<const T*>(sg->value),
                                        static_cast<const T*>(mean) + r0, static_cast<const T*>(rstd) + r0, dns + r0 * in,
                                        dx != nullptr ? dx + first * per_sample * in : nullptr, dg, dbeta);
                };
                if (!some) run(0, batch, 0);
                else runs.each(run);
            });
        }
        return y;
    }
}

}  // namespace detail

// x: [..., in]; gamma, beta: [in]; W: [out, in]; b: [out] -> [..., out].
template <element T, class S, class SG, class SW, class SB, backend B>
[[nodiscard]] auto layer_norm_linear(const var<T, S, B>& x, const var<T, SG, B>& gamma, const var<T, SG, B>& beta, T eps,
                                     const var<T, SW, B>& w, const var<T, SB, B>& b) {
    return detail::layer_norm_linear_impl(x, gamma, beta, eps, w, b, static_cast<const sample_runs_view*>(nullptr));
}

}  // namespace tinymim::ops
