// dist::single: the communicator of a run in one process (the default): rank 0 of 1, every collective
// leaves the buffers as they are.
#pragma once

#include <cstddef>

#include "tinymim/core/error.hpp"
#include "tinymim/dist/communicator.hpp"

namespace tinymim::dist {

struct single {
    [[nodiscard]] int rank() const noexcept { return 0; }
    [[nodiscard]] int size() const noexcept { return 1; }
    template <class T>
    void allreduce(T*, std::size_t, reduce_op) {}
    template <class T>
    void start_allreduce(T*, std::size_t, reduce_op) {}
    void progress() {}
    void wait_all() {}
    void broadcast(void*, std::size_t, int root) {
        TINYMIM_CHECK(root == 0, "dist::single: broadcast from rank ", root, " of a group of 1");
    }
    void barrier() {}
};
static_assert(overlapping_communicator<single>);

}  // namespace tinymim::dist
