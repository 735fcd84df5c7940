// The NCCL communicator's cases (nccl_cases.cu, compiled by nvcc) as plain functions for the Boost.Test file
// (nccl_test.cpp, compiled by the host compiler).
#pragma once

#include <string>
#include <vector>

namespace nccl_cases {

[[nodiscard]] bool device_present();

struct collectives {
    int rank = -1, size = 0;
    std::vector<float> sum, average;
    std::vector<double> sum_double;
    std::vector<float> bf16_sum;  // bf16 values, widened
    std::vector<unsigned char> broadcast;
};
// A group of one: allreduce (float, double, bf16) and broadcast over device buffers, then a barrier.
[[nodiscard]] collectives one_rank_collectives();

struct distillation {
    std::vector<double> losses, one_losses;    // per step: through dist::nccl, and without it
    std::vector<double> weights, one_weights;  // the student's after the steps
};
// Five distillation steps on the GPU made data-parallel over a one-rank dist::nccl, and the same steps
// without it.
[[nodiscard]] distillation one_rank_distillation();

struct recipe {
    double loss = 0, one_loss = 0;             // the last step's: through dist::nccl, and without a group
    std::vector<double> weights, one_weights;  // the model's after the run
};
// The recipe functions on the GPU (train::distill, train::finetune) with task_options::comm (dist::single) and
// task_options::device_comm (a one-rank dist::nccl), and the same runs without them.
[[nodiscard]] recipe one_rank_recipe_distillation();
[[nodiscard]] recipe one_rank_recipe_finetuning();

}  // namespace nccl_cases
