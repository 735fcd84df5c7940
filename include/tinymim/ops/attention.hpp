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
            backends::heads_copy(B{}, batch, n, heads, d, w, off, static_cast<const T*>(sy->grad()), t.grad(sx), false,
                                 true);
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

// The default scale 1/sqrt(head_dim).
template <element T, class S, backend B>
[[nodiscard]] attention_result<T, S, B> attention(const var<T, S, B>& q, const var<T, S, B>& k, const var<T, S, B>& v) {
    return attention(q, k, v, T(1) / std::sqrt(T(q.extent(3))));
}

}  // namespace tinymim::ops
