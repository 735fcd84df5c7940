// nn::vit<cfg, B, T, Prec>: a Vision Transformer as timm/MAE build it, with their parameter names; Prec the precision
// of its products (fp32, or bf16_mixed: core/precision.hpp). With cfg.distill_token, DeiT's distilled ViT (timm's
// VisionTransformerDistilled): a distillation token after CLS with its own head; forward() averages the two heads.
#pragma once

#include <array>
#include <cstddef>
#include <span>
#include <string>
#include <type_traits>
#include <variant>
#include <vector>

#include "tinymim/core/random.hpp"
#include "tinymim/nn/block.hpp"
#include "tinymim/nn/init.hpp"
#include "tinymim/nn/parameter.hpp"
#include "tinymim/nn/pos_embed.hpp"
#include "tinymim/nn/vit_config.hpp"
#include "tinymim/ops/reduce.hpp"
#include "tinymim/ops/tokens.hpp"

namespace tinymim::nn {

// How one forward pass runs.
struct vit_run {
    bool training = false;
    double drop_path = 0;            // the largest rate
    bool drop_path_linear = true;    // rates 0 .. drop_path over depth (MAE fine-tuning); false: uniform
    bool no_drop_path_last = false;  // TinyMIM: no drop path on the last block that runs (the tapped one)
    counter_rng rng{};               // drop-path draws (fork it per step)
    std::size_t stop_block = 0;      // 1-based: run blocks 1..stop_block only (0: all)
    bool stop_after_qkv = false;     // the stop block runs only LN1 + qkv
    std::size_t trace_block = 0;     // 1-based block whose trace to record (0: none)
    std::size_t trace_heads = 0;     // head count for the traced block (0: its own) — the adaptive block
};

template <vit_config Cfg, backend B = cpu, element T = float, precision_policy Prec = fp32>
class vit {
    static_assert(precision_fits<Prec, T>, "nn::vit: bf16_mixed keeps float master weights (element float)");
    static_assert(Cfg.patch > 0 && Cfg.image % Cfg.patch == 0,
                  "vit_config: the image size must be a multiple of the patch size");
    static_assert(Cfg.heads > 0 && Cfg.dim % Cfg.heads == 0,
                  "vit_config: the width must be a multiple of the head count");
    static_assert(Cfg.dim % 4 == 0, "vit_config: the width must be a multiple of 4 (sin-cos position embedding)");
    static_assert(Cfg.depth > 0, "vit_config: a ViT needs at least one block");
    static_assert(Cfg.head == pool::none || Cfg.classes > 0, "vit_config: a classification head needs classes > 0");
    static_assert(Cfg.head != pool::cls || Cfg.class_token, "vit_config: the CLS-token head needs a class token");
    static_assert(!Cfg.distill_token || (Cfg.class_token && Cfg.head != pool::none),
                  "vit_config: a distillation token comes after a class token and needs a classification head (its "
                  "own head, head_dist, reads it)");

public:
    static constexpr vit_config config = Cfg;
    static constexpr std::size_t D = Cfg.dim, P = Cfg.patches(), N = Cfg.tokens(), C = Cfg.channels;
    static constexpr std::size_t H = Cfg.image, W = Cfg.image, patch = Cfg.patch, depth = Cfg.depth;
    static constexpr bool has_cls = Cfg.class_token;
    static constexpr bool has_dist = Cfg.distill_token;
    static constexpr std::size_t prefix_tokens = Cfg.prefix_tokens();  // CLS and distillation tokens before the patches
    using backend_type = B;
    using value_type = T;
    using precision_type = Prec;
    using image_shape = shape<dyn, C, H, W>;
    using patch_tokens_shape = shape<dyn, P, D>;
    using tokens_shape = shape<dyn, N, D>;
    using block_type = block<D, Cfg.hidden(), B, T, Prec>;
    template <class S = tokens_shape>
    using trace_type = block_trace<T, S, B>;

