// dist::communicator: what data-parallel training needs of a group of processes — its rank and size, an
// in-place allreduce (sum or average) over float, double and bf16 buffers, a broadcast from a root, and a
// barrier; overlapping_communicator adds allreduces that run while this process computes. Models: dist::single (one
// process, no dependency; dist/single.hpp) and dist::mpi (OpenMPI, dist/mpi.hpp, CMake component `mpi`). Every failure
// is a tinymim::error naming the call and the rank.
#pragma once

#include <concepts>
#include <cstddef>

#include "tinymim/core/bf16.hpp"

namespace tinymim::dist {

enum class reduce_op { sum, average };

template <class C>
concept communicator = requires(C& c, const C& cc, float* f, double* d, bf16* h, void* bytes, std::size_t n,
                                reduce_op op, int root) {
    { cc.rank() } -> std::convertible_to<int>;
    { cc.size() } -> std::convertible_to<int>;
    c.allreduce(f, n, op);  // in place: every rank ends with the sum (or mean) of every rank's values
    c.allreduce(d, n, op);
    c.allreduce(h, n, op);        // summed in float, rounded to bf16 once
    c.broadcast(bytes, n, root);  // n bytes from root's buffer into every rank's
    c.barrier();
};

// A communicator that can also start an allreduce and finish it later, so that the allreduce runs while this
// process computes: start_allreduce queues one in place (the buffer must not be touched until wait_all),
// progress() lets queued ones advance (MPI moves a non-blocking collective only inside its calls), and
// wait_all() returns when every queued one is done. Every rank must start the same allreduces in the same order.
template <class C>
concept overlapping_communicator = communicator<C> && requires(C& c, float* f, double* d, std::size_t n, reduce_op op) {
    c.start_allreduce(f, n, op);
    c.start_allreduce(d, n, op);
    c.progress();
    c.wait_all();
};

// A communicator whose buffers live on the device (dist::nccl), not in host memory (dist::mpi).
template <class C>
inline constexpr bool device_communicator = requires {
    requires C::device_memory;
};

// Whether this process writes files and reports for the group (rank 0).
template <communicator C>
[[nodiscard]] bool leads(const C& c) {
    return c.rank() == 0;
}

}  // namespace tinymim::dist
