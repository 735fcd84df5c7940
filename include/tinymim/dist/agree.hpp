// dist::agree: before the first step, every rank checks that the group holds one value of each named
// setting (the task, the global batch, the seed, the data set's size, the model's size...). A difference is
// an error on every rank alike (so none goes on to wait in a collective), naming the settings that differ
// and this rank's values.
#pragma once

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "tinymim/core/error.hpp"
#include "tinymim/dist/communicator.hpp"

namespace tinymim::dist {

// FNV-1a of a string: a setting that is a name (a model, a task) as a value to compare.
[[nodiscard]] inline std::uint64_t setting_hash(const std::string& s) {
    std::uint64_t h = 14695981039346656037ULL;
    for (const unsigned char c : s) h = (h ^ c) * 1099511628211ULL;
    return h;
}

template <communicator C>
void agree(C& comm, const std::vector<std::pair<std::string, std::uint64_t>>& settings) {
    // Each value in 8-bit pieces x, summed with x² over the ranks (exact in double up to 10^5 ranks): the ranks
    // hold one value iff n·Σx² = (Σx)² for every piece (Cauchy–Schwarz), a verdict every rank reaches alike.
    std::vector<double> sums;
    for (const auto& s : settings)
        for (int b = 0; b < 64; b += 8) {
            const double x = double((s.second >> b) & 0xFF);
            sums.push_back(x);
            sums.push_back(x * x);
        }
    comm.allreduce(sums.data(), sums.size(), reduce_op::sum);
    const double n = double(comm.size());
    std::string differ;
    for (std::size_t i = 0; i < settings.size(); ++i) {
        bool same = true;
        for (std::size_t p = 0; p < 8; ++p) {
            const double sum = sums[(i * 8 + p) * 2], sq = sums[(i * 8 + p) * 2 + 1];
            same = same && n * sq == sum * sum;
        }
        if (!same)
            differ += (differ.empty() ? "" : ", ") + settings[i].first + " (rank " + std::to_string(comm.rank()) +
                      " has " + std::to_string(settings[i].second) + ")";
    }
    TINYMIM_CHECK(differ.empty(), "data-parallel run: the ", comm.size(), " ranks differ in ", differ,
                  "; every rank must run the same command");
}

}  // namespace tinymim::dist
