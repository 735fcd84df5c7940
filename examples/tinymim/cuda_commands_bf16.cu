// The tool's commands on the CUDA backend in bf16_mixed (cuBLAS bf16 GEMMs with fp32 compute): their own TU
// beside cuda_commands.cu, so that the two precisions compile in parallel. Built only with the CUDA backend.
#include "distill_impl.hpp"
#include "finetune_impl.hpp"
#include "harness/end_to_end.hpp"
#include "pretrain_impl.hpp"

namespace tool {

using tinymim::bf16_mixed;
using tinymim::backends::cuda;
template pretrain_args::result run_on<cuda, bf16_mixed>(const common_options&, const pretrain_args&);
template distill_args::result run_on<cuda, bf16_mixed>(const common_options&, const distill_args&);
template finetune_args::result run_on<cuda, bf16_mixed>(const common_options&, const finetune_args&);
template eval_args::result run_on<cuda, bf16_mixed>(const common_options&, const eval_args&);
template embed_args::result run_on<cuda, bf16_mixed>(const common_options&, const embed_args&);
template bench_args::result run_on<cuda, bf16_mixed>(const common_options&, const bench_args&);

}  // namespace tool
