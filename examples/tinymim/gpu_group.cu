// Under mpirun with --device cuda: one GPU per rank and the group's NCCL communicator (dist/nccl.cuh), its
// unique id broadcast over the MPI group. Built with the CUDA backend; without NCCL it refuses with a sentence.
#include "commands.hpp"

#include <cstdio>
#include <memory>

#include <tinymim/backend/cuda/cuda.cuh>
#if defined(TINYMIM_TOOL_NCCL)
#include <tinymim/dist/nccl.cuh>
#endif

namespace tool {

std::shared_ptr<void> join_gpu_group(common_options& c, int local_rank) {
    TINYMIM_CHECK(c.comm, "join_gpu_group: no MPI group to join");
#if defined(TINYMIM_TOOL_NCCL)
    int devices = 0;
    TINYMIM_CHECK(cudaGetDeviceCount(&devices) == cudaSuccess && devices > 0, "--device cuda: rank ", c.comm->rank(),
                  " sees no CUDA device (no GPU, no driver, or "
                  "CUDA_VISIBLE_DEVICES hides it)");
    // Ranks beyond the machine's GPUs would share one, which NCCL refuses: say so before it does.
    TINYMIM_CHECK(local_rank < devices, "--device cuda: rank ", c.comm->rank(), " is rank ", local_rank,
                  " on its machine, which has ", devices, " GPU", devices == 1 ? "" : "s",
                  " visible: run at most one rank per GPU (mpirun -np N with N GPUs per machine)");
    auto group = std::make_shared<tinymim::dist::nccl>(*c.comm, local_rank);  // sets this rank's device
    c.device_comm.emplace(*group);
    return group;
#else
    (void)local_rank;
    throw tinymim::error(
        "--device cuda under mpirun: this build of tinymim has no NCCL (the CUDA toolkit it was configured with "
        "lacks nccl.h or libnccl), so GPU ranks cannot average gradients; rebuild with NCCL, or run one rank");
#endif
}

}  // namespace tool
