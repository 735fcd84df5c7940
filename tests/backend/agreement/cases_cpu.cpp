// The CPU side of the agreement tests (host compiler: Eigen / OpenBLAS kernels).
#include "models_impl.hpp"

namespace tinymim_test {

std::vector<std::string> op_case_names() {
    std::vector<std::string> n;
    for (auto& [name, f] : op_cases<tinymim::cpu>()) n.push_back(name);
    return n;
}
std::vector<std::string> model_case_names() {
    return {"vit_fm_tiny_train_step", "vit_fm_tiny_train_step_bf16", "mae_fm_tiny_loss", "dmae_fm_small_to_tiny_loss",
            "distill_fm_small_to_tiny_two_steps"};
}

template case_result run_op_case<tinymim::backends::cpu>(const std::string&);
template case_result run_model_case<tinymim::backends::cpu>(const std::string&);

}  // namespace tinymim_test
