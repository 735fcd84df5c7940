// tinymim pretrain on the CPU in bf16_mixed: its own TU, so that the two precisions compile in
// parallel (tool::run in commands.hpp chooses backend and precision).
#include "pretrain_impl.hpp"

namespace tool {

template pretrain_args::result run_on<tinymim::backends::cpu, tinymim::bf16_mixed>(const common_options&,
                                                                                   const pretrain_args&);

}  // namespace tool