    parameter<shape<D, Cfg.patch_dim()>, B, T> patch_weight;  // patch_embed.proj.weight [D, C, p, p]
    parameter<shape<D>, B, T> patch_bias;                     // patch_embed.proj.bias
    parameter<shape<1, 1, D>, B, T> cls_token;
    // A member of a model with a distillation token only (nothing, not even its gradient buffer, elsewhere).
    template <class P>
    using with_dist = std::conditional_t<Cfg.distill_token, P, std::monostate>;
    [[no_unique_address]] with_dist<parameter<shape<1, 1, D>, B, T>> dist_token;
    parameter<shape<1, N, D>, B, T> pos_embed;  // trained only when Cfg.pos == learned
    std::array<block_type, depth> blocks;
    layer_norm<D, B, T> norm;     // final norm (pool none / cls)
    layer_norm<D, B, T> fc_norm;  // pool avg
    parameter<shape<(Cfg.classes ? Cfg.classes : 1), D>, B, T> head_weight;
    parameter<shape<(Cfg.classes ? Cfg.classes : 1)>, B, T> head_bias;
    [[no_unique_address]] with_dist<parameter<shape<(Cfg.classes ? Cfg.classes : 1), D>, B, T>> head_dist_weight;
    [[no_unique_address]] with_dist<parameter<shape<(Cfg.classes ? Cfg.classes : 1)>, B, T>> head_dist_bias;

    vit() {
        for (auto& b : blocks) b.heads = Cfg.heads;
        init(counter_rng(0));
    }

    // MAE's initialisation: xavier-uniform linears and patch embedding, N(0, 0.02) CLS and distillation tokens,
    // sin-cos position embedding, LayerNorms 1/0; the heads N(0, 2e-5) truncated (MAE fine-tuning), bias 0.
    void init(const counter_rng& rng) {
        init::xavier_uniform(patch_weight.value, Cfg.patch_dim(), D, rng.fork(1));
        patch_bias.value.fill(T(0));
        init::normal(cls_token.value, 0.02, rng.fork(2));
        if constexpr (Cfg.pos == pos_embed_kind::sincos)
            pos_embed.value.copy_from(sincos_pos_embed_2d<T>(D, Cfg.grid(), prefix_tokens));
        else
            init::normal(pos_embed.value, 0.02, rng.fork(3), true);
        for (std::size_t i = 0; i < depth; ++i) blocks[i].init(rng.fork(100 + i));
        norm.init();
        fc_norm.init();
        init::normal(head_weight.value, 2e-5, rng.fork(4), true);
        head_bias.value.fill(T(0));
        if constexpr (has_dist) {
            init::normal(dist_token.value, 0.02, rng.fork(5));
            init::normal(head_dist_weight.value, 2e-5, rng.fork(6), true);
            head_dist_bias.value.fill(T(0));
        }
    }

    // Patch tokens + their position embedding, no prefix tokens: [B, P, D].
    [[nodiscard]] var<T, patch_tokens_shape, B> embed(tape<B>& t, const var<T, image_shape, B>& images) {
        auto patches = ops::patchify<patch>(images);
        auto x = ops::linear(patches, patch_weight.on(t), patch_bias.on(t), Prec{});
        return ops::add(x, ops::slice_tokens<prefix_tokens, P>(pos_embed_var(t)));
    }

    // Prepends cls_token + pos_embed[0] (nothing without a class token), then dist_token + pos_embed[1] with a
    // distillation token: [B, K, D] -> [B, K + prefix_tokens, D].
    template <class S>
    [[nodiscard]] auto prepend_cls(tape<B>& t, const var<T, S, B>& x) {
        if constexpr (has_dist) {
            auto pe = pos_embed_var(t);
            auto cls = ops::add(cls_token.on(t), ops::slice_tokens<0, 1>(pe));
            auto dist = ops::add(dist_token.on(t), ops::slice_tokens<1, 1>(pe));
            return ops::concat_tokens(ops::concat_tokens(cls, dist), x);
        } else if constexpr (has_cls) {
            auto cls = ops::add(cls_token.on(t), ops::slice_tokens<0, 1>(pos_embed_var(t)));
            return ops::concat_tokens(cls, x);
        } else {
            return x;
        }
    }

