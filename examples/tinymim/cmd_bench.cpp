// tinymim bench on the CPU (the harness: benchmarks/harness/end_to_end.hpp).
#include "harness/end_to_end.hpp"

namespace tool {

const char* cpu_gemm_library() { return tinymim::backends::cpu_gemm_library; }

template bench_args::result run_on<tinymim::backends::cpu>(const common_options&, const bench_args&);

}  // namespace tool
