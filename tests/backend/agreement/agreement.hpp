// CPU-vs-CUDA agreement tests: each case builds its inputs on the host from a seeded generator, runs
// on backend B (forward, then backward with a seeded projection) and returns everything as host
// doubles. The CPU instantiation is compiled by the host compiler (cases_cpu.cpp), the CUDA one by
// nvcc (cases_cuda.cu), so Eigen never meets nvcc; the Boost.Test file compares the two.
#pragma once

#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace tinymim::backends {
struct cpu;
struct cuda;
}  // namespace tinymim::backends

namespace tinymim_test {

struct case_result {
    std::vector<std::string> names;           // "value", then one name per gradient or weight
    std::vector<std::vector<double>> arrays;  // same order as names
};

// The op cases (float): every op of the CPU backend, forward and backward.
std::vector<std::string> op_case_names();
template <class B>
case_result run_op_case(const std::string& name);

// Whole-model cases (float): ViT forward + backward, MAE loss + backward, two distillation steps,
// AdamW steps.
std::vector<std::string> model_case_names();
template <class B>
case_result run_model_case(const std::string& name);

// The key bias of an attention layer is invisible to its output: softmax_j(q_i . (k_j + b)) adds
// q_i . b to every score of row i, which the softmax removes. Its gradient is zero up to rounding, and
// AdamW scales that noise up to updates of about lr of either sign, so after a few steps these weights
// are noise bounded by steps * lr on each backend, not values two backends agree on. The model cases
// report the key third of each qkv bias's weights under this prefix, to be bounded, not compared.
inline constexpr std::string_view key_bias_prefix = "key-bias ";
// The distillation case: two AdamW steps at this learning rate, from zero biases.
inline constexpr int distill_case_steps = 2;
inline constexpr double distill_case_lr = 1e-3;
// Each AdamW update of a noise gradient is at most about lr (|m_hat| <= ~sqrt(v_hat) in the first steps).
inline constexpr double key_bias_bound = 1.5 * distill_case_steps * distill_case_lr;

// Implemented in the CUDA TU.
bool cuda_device_present();
std::string cuda_device_description();
// Gradient checks in double on the GPU: (name, "" when it passed or the failure report).
std::vector<std::pair<std::string, std::string>> cuda_gradient_checks();

extern template case_result run_op_case<tinymim::backends::cpu>(const std::string&);
extern template case_result run_op_case<tinymim::backends::cuda>(const std::string&);
extern template case_result run_model_case<tinymim::backends::cpu>(const std::string&);
extern template case_result run_model_case<tinymim::backends::cuda>(const std::string&);

}  // namespace tinymim_test
