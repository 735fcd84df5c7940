// data::shard: the part of every global batch that one process of a data-parallel run trains on. Rank r of
// N takes the r-th of N equal, consecutive slices of each global batch (the batch a one-process run would
// take), so the N ranks together see exactly that batch, in its order, and random draws keyed by the
// position in the global batch come out as in one process.
#pragma once

#include <cstddef>

#include "tinymim/core/error.hpp"

namespace tinymim::data {

struct shard {
    std::size_t rank = 0, ranks = 1;

    // Refuses a rank outside the group and a global batch that does not divide over the ranks.
    void check(std::size_t global_batch) const {
        TINYMIM_CHECK(ranks > 0 && rank < ranks, "shard: rank ", rank, " is outside a group of ", ranks);
        TINYMIM_CHECK(global_batch % ranks == 0, "shard: a global batch of ", global_batch, " does not divide over ",
                      ranks, " ranks (", global_batch % ranks, " left over): choose a batch that is a multiple of ",
                      ranks);
    }
    // This rank's samples of a global batch, and the position of its first one there.
    [[nodiscard]] std::size_t local(std::size_t global_batch) const noexcept { return global_batch / ranks; }
    [[nodiscard]] std::size_t offset(std::size_t global_batch) const noexcept { return rank * local(global_batch); }
};

}  // namespace tinymim::data
