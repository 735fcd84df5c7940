// Per-parameter optimisation settings: the weight-decay mask and layer-wise lr decay (MAE / BEiT).
#pragma once

#include <cmath>
#include <cstddef>
#include <string>

#include "tinymim/nn/parameter.hpp"

namespace tinymim::optim {

// No weight decay on 1-D parameters (norms, biases), on *.bias, on pos_embed and cls_token.
template <class T>
[[nodiscard]] bool decays(const nn::param_ref<T>& p) {
    const std::string& n = p.name;
    auto ends_with = [&](const std::string& s) {
        return n.size() >= s.size() && n.compare(n.size() - s.size(), s.size(), s) == 0;
    };
    if (p.one_dimensional || p.shape.size() <= 1 || ends_with(".bias")) return false;
    return !(ends_with("pos_embed") || ends_with("cls_token") || ends_with("dist_token"));
}

// MAE's layer id of a ViT parameter: 0 for cls_token / pos_embed / patch_embed, i + 1 for blocks.i,
// depth + 1 for everything after the blocks (fc_norm, head, norm) and anything else.
template <class T>
[[nodiscard]] std::size_t vit_layer_id(const nn::param_ref<T>& p, std::size_t depth) {
    const std::string& n = p.name;
    if (n == "cls_token" || n == "pos_embed" || n.rfind("patch_embed", 0) == 0) return 0;
    if (n.rfind("blocks.", 0) == 0) return std::stoul(n.substr(7, n.find('.', 7) - 7)) + 1;
    return depth + 1;
}

// lr scale = decay^(depth + 1 - layer_id) (1 when decay == 1).
template <class T>
[[nodiscard]] double layer_decay_scale(const nn::param_ref<T>& p, std::size_t depth, double decay) {
    if (decay == 1.0) return 1.0;
    return std::pow(decay, double(depth + 1 - vit_layer_id(p, depth)));
}

}  // namespace tinymim::optim
