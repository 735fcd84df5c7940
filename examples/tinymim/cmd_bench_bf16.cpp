// tinymim bench on the CPU in bf16_mixed: its own TU, so that the two precisions compile in
// parallel (tool::run in commands.hpp chooses backend and precision).
#include "harness/end_to_end.hpp"

namespace tool {

template bench_args::result run_on<tinymim::backends::cpu, tinymim::bf16_mixed>(const common_options&,
                                                                                const bench_args&);

}  // namespace tool
