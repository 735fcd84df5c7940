// The CPU's fused-kernel plans: every threshold that decides whether a fused op takes a CPU kernel, and
// how that kernel cuts its work into cache-sized blocks. The fused ops (include/tinymim/fused/) ask
// plan_<op>(cpu{}, sizes...); an empty optional sends them to their fallback. docs/design/fused-ops.md
// gives each constant's measurement.
#pragma once

#include <algorithm>
#include <cstddef>
#include <optional>

#include "tinymim/backend/cpu/blas/gemm.hpp"           // gemm_threads
#include "tinymim/backend/cpu/blas/packed_weight.hpp"  // cpu_packs_weights
#include "tinymim/backend/cpu/cpu.hpp"

#if defined(__linux__)
#include <unistd.h>
#endif

namespace tinymim::backends {

namespace cpu_plan {
// layer_norm_linear: the bias rides a column of ones up to this input width; above, the rows are no longer
// 64-byte multiples and the wider product lost to a bias fill.
inline constexpr std::size_t bias_column_max_width = 256;
// Row-blocked residual branches: the weight must fit in this fraction (1 / n) of the L2 beside the block.
inline constexpr std::size_t branch_l2_share = 2;
// Row-blocked residual branches: most rows a block takes (larger blocks stop fitting act(x) and y).
inline constexpr std::size_t branch_max_rows = 512;
// Row-blocked residual branches: fewest rows a block must hold for the one-thread GEMM to pay.
inline constexpr std::size_t branch_min_rows = 32;
// Row multiple of a branch block (keeps the GEMM's row panels whole).
inline constexpr std::size_t branch_row_multiple = 16;
// MLP and attention halves: rows a block aims at (256 beat 128 on the fm models' MLPs).
inline constexpr std::size_t half_target_rows = 256;
// MLP half: fewest rows of a block (two blocks per thread of at least this many, or no blocks).
inline constexpr std::size_t mlp_min_rows = 64;
// Every blocked kernel: blocks per thread at the least, so that the threads balance.
inline constexpr std::size_t min_blocks_per_thread = 2;
// The L2 size assumed where the C library cannot tell it.
inline constexpr std::size_t default_l2_bytes = std::size_t(1) << 20;
}  // namespace cpu_plan

namespace cpu_detail {
// The L2 cache of one core in bytes (sysconf where the C library knows it).
inline std::size_t l2_bytes() {
    static const std::size_t bytes = [] {
        long v = 0;
#if defined(__linux__) && defined(_SC_LEVEL2_CACHE_SIZE)
        v = sysconf(_SC_LEVEL2_CACHE_SIZE);
#endif
        return v > 0 ? std::size_t(v) : cpu_plan::default_l2_bytes;
    }();
    return bytes;
}

// How a blocked kernel cuts its rows (or samples): `blocks` blocks of `block`, the same number for each of
// `threads` threads; blocks == 0 where blocks do not pay.
struct branch_plan {
    std::size_t threads = 1, blocks = 0, block = 0;
};

// Cuts `total` units (rows or samples) into the same number of blocks for each thread, blocks of about
// `target` units, at least `min_per_thread` of them per thread.
inline void cut_evenly(branch_plan& p, std::size_t total, std::size_t target, std::size_t min_per_thread = 1) {
    const std::size_t per_thread = std::max(min_per_thread, (total + p.threads * target - 1) / (p.threads * target));
    p.blocks = p.threads * per_thread;
    p.block = (total + p.blocks - 1) / p.blocks;
}

// A residual branch of `rows` rows, in -> out: blocks where the weight fits in its share of the L2 and there
// are rows for two blocks per thread.
inline branch_plan plan_branch(std::size_t rows, std::size_t in, std::size_t out, std::size_t elem) {
    using namespace cpu_plan;
    branch_plan p;
    p.threads = std::size_t(gemm_threads());
    if (rows == 0 || in == 0 || out == 0) return p;
    const std::size_t share = l2_bytes() / branch_l2_share;
    const std::size_t target =
        std::min<std::size_t>(branch_max_rows, share / ((in + out) * elem) / branch_row_multiple * branch_row_multiple);
    if (in * out * elem > share || target < branch_min_rows || rows < min_blocks_per_thread * p.threads * target)
        return p;
    cut_evenly(p, rows, target);
    return p;
}

// An MLP half of `rows` rows: blocks where there are two of mlp_min_rows per thread and — unless the weights
// are packed and streamed from the L3 (`streamed`) — both weights fit in the L2.
inline branch_plan plan_mlp(std::size_t rows, std::size_t dim, std::size_t hidden, std::size_t elem,
                            bool streamed = false) {
    using namespace cpu_plan;
    branch_plan p;
    p.threads = std::size_t(gemm_threads());
    const std::size_t weights = (hidden * (dim + 1) + dim * hidden) * elem;
    if (rows == 0 || dim == 0 || hidden == 0 || (!streamed && weights > l2_bytes()) ||
        rows < min_blocks_per_thread * p.threads * mlp_min_rows)
        return p;
    cut_evenly(p, rows, half_target_rows, min_blocks_per_thread);
    return p;
}

// An attention half over `batch` samples of n tokens: blocks of whole samples (attention mixes a sample's
// tokens) where one block's buffers — and, unless streamed, the weights — fit in the L2, two per thread.
inline branch_plan plan_attention_half(std::size_t batch, std::size_t n, std::size_t dim, std::size_t elem,
                                       bool streamed = false) {
    using namespace cpu_plan;
    branch_plan p;
    p.threads = std::size_t(gemm_threads());
    if (batch == 0 || n == 0 || dim == 0) return p;
    const std::size_t samples = std::max<std::size_t>(1, half_target_rows / n), rows = samples * n;
    const std::size_t weights = streamed ? 0 : (3 * dim * (dim + 1) + dim * dim) * elem;
    const std::size_t buffers = (rows * (dim + 1) + rows * 3 * dim + rows * dim + n * n) * elem;
    if (weights + buffers > l2_bytes() || batch < min_blocks_per_thread * p.threads * samples) return p;
    cut_evenly(p, batch, samples);
    return p;
}
}  // namespace cpu_detail

// What the fused ops ask. Each returns the plan of the CPU kernel that takes the op at these sizes, or
// nothing (the op then runs its fallback).

// layer_norm_linear: the CPU's node (normalised rows written ld apart, the bias as a column of ones where
// `bias_column`).
struct layer_norm_linear_plan {
    bool bias_column = false;
};
[[nodiscard]] inline std::optional<layer_norm_linear_plan> plan_layer_norm_linear(cpu, std::size_t in,
                                                                                  std::size_t /*out*/) {
    return layer_norm_linear_plan{in <= cpu_plan::bias_column_max_width};
}

// A residual branch (residual_linear, residual_gelu_linear) in row blocks.
struct residual_branch_plan {
    cpu_detail::branch_plan blocks;
};
[[nodiscard]] inline std::optional<residual_branch_plan> plan_residual_branch(cpu, std::size_t rows, std::size_t in,
                                                                              std::size_t out, std::size_t elem_size) {
    const auto p = cpu_detail::plan_branch(rows, in, out, elem_size);
    if (p.blocks == 0) return std::nullopt;
    return residual_branch_plan{p};
}

// A frozen block's half (mlp_residual, attention_residual): weights packed and streamed from the L3 where
// the BLAS packs (oneMKL), else blocks with the weights in the L2.
struct block_half_plan {
    bool streamed = false;
};
[[nodiscard]] inline std::optional<block_half_plan> plan_mlp_residual(cpu, std::size_t rows, std::size_t dim,
                                                                      std::size_t hidden, std::size_t elem_size) {
    if (cpu_packs_weights && cpu_detail::plan_mlp(rows, dim, hidden, elem_size, true).blocks != 0)
        return block_half_plan{true};
    // The blocked kernel multiplies [LN(x) | 1] by [W1 | b1]: layer_norm_linear's bound applies.
    if (dim <= cpu_plan::bias_column_max_width && cpu_detail::plan_mlp(rows, dim, hidden, elem_size).blocks != 0)
        return block_half_plan{false};
    return std::nullopt;
}
[[nodiscard]] inline std::optional<block_half_plan> plan_attention_residual(cpu, std::size_t batch, std::size_t n,
                                                                            std::size_t dim, std::size_t elem_size) {
    if (cpu_packs_weights && cpu_detail::plan_attention_half(batch, n, dim, elem_size, true).blocks != 0)
        return block_half_plan{true};
    if (cpu_detail::plan_attention_half(batch, n, dim, elem_size).blocks != 0) return block_half_plan{false};
    return std::nullopt;
}

// relation_kl with a frozen teacher: every (sample, head) block in cache, whatever the sizes.
struct relation_kl_plan {};
[[nodiscard]] inline std::optional<relation_kl_plan> plan_relation_kl(cpu, std::size_t /*blocks*/, std::size_t /*n*/) {
    return relation_kl_plan{};
}

}  // namespace tinymim::backends
