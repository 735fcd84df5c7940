// tinymim pretrain on the CPU, and the --device dispatch.
#include "pretrain_impl.hpp"

namespace tool {

tinymim::train::loop_result run_pretrain(const common_options& c, const pretrain_args& a) {
    apply_common(c);
#if defined(TINYMIM_TOOL_CUDA)
    if (c.device == "cuda") return run_pretrain_cuda(c, a);
#endif
    return run_pretrain_on<tinymim::cpu>(c, a);
}

}  // namespace tool