    // Runs the blocks on tokens x ([B, N', D], any N'), recording one block's trace when asked.
    template <class S>
    [[nodiscard]] var<T, S, B> run_blocks(tape<B>& t, var<T, S, B> x, const vit_run& run,
                                          block_trace<T, S, B>* trace = nullptr) {
        const trace_request<T, S, B> one{run.trace_block, run.trace_heads, trace};
        const std::size_t last = run.stop_block != 0 ? run.stop_block : depth;
        TINYMIM_CHECK(run.trace_block <= last, "vit: the traced block ", run.trace_block, " is after the stop block ",
                      last);
        return run_blocks(t, x, run, std::span<const trace_request<T, S, B>>(&one, trace && run.trace_block ? 1 : 0));
    }

    // Runs the blocks, recording the trace of each requested block (each block at most once, none after
    // the stop block); run.trace_block and run.trace_heads are not read.
    template <class S>
    [[nodiscard]] var<T, S, B> run_blocks(tape<B>& t, var<T, S, B> x, const vit_run& run,
                                          std::span<const trace_request<T, S, B>> traces) {
        const std::size_t last = run.stop_block != 0 ? run.stop_block : depth;
        TINYMIM_CHECK(last <= depth, "vit: stop block ", last, " is past the last block (", depth, ")");
        for (std::size_t r = 0; r < traces.size(); ++r) {
            TINYMIM_CHECK(traces[r].block >= 1 && traces[r].block <= last, "vit: the traced block ", traces[r].block,
                          " is not among the blocks run (1 to ", last, ")");
            for (std::size_t q = 0; q < r; ++q)
                TINYMIM_CHECK(traces[q].block != traces[r].block, "vit: block ", traces[r].block, " is traced twice");
        }
        for (std::size_t i = 0; i < last; ++i) {
            block_run br;
            br.training = run.training;
            br.drop_path = drop_path_rate(run, i, last);
            br.rng = run.rng.fork(1000 + i);
            br.stop_after_qkv = run.stop_after_qkv && i + 1 == last;
            const trace_request<T, S, B>* req = nullptr;
            for (const auto& r : traces)
                if (r.block == i + 1) req = &r;
            br.heads = req ? req->heads : 0;
            if (!grad_enabled() && !req) {  // inference: keep only the block's output
                const auto m = t.mark();
                auto y = blocks[i].forward(t, x, br);
                x = var<T, S, B>(&t, t.keep(m, y.get_slot()), y.shape());
            } else {
                x = blocks[i].forward(t, x, br, req ? req->out : nullptr);
            }
            ++blocks_run_;
        }
        return x;
    }

    // timm's forward_features: embed, CLS, blocks, final norm ([B, N, D]; no norm for the avg head,
    // whose fc_norm comes after pooling).
    [[nodiscard]] var<T, tokens_shape, B> forward_features(tape<B>& t, const var<T, image_shape, B>& images,
                                                           const vit_run& run = {},
                                                           block_trace<T, tokens_shape, B>* trace = nullptr) {
        auto x = run_blocks(t, prepend_cls(t, embed(t, images)), run, trace);
        if (run.stop_block != 0 && run.stop_block < depth) return x;
        if constexpr (Cfg.head == pool::avg)
            return x;
        else
            return norm(t, x);
    }

    // Pooling, fc_norm and the linear head on forward_features' output: [B, classes]. With a distillation
    // token, the mean of the two heads' logits (timm's VisionTransformerDistilled at inference).
    [[nodiscard]] auto forward_head(tape<B>& t, const var<T, tokens_shape, B>& features) {
        static_assert(Cfg.head != pool::none, "vit::forward_head: this configuration has no head (pool::none)");
        if constexpr (has_dist) {
            auto h = forward_heads(t, features);
            return ops::scale(ops::add(h.cls, h.dist), T(0.5));
        } else {
            return class_head(t, features);
        }
    }

    // The class head's and the distillation head's logits, each [B, classes] (DeiT training). The distillation
    // head reads the distillation token after the final norm (pool::cls) or after fc_norm (pool::avg).
    [[nodiscard]] auto forward_heads(tape<B>& t, const var<T, tokens_shape, B>& features) {
        static_assert(has_dist, "vit::forward_heads: this configuration has no distillation token");
        auto dist = token<1>(features);
        auto normed = [&] {
            if constexpr (Cfg.head == pool::avg)
                return fc_norm(t, dist);
            else
                return dist;
        }();
        auto z_dist = ops::linear(normed, head_dist_weight.on(t), head_dist_bias.on(t), Prec{});
        return two_heads<decltype(z_dist)>{class_head(t, features), z_dist};
    }
    [[nodiscard]] auto forward_heads(tape<B>& t, const var<T, image_shape, B>& images, const vit_run& run) {
        return forward_heads(t, forward_features(t, images, run));
    }

