// tinymim finetune, eval and embed on the CPU: the commands' bodies instantiated for the host backend
// (tool::run in commands.hpp chooses the backend).
#include "finetune_impl.hpp"

namespace tool {

using tinymim::backends::cpu;
template finetune_args::result run_on<cpu, tinymim::fp32>(const common_options&, const finetune_args&);
template eval_args::result run_on<cpu, tinymim::fp32>(const common_options&, const eval_args&);
template embed_args::result run_on<cpu, tinymim::fp32>(const common_options&, const embed_args&);

}  // namespace tool
