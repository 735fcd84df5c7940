// Multi-head attention pieces: head split/merge and scaled dot-product attention that exposes its
// probabilities (the token relations TinyMIM distils are exactly these).
#pragma once

#include <cmath>
#include <cstddef>

#include "tinymim/autograd/var.hpp"
#include "tinymim/backend/kernels.hpp"
#include "tinymim/ops/matmul.hpp"
#include "tinymim/ops/softmax.hpp"
#include "tinymim/tensor/shape_ops.hpp"

namespace tinymim::ops {

// Part `part` of `Parts` equal parts of the last axis, split into H heads:
// [B, N, Parts·D] -> [B, H, N, D/H]. For a fused qkv projection, Parts = 3 and part 0/1/2 = q/k/v.
// The head count is a run-time value here so one block type serves both its own head count and the
// distillation's adaptive head count; the static shape keeps dyn for the head axes then.
template <std::size_t Parts = 1, element T, class S, backend B>
[[nodiscard]] auto split_heads(const var<T, S, B>& x, std::size_t heads, std::size_t part = 0) {
    static_assert(S::rank == 3, "split_heads: expects tokens [batch, tokens, width]");
    static_assert(S::static_extents[2] == dyn || S::static_extents[2] % Parts == 0,
                  "split_heads: the width must divide into the requested number of parts");
    using SH = shape<S::static_extents[0], dyn, S::static_extents[1], dyn>;
    const std::size_t batch = x.extent(0), n = x.extent(1), w = x.extent(2), dim = w / Parts;
    TINYMIM_CHECK(part < Parts, "split_heads: part ", part, " of ", Parts);
    TINYMIM_CHECK(heads > 0 && dim % heads == 0, "split_heads: width ", dim, " does not divide into ", heads, " heads");
    const std::size_t d = dim / heads, off = part * dim;
    auto y = make_output<T>(x.get_tape(), extents<SH>({batch, heads, n, d}), x.requires_grad());
    backends::heads_copy(B{}, batch, n, heads, d, w, off, x.data(), y.data(), true, false);
    if (y.requires_grad()) {
        auto *sx = x.get_slot(), *sy = y.get_slot();
        x.get_tape().record(sy, [=](tape<B>& t) {
            backends::heads_copy(B{}, batch, n, heads, d, w, off, static_cast<const T*>(sy->grad()), t.grad(sx), false, true);
        });
    }
    return y;
}

// [B, H, N, d] -> [B, N, H·d], with the merged width checked against the static width W.
template <std::size_t W, element T, class S, backend B>
[[nodiscard]] auto merge_heads(const var<T, S, B>& x) {
    static_assert(S::rank == 4, "merge_heads: expects [batch, heads, tokens, head_dim]");
    using SY = shape<S::static_extents[0], S::static_extents[2], W>;
    const std::size_t batch = x.extent(0), h = x.extent(1), n = x.extent(2), d = x.extent(3);
    TINYMIM_CHECK(h * d == W, "merge_heads: ", h, " heads of ", d, " do not make width ", W);
    auto y = make_output<T>(x.get_tape(), extents<SY>({batch, n, W}), x.requires_grad());
    backends::heads_copy(B{}, batch, n, h, d, W, 0, x.data(), y.data(), false, false);
    if (y.requires_grad()) {
        auto *sx = x.get_slot(), *sy = y.get_slot();
        x.get_tape().record(sy, [=](tape<B>& t) {
            bool fresh = false;
            T* dx = t.grad_for_write(sx, fresh);
            backends::heads_copy(B{}, batch, n, h, d, W, 0, static_cast<const T*>(sy->grad()), dx, true, !fresh);
        });
    }
    return y;
}

// Scaled dot-product attention on [B, H, N, d] heads. Returns the output [B, H, N, d] and the
// probabilities softmax(q·kᵀ·scale) [B, H, N, N], both differentiable.
template <element T, class S, backend B>
struct attention_result {
    var<T, S, B> out;
    var<T, shape<S::static_extents[0], S::static_extents[1], S::static_extents[2], S::static_extents[2]>, B> probs;
};

template <element T, class S, backend B>
[[nodiscard]] attention_result<T, S, B> attention(const var<T, S, B>& q, const var<T, S, B>& k, const var<T, S, B>& v,
                                                  T scale) {
    static_assert(S::rank == 4, "attention: expects q, k, v of shape [batch, heads, tokens, head_dim]");
    TINYMIM_CHECK(q.shape() == k.shape() && q.shape() == v.shape(), "attention: q ", q.shape().str(), ", k ",
                  k.shape().str(), ", v ", v.shape().str(), " must have one shape");
    auto scores = matmul<false, true>(q, k, scale);
    auto probs = softmax(scores);
    auto out = matmul(probs, v);
    return {out, probs};
}

// Multi-head attention straight on a fused qkv projection [B, N, 3·D] (q | k | v, `heads` heads each):
// the output in the merged layout [B, N, D] that the projection reads, and the probabilities
// [B, H, N, N]. The same values as split_heads + attention + merge_heads, without the head copies and
// without keeping the scores next to the probabilities: one node, whose backward writes all of dqkv.
template <element T, class S, backend B>
struct qkv_attention_result {
    static constexpr std::size_t width = S::static_extents[2] == dyn ? dyn : S::static_extents[2] / 3;
    var<T, shape<S::static_extents[0], S::static_extents[1], width>, B> out;
    var<T, shape<S::static_extents[0], dyn, S::static_extents[1], S::static_extents[1]>, B> probs;
};

template <element T, class S, backend B>
[[nodiscard]] qkv_attention_result<T, S, B> attention_qkv(const var<T, S, B>& qkv, std::size_t heads, T scale) {
    static_assert(S::rank == 3, "attention_qkv: expects a fused projection [batch, tokens, 3 * width]");
    static_assert(S::static_extents[2] == dyn || S::static_extents[2] % 3 == 0,
                  "attention_qkv: the fused projection's width must be 3 * width (q, k, v)");
    using R = qkv_attention_result<T, S, B>;
    const std::size_t batch = qkv.extent(0), n = qkv.extent(1), dim = qkv.extent(2) / 3;
    TINYMIM_CHECK(qkv.extent(2) % 3 == 0, "attention_qkv: width ", qkv.extent(2), " is not 3 * width");
    TINYMIM_CHECK(heads > 0 && dim % heads == 0, "attention_qkv: width ", dim, " does not divide into ", heads, " heads");
    const std::size_t d = dim / heads;
    auto& tp = qkv.get_tape();
    R r{make_output<T>(tp, extents<typename decltype(R::out)::shape_type>({batch, n, dim}), qkv.requires_grad()),
        make_output<T>(tp, extents<typename decltype(R::probs)::shape_type>({batch, heads, n, n}), qkv.requires_grad())};
    backends::attention_qkv_forward(B{}, batch, n, heads, d, scale, qkv.data(), r.probs.data(), r.out.data());
    if (r.out.requires_grad()) {
        auto *sx = qkv.get_slot(), *so = r.out.get_slot(), *sp = r.probs.get_slot();
        tp.record(so, sp, [=](tape<B>& t) {
            bool fresh = false;
            T* dx = t.grad_for_write(sx, fresh);
            backends::attention_qkv_backward(B{}, batch, n, heads, d, scale, static_cast<const T*>(sx->value),
                                             static_cast<const T*>(sp->value), static_cast<const T*>(so->grad()),
                                             static_cast<const T*>(sp->grad()), dx, !fresh);
        });
    }
    return r;
}

// attention_qkv's output alone: the probabilities are not kept (B·H·N² values per layer, three times
// the tokens for a ViT-S at 224); the backward recomputes them from q and k — on the CPU one (sample,
// head) block at a time, in cache. What a block uses when nothing reads its attention map.
template <element T, class S, backend B>
[[nodiscard]] auto attention_qkv_out(const var<T, S, B>& qkv, std::size_t heads, T scale) {
    static_assert(S::rank == 3, "attention_qkv_out: expects a fused projection [batch, tokens, 3 * width]");
    static_assert(S::static_extents[2] == dyn || S::static_extents[2] % 3 == 0,
                  "attention_qkv_out: the fused projection's width must be 3 * width (q, k, v)");
    using out_t = decltype(qkv_attention_result<T, S, B>::out);
    const std::size_t batch = qkv.extent(0), n = qkv.extent(1), dim = qkv.extent(2) / 3;
    TINYMIM_CHECK(qkv.extent(2) % 3 == 0, "attention_qkv_out: width ", qkv.extent(2), " is not 3 * width");
    TINYMIM_CHECK(heads > 0 && dim % heads == 0, "attention_qkv_out: width ", dim, " does not divide into ", heads, " heads");
    const std::size_t d = dim / heads;
    auto& tp = qkv.get_tape();
    auto out = make_output<T>(tp, extents<typename out_t::shape_type>({batch, n, dim}), qkv.requires_grad());
    backends::attention_qkv_forward(B{}, batch, n, heads, d, scale, qkv.data(), static_cast<T*>(nullptr), out.data());
    if (out.requires_grad()) {
        auto *sx = qkv.get_slot(), *so = out.get_slot();
        tp.record(so, [=](tape<B>& t) {
            bool fresh = false;
            T* dx = t.grad_for_write(sx, fresh);
            backends::attention_qkv_backward(B{}, batch, n, heads, d, scale, static_cast<const T*>(sx->value),
                                             static_cast<const T*>(nullptr), static_cast<const T*>(so->grad()),
                                             static_cast<const T*>(nullptr), dx, !fresh);
        });
    }
    return out;
}

// The default scale 1/sqrt(head_dim).
template <element T, class S, backend B>
[[nodiscard]] attention_result<T, S, B> attention(const var<T, S, B>& q, const var<T, S, B>& k, const var<T, S, B>& v) {
    return attention(q, k, v, T(1) / std::sqrt(T(q.extent(3))));
}

}  // namespace tinymim::ops
