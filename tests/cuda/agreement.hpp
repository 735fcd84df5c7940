// CPU-vs-CUDA agreement tests: each case builds its inputs on the host from a seeded generator, runs
// on backend B (forward, then backward with a seeded projection) and returns everything as host
// doubles. The CPU instantiation is compiled by the host compiler (cases_cpu.cpp), the CUDA one by
// nvcc (cases_cuda.cu), so Eigen never meets nvcc; the Boost.Test file compares the two.
#pragma once

#include <string>
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
