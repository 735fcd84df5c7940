// tinymim bench on the CPU (the harness: benchmarks/harness/end_to_end.hpp).
#include <fstream>
#include <sstream>

#include "harness/end_to_end.hpp"

namespace tool {

const char* cpu_gemm_library() { return tinymim::backends::cpu_gemm_library; }
const char* cpu_bf16_gemm_path() { return tinymim::backends::cpu_bf16_gemm_path(); }

std::string cpu_bf16_hardware() {
    std::ifstream in("/proc/cpuinfo");
    std::string line;
    while (std::getline(in, line)) {
        if (line.rfind("flags", 0) != 0) continue;
        std::istringstream words(line);
        std::string w, found;
        while (words >> w)
            if (w == "amx_bf16" || w == "avx512_bf16") found += (found.empty() ? "" : " ") + w;
        return found.empty() ? "none" : found;
    }
    return "unknown";
}

template bench_args::result run_on<tinymim::backends::cpu, tinymim::fp32>(const common_options&, const bench_args&);

}  // namespace tool
