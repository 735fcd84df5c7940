// dist::nccl: the communicator of a data-parallel run on GPUs, one device per rank (NCCL, which ships with
// the CUDA toolkit). Its buffers are device memory; every collective is queued on the CUDA backend's stream of
// the calling thread, in order with the kernels around it. Rank 0 makes NCCL's unique id and a bootstrap
// communicator (dist::mpi) gives it to the others; a group of one needs none. Every NCCL and CUDA call is
// checked: a failure is a tinymim::error naming the call, this rank and NCCL's message. NCCL refuses two
// ranks on one device. Needs nvcc and the CMake component `nccl` (target TinyMIM::nccl).
#pragma once

#include <nccl.h>

#include <cstddef>
#include <string>

#include "tinymim/backend/cuda/cuda.cuh"
#include "tinymim/core/bf16.hpp"
#include "tinymim/core/error.hpp"
#include "tinymim/dist/communicator.hpp"

namespace tinymim::dist {

class nccl {
public:
    // A group of one on the current device (no bootstrap).
    nccl() : nccl_rank_(0), nccl_size_(1) {
        ncclUniqueId id;
        check(ncclGetUniqueId(&id), "ncclGetUniqueId");
        init(id);
    }
    // One rank of the bootstrap's group, on `device` (by default the rank's place on its node, which the
    // caller knows: mpirun's OMPI_COMM_WORLD_LOCAL_RANK).
    template <communicator Boot>
    nccl(Boot& bootstrap, int device) : nccl_rank_(bootstrap.rank()), nccl_size_(bootstrap.size()) {
        TINYMIM_CUDA_CHECK(cudaSetDevice(device));
        ncclUniqueId id{};
        if (nccl_rank_ == 0) check(ncclGetUniqueId(&id), "ncclGetUniqueId");
        bootstrap.broadcast(&id, sizeof id, 0);
        init(id);
    }
    ~nccl() {
        if (comm_ != nullptr) ncclCommDestroy(comm_);
    }
    nccl(const nccl&) = delete;
    nccl& operator=(const nccl&) = delete;

    [[nodiscard]] int rank() const noexcept { return nccl_rank_; }
    [[nodiscard]] int size() const noexcept { return nccl_size_; }
    static constexpr bool device_memory = true;  // the buffers it takes live on the GPU

    void allreduce(float* x, std::size_t n, reduce_op op) { reduce(x, n, op, ncclFloat32); }
    void allreduce(double* x, std::size_t n, reduce_op op) { reduce(x, n, op, ncclFloat64); }
    void allreduce(bf16* x, std::size_t n, reduce_op op) { reduce(x, n, op, ncclBfloat16); }
    // Every NCCL collective is already queued on the stream, in order with the kernels around it.
    void start_allreduce(float* x, std::size_t n, reduce_op op) { reduce(x, n, op, ncclFloat32); }
    void start_allreduce(double* x, std::size_t n, reduce_op op) { reduce(x, n, op, ncclFloat64); }
    void progress() {}
    void wait_all() {}
    void broadcast(void* bytes, std::size_t n, int root) {
        TINYMIM_CHECK(root >= 0 && root < nccl_size_, "dist::nccl: broadcast from rank ", root, " in a group of ",
                      nccl_size_, " (on rank ", nccl_rank_, ")");
        check(ncclBroadcast(bytes, bytes, n, ncclUint8, root, comm_, cuda::stream()), "ncclBroadcast");
    }
    // Every rank's queued work, and the collectives before it, done.
    void barrier() {
        float* one = static_cast<float*>(cuda::allocate(sizeof(float)));
        TINYMIM_CUDA_CHECK(cudaMemsetAsync(one, 0, sizeof(float), cuda::stream()));
        check(ncclAllReduce(one, one, 1, ncclFloat32, ncclSum, comm_, cuda::stream()), "ncclAllReduce");
        cuda::synchronize();
        cuda::deallocate(one, sizeof(float));
    }

private:
    void init(const ncclUniqueId& id) {
        check(ncclCommInitRank(&comm_, nccl_size_, id, nccl_rank_), "ncclCommInitRank");
    }
    void reduce(void* x, std::size_t n, reduce_op op, ncclDataType_t type) {
        check(ncclAllReduce(x, x, n, type, op == reduce_op::average ? ncclAvg : ncclSum, comm_, cuda::stream()),
              "ncclAllReduce");
    }
    void check(ncclResult_t rc, const char* call) const {
        if (rc == ncclSuccess) return;
        throw error(detail::concat("dist::nccl: ", call, " failed on rank ", nccl_rank_, " of ", nccl_size_, ": ",
                                   ncclGetErrorString(rc)));
    }

    ncclComm_t comm_ = nullptr;
    int nccl_rank_, nccl_size_;
};
static_assert(overlapping_communicator<nccl>);

}  // namespace tinymim::dist
