// nn::block<D, Hidden>: one pre-norm transformer block as timm/MAE,
//   x = x + drop_path(attn(norm1(x)));  x = x + drop_path(mlp(norm2(x)))
// with qkv bias, exact GELU, and a trace that distillation reads.
#pragma once

#include <cmath>
#include <cstddef>
#include <string>

#include "tinymim/core/random.hpp"
#include "tinymim/fused/attention_qkv.hpp"
#include "tinymim/fused/attention_residual.hpp"
#include "tinymim/fused/mlp_residual.hpp"
#include "tinymim/nn/linear.hpp"
#include "tinymim/ops/attention.hpp"
#include "tinymim/ops/drop_path.hpp"
#include "tinymim/ops/elementwise.hpp"
#include "tinymim/ops/gelu.hpp"

namespace tinymim::nn {

// What a block's forward records when asked (each var is valid until the tape's reset).
// Heads are [B, H, N, d]; token tensors are [B, N, D] (N as in the input shape S).
template <element T, class S, backend B>
struct block_trace {
    using heads_t = var<T, shape<S::static_extents[0], dyn, S::static_extents[1], dyn>, B>;
    using probs_t = var<T, shape<S::static_extents[0], dyn, S::static_extents[1], S::static_extents[1]>, B>;
    using value_type = T;
    using tokens_shape = S;
    static constexpr std::size_t width = S::static_extents[2];
    var<T, S, B> input;     // F_{i-1}
    var<T, S, B> ln1;       // LN1(F_{i-1})
    heads_t q, k, v;        // split per head
    probs_t attn;           // softmax(q kᵀ / sqrt(d)); not filled when stopped after qkv
    var<T, S, B> attn_out;  // attention output after proj, before the residual
    var<T, S, B> resid1;    // after the first residual
    var<T, S, B> mlp_out;   // MLP output before the residual
    var<T, S, B> out;       // F_i
    bool complete = false;  // false when the block stopped after its qkv
};

// A block whose trace a run records: its 1-based index, its head count for the run (0: its own; the
// adaptive block of relation distillation) and where the trace goes.
template <class T, class S, class B>
struct trace_request {
    std::size_t block = 0;
    std::size_t heads = 0;
    block_trace<T, S, B>* out = nullptr;
};

// How one call runs the block.
struct block_run {
    std::size_t heads = 0;  // attention heads for this call (0: the block's own)
    double drop_path = 0;   // stochastic depth probability
    counter_rng rng{};      // draws drop path masks
    bool training = false;
    bool stop_after_qkv = false;  // relations need only LN1 + qkv: skip the rest
};

// P: the precision of the block's products (core/precision.hpp). Under bf16_mixed every linear multiplies
// bf16 operands with fp32 accumulation and the attention runs on q, k, v rounded to bf16, in the fused
// halves as in the traced math below.
template <std::size_t D, std::size_t Hidden, backend B = cpu, element T = float, precision_policy P = fp32>
struct block {
    static_assert(D > 0 && Hidden > 0, "nn::block: widths must be positive");
    static_assert(precision_fits<P, T>, "nn::block: bf16_mixed keeps float master weights (element float)");
    layer_norm<D, B, T> norm1;
    struct attention_t {
        linear<D, 3 * D, B, T, P> qkv;
        linear<D, D, B, T, P> proj;
    } attn;
    layer_norm<D, B, T> norm2;
    struct mlp_t {
        linear<D, Hidden, B, T, P> fc1;
        linear<Hidden, D, B, T, P> fc2;
    } mlp;
    std::size_t heads = 1;  // the block's own head count

