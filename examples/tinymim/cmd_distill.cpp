// tinymim distill on the CPU: the command's body instantiated for the host backend (tool::run in commands.hpp
// chooses the backend).
#include "distill_impl.hpp"

namespace tool {

template distill_args::result run_on<tinymim::backends::cpu, tinymim::fp32>(const common_options&, const distill_args&);

}  // namespace tool
