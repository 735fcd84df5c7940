// The MPI world of the test_dist_mpi executable: one communicator for all its test files.
#pragma once

#include "tinymim/dist/mpi.hpp"

namespace tt {
inline tinymim::dist::mpi& world() {
    static tinymim::dist::mpi comm;
    return comm;
}
}  // namespace tt