    // x: [B, N, D]. Fills *trace when given. Returns F_i, or x itself when stopped after qkv.
    template <class S>
    [[nodiscard]] var<T, S, B> forward(tape<B>& t, const var<T, S, B>& x, const block_run& run,
                                       block_trace<T, S, B>* trace = nullptr) {
        static_assert(S::rank == 3 && S::static_extents[2] == D,
                      "block::forward: the input must be tokens [batch, tokens, D] of the block's width");
        const std::size_t h = run.heads != 0 ? run.heads : heads;
        TINYMIM_CHECK(D % h == 0, "block: width ", D, " does not divide into ", h, " heads");
        if (trace == nullptr && !run.stop_after_qkv) return forward_fused(t, x, run, h);
        auto ln1 = norm1(t, x);
        // q, k, v are the attention's operands: under bf16_mixed they are rounded to bf16 values.
        auto qkv = ops::linear(ln1, attn.qkv.weight.on(t), attn.qkv.bias.on(t), P{}, true);
        if (trace != nullptr) {  // per-head copies only for the block a distillation target reads
            trace->input = x;
            trace->ln1 = ln1;
            trace->q = ops::split_heads<3>(qkv, h, 0);
            trace->k = ops::split_heads<3>(qkv, h, 1);
            trace->v = ops::split_heads<3>(qkv, h, 2);
            trace->complete = false;
        }
        if (run.stop_after_qkv) return x;
        const T scale = T(1) / std::sqrt(T(D / h));
        auto a = fused::attention_qkv(qkv, h, scale);
        auto attn_out = attn.proj(t, a.out);
        auto r1 = ops::add(x, ops::drop_path(attn_out, T(run.drop_path), run.rng.fork(1), run.training));
        auto mlp_out = mlp.fc2(t, ops::gelu(mlp.fc1(t, norm2(t, r1))));
        auto out = ops::add(r1, ops::drop_path(mlp_out, T(run.drop_path), run.rng.fork(2), run.training));
        if (trace != nullptr) {
            trace->attn = a.probs;
            trace->attn_out = attn_out;
            trace->resid1 = r1;
            trace->mlp_out = mlp_out;
            trace->out = out;
            trace->complete = true;
        }
        return out;
    }

    // Nothing reads this block's intermediates: the same two residual halves as fused ops, which keep only
    // what the backward needs (docs/design/fused-ops.md):
    //   x = x + drop_path(proj(attention(qkv(norm1(x)))));  x = x + drop_path(fc2(gelu(fc1(norm2(x)))))
    template <class S>
    [[nodiscard]] var<T, S, B> forward_fused(tape<B>& t, const var<T, S, B>& x, const block_run& run, std::size_t h) {
        const T scale = T(1) / std::sqrt(T(D / h));
        const ops::drop_path_run dp1{run.drop_path, run.rng.fork(1), run.training},
            dp2{run.drop_path, run.rng.fork(2), run.training};
        auto r1 = fused::attention_residual(x, norm1.weight.on(t), norm1.bias.on(t), norm1.eps, attn.qkv.weight.on(t),
                                            attn.qkv.bias.on(t), attn.proj.weight.on(t), attn.proj.bias.on(t), h, scale,
                                            dp1, P{});
        return fused::mlp_residual(r1, norm2.weight.on(t), norm2.bias.on(t), norm2.eps, mlp.fc1.weight.on(t),
                                   mlp.fc1.bias.on(t), mlp.fc2.weight.on(t), mlp.fc2.bias.on(t), dp2, P{});
    }

    void init(const counter_rng& rng) {
        norm1.init();
        norm2.init();
        attn.qkv.init_xavier(rng.fork(1));
        attn.proj.init_xavier(rng.fork(2));
        mlp.fc1.init_xavier(rng.fork(3));
        mlp.fc2.init_xavier(rng.fork(4));
    }

    template <class F>
    void visit(const std::string& prefix, F&& f) {
        norm1.visit(prefix + ".norm1", f);
        attn.qkv.visit(prefix + ".attn.qkv", f);
        attn.proj.visit(prefix + ".attn.proj", f);
        norm2.visit(prefix + ".norm2", f);
        mlp.fc1.visit(prefix + ".mlp.fc1", f);
        mlp.fc2.visit(prefix + ".mlp.fc2", f);
    }
};

}  // namespace tinymim::nn
