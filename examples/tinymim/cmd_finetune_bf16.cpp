// tinymim finetune, eval and embed on the CPU in bf16_mixed: their own TU, so that the two precisions compile in
// parallel (tool::run in commands.hpp chooses backend and precision).
#include "finetune_impl.hpp"

namespace tool {

using tinymim::backends::cpu;
template finetune_args::result run_on<cpu, tinymim::bf16_mixed>(const common_options&, const finetune_args&);
template eval_args::result run_on<cpu, tinymim::bf16_mixed>(const common_options&, const eval_args&);
template embed_args::result run_on<cpu, tinymim::bf16_mixed>(const common_options&, const embed_args&);

}  // namespace tool