    // Logits [B, classes].
    [[nodiscard]] auto forward(tape<B>& t, const var<T, image_shape, B>& images, const vit_run& run = {}) {
        return forward_head(t, forward_features(t, images, run));
    }

    // Visits every named tensor with its timm name (the ones this configuration has).
    template <class F>
    void visit(F&& f, const std::string& prefix = "") {
        if constexpr (has_cls) {
            auto r = cls_token.ref(prefix + "cls_token");
            f(r);
        }
        if constexpr (has_dist) {
            auto r = dist_token.ref(prefix + "dist_token");
            f(r);
        }
        auto pe = Cfg.pos == pos_embed_kind::learned ? pos_embed.ref(prefix + "pos_embed")
                                                     : buffer_ref(pos_embed.value, prefix + "pos_embed");
        f(pe);
        auto pw = patch_weight.ref(prefix + "patch_embed.proj.weight", {D, C, patch, patch});
        auto pb = patch_bias.ref(prefix + "patch_embed.proj.bias");
        f(pw);
        f(pb);
        for (std::size_t i = 0; i < depth; ++i) blocks[i].visit(prefix + "blocks." + std::to_string(i), f);
        if constexpr (Cfg.head == pool::avg)
            fc_norm.visit(prefix + "fc_norm", f);
        else
            norm.visit(prefix + "norm", f);
        if constexpr (Cfg.head != pool::none) {
            auto hw = head_weight.ref(prefix + "head.weight");
            auto hb = head_bias.ref(prefix + "head.bias");
            f(hw);
            f(hb);
        }
        if constexpr (has_dist) {
            auto hw = head_dist_weight.ref(prefix + "head_dist.weight");
            auto hb = head_dist_bias.ref(prefix + "head_dist.bias");
            f(hw);
            f(hb);
        }
    }

    // Drop-path probability of block i (0-based) in a run whose last block is `last` (1-based).
    [[nodiscard]] static double drop_path_rate(const vit_run& run, std::size_t i, std::size_t last = depth) {
        if (!run.training || run.drop_path == 0) return 0;
        if (run.no_drop_path_last && i + 1 == last) return 0;
        if (!run.drop_path_linear) return run.drop_path;
        return depth == 1 ? 0 : run.drop_path * double(i) / double(depth - 1);
    }

    // How many block forwards ran since construction (lets tests prove that a teacher stops at its tap).
    [[nodiscard]] std::size_t blocks_run() const noexcept { return blocks_run_; }

private:
    template <class V>
    struct two_heads {
        V cls, dist;
    };
    // Token I of every sample: [B, D].
    template <std::size_t I>
    [[nodiscard]] static auto token(const var<T, tokens_shape, B>& features) {
        return ops::slice_tokens<I, 1>(features).view_as(extents<shape<dyn, D>>({features.extent(0), D}));
    }
    // The class head: pooled patch tokens through fc_norm (avg), or the CLS token (cls).
    [[nodiscard]] auto class_head(tape<B>& t, const var<T, tokens_shape, B>& features) {
        if constexpr (Cfg.head == pool::avg) {
            auto pooled = ops::mean<1>(ops::slice_tokens<prefix_tokens, P>(features));
            return ops::linear(fc_norm(t, pooled), head_weight.on(t), head_bias.on(t), Prec{});
        } else {
            return ops::linear(token<0>(features), head_weight.on(t), head_bias.on(t), Prec{});
        }
    }
    var<T, shape<1, N, D>, B> pos_embed_var(tape<B>& t) {
        if constexpr (Cfg.pos == pos_embed_kind::learned)
            return pos_embed.on(t);
        else
            return input(t, pos_embed.value);
    }
    std::size_t blocks_run_ = 0;
};

}  // namespace tinymim::nn
