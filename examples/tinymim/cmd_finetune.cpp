// tinymim finetune / eval / embed on the CPU, and the --device dispatch.
#include "finetune_impl.hpp"

namespace tool {

tinymim::train::eval_result run_finetune(const common_options& c, const finetune_args& a) {
    apply_common(c);
#if defined(TINYMIM_TOOL_CUDA)
    if (c.device == "cuda") return run_finetune_cuda(c, a);
#endif
    return run_finetune_on<tinymim::cpu>(c, a);
}

tinymim::train::eval_result run_eval(const common_options& c, const eval_args& a) {
    apply_common(c);
#if defined(TINYMIM_TOOL_CUDA)
    if (c.device == "cuda") return run_eval_cuda(c, a);
#endif
    return run_eval_on<tinymim::cpu>(c, a);
}

void run_embed(const common_options& c, const embed_args& a) {
    apply_common(c);
#if defined(TINYMIM_TOOL_CUDA)
    if (c.device == "cuda") return run_embed_cuda(c, a);
#endif
    run_embed_on<tinymim::cpu>(c, a);
}

}  // namespace tool
