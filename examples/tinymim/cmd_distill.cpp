// tinymim distill on the CPU, and the --device dispatch.
#include "distill_impl.hpp"

namespace tool {

tinymim::train::loop_result run_distill(const common_options& c, const distill_args& a) {
    apply_common(c);
#if defined(TINYMIM_TOOL_CUDA)
    if (c.device == "cuda") return run_distill_cuda(c, a);
#endif
    return run_distill_on<tinymim::cpu>(c, a);
}

}  // namespace tool
