// tinymim pretrain on the CPU: the command's body instantiated for the host backend (tool::run in commands.hpp
// chooses the backend).
#include "pretrain_impl.hpp"

namespace tool {

template pretrain_args::result run_on<tinymim::backends::cpu, tinymim::fp32>(const common_options&,
                                                                             const pretrain_args&);

}  // namespace tool
