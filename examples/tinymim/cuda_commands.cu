// The tool's commands on the CUDA backend: the same backend-generic bodies as the CPU ones
// (pretrain_impl.hpp, ...), instantiated by nvcc. Built only with the CUDA backend.
#include "bench_impl.hpp"
#include "distill_impl.hpp"
#include "finetune_impl.hpp"
#include "pretrain_impl.hpp"

namespace tool {

void check_cuda_device() {
    TINYMIM_CHECK(tinymim::cuda_device_available(),
                  "--device cuda: no CUDA device is visible here (no GPU, no driver, or CUDA_VISIBLE_DEVICES hides it); "
                  "use --device cpu");
    std::fprintf(stderr, "device: %s\n", tinymim::cuda_device_name().c_str());
}

tinymim::train::loop_result run_pretrain_cuda(const common_options& c, const pretrain_args& a) {
    return run_pretrain_on<tinymim::backends::cuda>(c, a);
}
tinymim::train::loop_result run_distill_cuda(const common_options& c, const distill_args& a) {
    return run_distill_on<tinymim::backends::cuda>(c, a);
}
tinymim::train::eval_result run_finetune_cuda(const common_options& c, const finetune_args& a) {
    return run_finetune_on<tinymim::backends::cuda>(c, a);
}
tinymim::train::eval_result run_eval_cuda(const common_options& c, const eval_args& a) {
    return run_eval_on<tinymim::backends::cuda>(c, a);
}
void run_embed_cuda(const common_options& c, const embed_args& a) { run_embed_on<tinymim::backends::cuda>(c, a); }
void run_bench_cuda(const common_options& c, const bench_args& a) { run_bench_on<tinymim::backends::cuda>(c, a); }

}  // namespace tool
