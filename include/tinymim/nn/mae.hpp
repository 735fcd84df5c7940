// nn::mae<encoder cfg, decoder cfg>: MAE pre-training (He et al.) exactly as facebookresearch/mae:
// per-sample random masking, encoder on visible patches, decoder with mask tokens, normalised-pixel loss.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <numeric>
#include <string>
#include <vector>

#include "tinymim/backend/kernels.hpp"
#include "tinymim/nn/vit.hpp"
#include "tinymim/ops/elementwise.hpp"
#include "tinymim/ops/losses.hpp"

namespace tinymim::nn {

struct mae_decoder_config {
    std::size_t dim = 512;
    std::size_t depth = 8;
    std::size_t heads = 16;
    std::size_t mlp_ratio = 4;
    friend constexpr bool operator==(const mae_decoder_config&, const mae_decoder_config&) = default;
};

// The decoder MAE uses for ViT-B/L, and a small one for the Fashion-MNIST family.
inline constexpr mae_decoder_config mae_decoder_large{.dim = 512, .depth = 8, .heads = 16};
inline constexpr mae_decoder_config mae_decoder_fm{.dim = 128, .depth = 2, .heads = 4};

// A per-sample mask: which patches each sample keeps (ids_keep, in the order the encoder sees them),
// how to restore the original order (ids_restore), and mask = 1 for removed patches.
template <backend B = cpu, element T = float>
struct mae_mask {
    tensor<std::int32_t, shape<dyn, dyn>, B> ids_keep;     // [B, K]
    tensor<std::int32_t, shape<dyn, dyn>, B> ids_restore;  // [B, L]
    tensor<T, shape<dyn, dyn>, B> mask;                    // [B, L]
    std::size_t batch = 0, patches = 0, keep = 0;

    // MAE's random_masking from given noise [B, L] (row-major): keep the floor(L (1 - ratio)) patches
    // with the smallest noise (ascending argsort, ties by index).
    static mae_mask from_noise(const std::vector<double>& noise, std::size_t batch, std::size_t patches, double ratio) {
        TINYMIM_CHECK(ratio >= 0 && ratio < 1, "mae: mask ratio ", ratio, " is outside [0, 1)");
        TINYMIM_CHECK(noise.size() == batch * patches, "mae: noise has ", noise.size(), " values, expected ",
                      batch * patches);
        mae_mask m;
        m.batch = batch;
        m.patches = patches;
        m.keep = std::size_t(double(patches) * (1.0 - ratio));
        TINYMIM_CHECK(m.keep >= 1, "mae: mask ratio ", ratio, " keeps no patch of ", patches);
        std::vector<std::int32_t> keep(batch * m.keep), restore(batch * patches);
        std::vector<T> mk(batch * patches);
        std::vector<std::int32_t> order(patches);
        for (std::size_t b = 0; b < batch; ++b) {
            std::iota(order.begin(), order.end(), 0);
            const double* nb = noise.data() + b * patches;
            std::stable_sort(order.begin(), order.end(), [&](std::int32_t x, std::int32_t y) { return nb[x] < nb[y]; });
            for (std::size_t i = 0; i < patches; ++i) {
                restore[b * patches + std::size_t(order[i])] = std::int32_t(i);
                mk[b * patches + std::size_t(order[i])] = i < m.keep ? T(0) : T(1);
            }
            for (std::size_t i = 0; i < m.keep; ++i) keep[b * m.keep + i] = order[i];
        }
        m.ids_keep = tensor<std::int32_t, shape<dyn, dyn>, B>({batch, m.keep});
        m.ids_restore = tensor<std::int32_t, shape<dyn, dyn>, B>({batch, patches});
        m.mask = tensor<T, shape<dyn, dyn>, B>({batch, patches});
        m.ids_keep.copy_from(keep);
        m.ids_restore.copy_from(restore);
        m.mask.copy_from(mk);
        return m;
    }
    // Uniform noise from a counter-based generator (value b·L + l for patch l of sample b, b counted from
    // rng.first_sample()).
    static mae_mask random(std::size_t batch, std::size_t patches, double ratio, const counter_rng& rng) {
        std::vector<double> noise(batch * patches);
        const std::uint64_t first = rng.first_sample() * patches;
        for (std::size_t i = 0; i < noise.size(); ++i) noise[i] = rng.uniform(first + i);
        return from_noise(noise, batch, patches, ratio);
    }
};

// Prec: the precision of encoder and decoder products (core/precision.hpp).
template <vit_config Enc, mae_decoder_config Dec, backend B = cpu, element T = float, precision_policy Prec = fp32>
class mae {
    static_assert(Enc.head == pool::none, "mae: the encoder configuration must have no head (pool::none)");
    static_assert(Enc.class_token, "mae: the encoder must have a class token, as MAE's");
    static_assert(!Enc.distill_token,
                  "mae: the encoder cannot have a distillation token (it is added for DeiT "
                  "fine-tuning, after pre-training)");
    static_assert(Dec.heads > 0 && Dec.dim % Dec.heads == 0 && Dec.dim % 4 == 0,
                  "mae: the decoder width must be a multiple of its head count and of 4");

public:
    using encoder_type = vit<Enc, B, T, Prec>;
    using backend_type = B;
    using value_type = T;
    using precision_type = Prec;
    static constexpr std::size_t D = Enc.dim, Dd = Dec.dim, P = Enc.patches(), patch = Enc.patch;
    static constexpr std::size_t pixels = Enc.patch_dim();
    using image_shape = typename encoder_type::image_shape;

