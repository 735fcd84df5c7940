// vit_config: a Vision Transformer's architecture as a structural value (usable as a template argument).
#pragma once

#include <cstddef>

namespace tinymim::nn {

// What follows the blocks. none: pre-training (final `norm`, no head); avg: global average pool over
// patch tokens -> fc_norm -> head (MAE fine-tuning); cls: final `norm` -> CLS token -> head (timm default).
enum class pool { none, avg, cls };

enum class pos_embed_kind { sincos, learned };

struct vit_config {
    std::size_t image = 224;
    std::size_t patch = 16;
    std::size_t channels = 3;
    std::size_t dim = 192;
    std::size_t depth = 12;
    std::size_t heads = 3;
    std::size_t mlp_ratio = 4;
    std::size_t classes = 0;  // 0: no classification head
    pool head = pool::none;
    pos_embed_kind pos = pos_embed_kind::sincos;
    bool class_token = true;
    bool distill_token = false;  // DeiT: a second prefix token after CLS, read by its own head (head_dist)

    [[nodiscard]] constexpr std::size_t grid() const { return image / patch; }
    [[nodiscard]] constexpr std::size_t patches() const { return grid() * grid(); }
    [[nodiscard]] constexpr std::size_t prefix_tokens() const {
        return (class_token ? 1 : 0) + (distill_token ? 1 : 0);
    }
    [[nodiscard]] constexpr std::size_t tokens() const { return patches() + prefix_tokens(); }
    [[nodiscard]] constexpr std::size_t patch_dim() const { return channels * patch * patch; }
    [[nodiscard]] constexpr std::size_t hidden() const { return dim * mlp_ratio; }
    [[nodiscard]] constexpr std::size_t head_dim() const { return dim / heads; }
    // The same architecture with another head.
    [[nodiscard]] constexpr vit_config with_head(pool p, std::size_t n_classes) const {
        vit_config c = *this;
        c.head = p;
        c.classes = n_classes;
        return c;
    }
    // The same architecture with a distillation token and its head (DeiT).
    [[nodiscard]] constexpr vit_config with_distill_token() const {
        vit_config c = *this;
        c.distill_token = true;
        return c;
    }
    // Multiply-adds of one forward pass per image (GEMMs and attention products), for GFLOP/s reports.
    [[nodiscard]] constexpr double forward_flops() const {
        const double n = double(tokens()), d = double(dim);
        const double per_block =
            2 * n * d * 3 * d + 2 * 2 * n * n * d + 2 * n * d * d + 2 * 2 * n * d * double(hidden());
        return double(depth) * per_block + 2 * double(patches()) * double(patch_dim()) * d +
               (classes ? 2 * d * double(classes) * (distill_token ? 2 : 1) : 0);
    }

    friend constexpr bool operator==(const vit_config&, const vit_config&) = default;
};

// The paper's / timm's standard sizes (224 x 224 x 3, patch 16) ...
inline constexpr vit_config vit_tiny{.dim = 192, .depth = 12, .heads = 3};
inline constexpr vit_config vit_small{.dim = 384, .depth = 12, .heads = 6};
inline constexpr vit_config vit_base{.dim = 768, .depth = 12, .heads = 12};
inline constexpr vit_config vit_large{.dim = 1024, .depth = 24, .heads = 16};
// ... and the Fashion-MNIST family (28 x 28 x 1, patch 4: 49 patches + CLS).
inline constexpr vit_config fm_tiny{.image = 28, .patch = 4, .channels = 1, .dim = 96, .depth = 6, .heads = 3};
inline constexpr vit_config fm_small{.image = 28, .patch = 4, .channels = 1, .dim = 192, .depth = 6, .heads = 6};
inline constexpr vit_config fm_base{.image = 28, .patch = 4, .channels = 1, .dim = 384, .depth = 8, .heads = 12};

}  // namespace tinymim::nn
