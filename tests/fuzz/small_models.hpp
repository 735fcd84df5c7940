// The models the weights and checkpoint targets load into, shared with make_seeds.cpp, which writes their
// seed files.
#pragma once

#include "tinymim/nn/mae.hpp"
#include "tinymim/nn/vit.hpp"

namespace fuzz {
inline constexpr tinymim::nn::vit_config encoder_cfg{
    .image = 8, .patch = 4, .channels = 1, .dim = 8, .depth = 2, .heads = 2};
inline constexpr tinymim::nn::vit_config classifier_cfg = encoder_cfg.with_head(tinymim::nn::pool::avg, 3);
inline constexpr tinymim::nn::mae_decoder_config decoder_cfg{.dim = 8, .depth = 1, .heads = 2};
using encoder_t = tinymim::nn::vit<encoder_cfg>;
using classifier_t = tinymim::nn::vit<classifier_cfg>;
using mae_t = tinymim::nn::mae<encoder_cfg, decoder_cfg>;
}  // namespace fuzz