    encoder_type encoder;
    linear<D, Dd, B, T, Prec> decoder_embed;
    parameter<shape<1, 1, Dd>, B, T> mask_token;
    tensor<T, shape<1, P + 1, Dd>, B> decoder_pos_embed;  // fixed sin-cos
    std::array<block<Dd, Dd * Dec.mlp_ratio, B, T, Prec>, Dec.depth> decoder_blocks;
    layer_norm<Dd, B, T> decoder_norm;
    linear<Dd, pixels, B, T, Prec> decoder_pred;
    bool norm_pix_loss = true;

    mae() {
        for (auto& b : decoder_blocks) b.heads = Dec.heads;
        init(counter_rng(0));
    }

    void init(const counter_rng& rng) {
        encoder.init(rng.fork(1));
        decoder_embed.init_xavier(rng.fork(2));
        init::normal(mask_token.value, 0.02, rng.fork(3));
        decoder_pos_embed.copy_from(sincos_pos_embed_2d<T>(Dd, Enc.grid(), 1));
        for (std::size_t i = 0; i < Dec.depth; ++i) decoder_blocks[i].init(rng.fork(100 + i));
        decoder_norm.init();
        decoder_pred.init_xavier(rng.fork(4));
    }

    struct output {
        var<T, shape<>, B> loss;
        var<T, shape<dyn, P, pixels>, B> pred;   // per patch, (ky, kx, c) order
        var<T, shape<dyn, dyn, D>, B> features;  // the encoder's last block output, before its norm: [B, 1 + keep, D]
    };

    // One MAE forward: images [B, C, H, W] (normalised), a mask for this batch.
    [[nodiscard]] output forward(tape<B>& t, const var<T, image_shape, B>& images, const mae_mask<B, T>& m,
                                 const vit_run& run = {}) {
        const std::size_t batch = images.extent(0);
        TINYMIM_CHECK(m.batch == batch && m.patches == P, "mae: the mask is for ", m.batch, " x ", m.patches,
                      " patches, the batch is ", batch, " x ", P);
        // Encoder on the visible patches.
        auto x = ops::gather_tokens(encoder.embed(t, images), m.ids_keep);
        auto features = encoder.run_blocks(t, encoder.prepend_cls(t, x), run);
        auto enc = encoder.norm(t, features);
        // Decoder: embed, append mask tokens, unshuffle, position embedding, blocks.
        auto y = decoder_embed(t, enc);
        auto masked = ops::expand_tokens(mask_token.on(t), batch, P - m.keep);
        auto full = ops::gather_tokens(ops::concat_tokens(ops::slice_tokens<1>(y), masked), m.ids_restore);
        auto z = ops::add(
            ops::concat_tokens(ops::slice_tokens<0, 1>(y), full.view_as(extents<shape<dyn, P, Dd>>({batch, P, Dd}))),
            input(t, decoder_pos_embed));
        block_run dec_run;  // MAE's decoder has no drop path
        dec_run.training = run.training;
        for (auto& blk : decoder_blocks) z = blk.forward(t, z, dec_run);
        auto pred = ops::slice_tokens<1>(decoder_pred(t, decoder_norm(t, z)));
        // Loss on the removed patches only.
        auto target = target_patches(t, images);
        auto diff = ops::sub(pred, target);
        auto per_patch = ops::mean<2>(ops::mul(diff, diff));
        auto on_masked = ops::mul(per_patch, input(t, m.mask).view_as(extents<shape<dyn, P>>({batch, P})));
        const double removed = double(batch * (P - m.keep));
        auto loss = ops::scale(ops::sum(on_masked), T(1.0 / std::max(removed, 1.0)));
        return {loss, pred, features};
    }

    // patchify(images) in (ky, kx, c) order, per patch standardised (unbiased variance, eps 1e-6)
    // when norm_pix_loss. No gradient.
    [[nodiscard]] var<T, shape<dyn, P, pixels>, B> target_patches(tape<B>& t, const var<T, image_shape, B>& images) {
        auto raw = ops::patchify<patch, ops::patch_order::channel_last>(images.detach());
        if (!norm_pix_loss) return raw;
        auto out = make_output<T>(t, raw.shape(), false);
        backends::standardize_rows(B{}, raw.size() / pixels, pixels, T(1e-6), raw.data(), out.data());
        return out;
    }

    template <class F>
    void visit(F&& f) {
        encoder.visit(f);
        decoder_embed.visit("decoder_embed", f);
        auto mt = mask_token.ref("mask_token");
        f(mt);
        auto dp = buffer_ref(decoder_pos_embed, "decoder_pos_embed");
        f(dp);
        for (std::size_t i = 0; i < Dec.depth; ++i) decoder_blocks[i].visit("decoder_blocks." + std::to_string(i), f);
        decoder_norm.visit("decoder_norm", f);
        decoder_pred.visit("decoder_pred", f);
    }
};

}  // namespace tinymim::nn
