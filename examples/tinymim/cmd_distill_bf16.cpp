// tinymim distill on the CPU in bf16_mixed: its own TU, so that the two precisions compile in
// parallel (tool::run in commands.hpp chooses backend and precision).
#include "distill_impl.hpp"

namespace tool {

template distill_args::result run_on<tinymim::backends::cpu, tinymim::bf16_mixed>(const common_options&,
                                                                                  const distill_args&);

}  // namespace tool
