// tinymim bench on the CPU, and the --device dispatch.
#include "bench_impl.hpp"

namespace tool {

const char* cpu_gemm_library() { return tinymim::backends::cpu_gemm_library; }

void run_bench(const common_options& c, const bench_args& a) {
    apply_common(c);
#if defined(TINYMIM_TOOL_CUDA)
    if (c.device == "cuda") return run_bench_cuda(c, a);
#endif
    run_bench_on<tinymim::cpu>(c, a);
}

}  // namespace tool
