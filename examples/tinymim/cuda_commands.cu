// The tool's commands on the CUDA backend: the same backend-generic bodies as the CPU ones
// (pretrain_impl.hpp, ...), instantiated by nvcc. Built only with the CUDA backend.
#include "distill_impl.hpp"
#include "finetune_impl.hpp"
#include "harness/end_to_end.hpp"
#include "pretrain_impl.hpp"

namespace tool {

void check_cuda_device() {
    TINYMIM_CHECK(
        tinymim::cuda_device_available(),
        "--device cuda: no CUDA device is visible here (no GPU, no driver, or CUDA_VISIBLE_DEVICES hides it); "
        "use --device cpu");
    std::fprintf(stderr, "device: %s\n", tinymim::cuda_device_name().c_str());
}

using tinymim::backends::cuda;
template pretrain_args::result run_on<cuda, tinymim::fp32>(const common_options&, const pretrain_args&);
template distill_args::result run_on<cuda, tinymim::fp32>(const common_options&, const distill_args&);
template finetune_args::result run_on<cuda, tinymim::fp32>(const common_options&, const finetune_args&);
template eval_args::result run_on<cuda, tinymim::fp32>(const common_options&, const eval_args&);
template embed_args::result run_on<cuda, tinymim::fp32>(const common_options&, const embed_args&);
template bench_args::result run_on<cuda, tinymim::fp32>(const common_options&, const bench_args&);

}  // namespace tool
