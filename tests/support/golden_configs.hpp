// The model configurations of the PyTorch-made golden fixtures (tests/reference/make_model_fixtures.py and
// make_distill_fixtures.py), shared by every test that loads them.
#pragma once

#include "tinymim/nn/vit_config.hpp"

namespace tt {

// vit_fm.safetensors: 28 x 28 x 1, patch 4, width 48, 2 blocks, 3 heads, CLS head, fixed sin-cos positions.
inline constexpr tinymim::nn::vit_config vit_fm_cfg{.image = 28,
                                                    .patch = 4,
                                                    .channels = 1,
                                                    .dim = 48,
                                                    .depth = 2,
                                                    .heads = 3,
                                                    .classes = 10,
                                                    .head = tinymim::nn::pool::cls,
                                                    .pos = tinymim::nn::pos_embed_kind::sincos};
// distill.safetensors: the teacher (width 48, 3 blocks, 6 heads) and the student (width 24, 2 blocks, 3 heads).
inline constexpr tinymim::nn::vit_config distill_teacher_cfg{
    .image = 28, .patch = 4, .channels = 1, .dim = 48, .depth = 3, .heads = 6};
inline constexpr tinymim::nn::vit_config distill_student_cfg{
    .image = 28, .patch = 4, .channels = 1, .dim = 24, .depth = 2, .heads = 3};

}  // namespace tt
