// CPU kernel: a pre-norm block's MLP half with nothing to differentiate (a frozen teacher, evaluation),
// y = x + GELU([LN(x) | 1] · [W1 | b1]ᵀ) · W2ᵀ + b2, in blocks of rows that stay in the core's L2 cache.
//
// Run as two ops (layer_norm_linear, then the row-blocked GELU branch), the hidden activations — four
// times the block's width, 39 MB for fm-small at 12 800 tokens — are written to memory by the first GEMM
// and read back by the branch. Here each thread takes blocks of rows, normalises them into a buffer,
// runs both one-thread GEMMs and the GELU on them while they are in cache, and writes only y. The two
// weights must fit in the L2 together (mlp_forward_blocked) — or, with oneMKL, be packed once and streamed
// from the L3 (mlp_forward_streamed). The same arithmetic, so the same values as the two ops; the gain
// is in docs/design/fused-ops.md.
#pragma once

#include <algorithm>
#include <cstddef>

#include "tinymim/backend/cpu/blas/gemm.hpp"
#include "tinymim/backend/cpu/blas/packed_weight.hpp"
#include "tinymim/backend/cpu/cpu.hpp"
#include "tinymim/backend/cpu/fused/branch.hpp"         // l2_bytes, finish_rows
#include "tinymim/backend/cpu/fused/plan.hpp"           // branch_plan, l2_bytes
#include "tinymim/backend/cpu/kernels/elementwise.hpp"  // weight_with_bias
#include "tinymim/backend/cpu/kernels/rows.hpp"         // gelu_values, layer_norm_forward_ld
#include "tinymim/core/error.hpp"

namespace tinymim::backends {

namespace cpu_detail {

// The row blocks of both MLP kernels below. Each thread normalises a block into its buffer (with a
// column of ones after each row when b1 is null: `first` then multiplies [LN(x) | 1] by [W1 | b1]),
// first(m, a, lda, h) writes the hidden values, b1 (when given) and the GELU are applied in place,
// second(m, h, z) writes the branch, and the rows are finished with b2 and the residual.
template <class T, class First, class Second>
void mlp_blocks(const branch_plan& plan, std::size_t rows, std::size_t dim, std::size_t hidden, T eps, const T* x,
                const T* gamma, const T* beta, const First& first, const T* b1, const Second& second, const T* b2,
                T* y) {
    const std::size_t threads = plan.threads, blocks = plan.blocks, block = plan.block;
    const bool ones = b1 == nullptr;
    const std::size_t ld = ones ? dim + 1 : dim;
#pragma omp parallel num_threads(int(threads))
    {
        T* a = thread_buffer<T, scratch::mlp_norm>(block * ld + 2 * block);  // LN(x) (| 1), then mean and 1/std
        T* h = thread_buffer<T, scratch::branch_act>(block * hidden);
        T* z = thread_buffer<T, scratch::branch_out>(block * dim);
#pragma omp for schedule(static)
        for (std::ptrdiff_t i = 0; i < std::ptrdiff_t(blocks); ++i) {
            const std::size_t lo = std::min(rows, std::size_t(i) * block), hi = std::min(rows, lo + block);
            if (lo == hi) continue;
            const std::size_t m = hi - lo;
            layer_norm_forward_ld(cpu{}, m, dim, eps, x + lo * dim, gamma, beta, a, ld, a + block * ld,
                                  a + block * ld + block, ones);
            first(m, static_cast<const T*>(a), ld, h);
            if (!ones) add_to_rows(m, hidden, b1, h);
            gelu_values(m * hidden, h, h);
            second(m, static_cast<const T*>(h), z);
            finish_rows(lo, hi, dim, z, b2, x, static_cast<const T*>(nullptr), 1, nullptr, y);
        }
    }
}
}  // namespace cpu_detail

// Whether mlp_forward_blocked takes an MLP of this size (the same answer for the same arguments and
// thread count).
[[nodiscard]] inline bool mlp_blocked(cpu, std::size_t rows, std::size_t dim, std::size_t hidden,
                                      std::size_t elem_size) {
    return cpu_detail::plan_mlp(rows, dim, hidden, elem_size).blocks != 0;
}

// x, y: [rows, dim] (y must not alias x); gamma, beta: [dim]; w1b: [hidden, dim + 1], each row W1's
// followed by b1's value; w2: [dim, hidden]; b2: [dim]. Returns false, having done nothing, where
// mlp_blocked is false.
template <class T>
[[nodiscard]] bool mlp_forward_blocked(cpu, std::size_t rows, std::size_t dim, std::size_t hidden, T eps, const T* x,
                                       const T* gamma, const T* beta, const T* w1b, const T* w2, const T* b2, T* y) {
    using namespace cpu_detail;
    const branch_plan plan = plan_mlp(rows, dim, hidden, sizeof(T));
    if (plan.blocks == 0) return false;
    const std::size_t ld = dim + 1;
    cpu_detail::mlp_blocks(
        plan, rows, dim, hidden, eps, x, gamma, beta,
        [&](std::size_t m, const T* a, std::size_t lda, T* h) {
            gemm_one(false, true, m, hidden, ld, T(1), a, lda, w1b, ld, T(0), h, hidden);
        },
        static_cast<const T*>(nullptr),
        [&](std::size_t m, const T* h, T* z) {
            gemm_one(false, true, m, dim, hidden, T(1), h, hidden, w2, hidden, T(0), z, dim);
        },
        b2, y);
    return true;
}

// Whether mlp_forward_streamed takes an MLP of this size: blocks of rows are worth it (two per thread)
// and the weights are packed (cpu_packs_weights: with oneMKL).
[[nodiscard]] inline bool mlp_streamed(cpu, std::size_t rows, std::size_t dim, std::size_t hidden,
                                       std::size_t elem_size) {
    return cpu_packs_weights && cpu_detail::plan_mlp(rows, dim, hidden, elem_size, true).blocks != 0;
}

// The same MLP for weights that need not fit in the L2 (vit-small's are 4.7 MB): W1 and W2 packed once
// (packed_weight) and streamed from the L3 by every block's products, b1 added to the hidden block in
// cache. w1: [hidden, dim]; b1: [hidden]; the rest as mlp_forward_blocked. Runs wherever blocks of rows
// are worth it — without oneMKL on plain one-thread GEMMs, which mlp_residual does not choose (not
// measured to pay) but the tests run. Returns false, having done nothing, where they are not (fewer than
// two blocks of 64 rows per thread).
template <class T>
[[nodiscard]] bool mlp_forward_streamed(cpu, std::size_t rows, std::size_t dim, std::size_t hidden, T eps, const T* x,
                                        const T* gamma, const T* beta, const T* w1, const T* b1, const T* w2,
                                        const T* b2, T* y) {
    using namespace cpu_detail;
    const branch_plan plan = plan_mlp(rows, dim, hidden, sizeof(T), true);
    if (plan.blocks == 0) return false;
    const packed_weight<T, scratch::packed_first> first(w1, hidden, dim, plan.block);
    const packed_weight<T, scratch::packed_second> second(w2, dim, hidden, plan.block);
    mlp_blocks(
        plan, rows, dim, hidden, eps, x, gamma, beta,
        [&](std::size_t m, const T* a, std::size_t lda, T* h) { first(m, a, lda, T(0), h, hidden); }, b1,
        [&](std::size_t m, const T* h, T* z) { second(m, h, hidden, T(0), z, dim); }, b2, y);
    return true;
}

// The plan's kernel (plan_mlp_residual): streamed on packed weights, or blocked on [W1 | b1] built here.
template <class T>
void mlp_residual_forward(cpu, const block_half_plan& plan, std::size_t rows, std::size_t dim, std::size_t hidden,
                          T eps, const T* x, const T* gamma, const T* beta, const T* w1, const T* b1, const T* w2,
                          const T* b2, T* y) {
    bool done = false;
    if (plan.streamed) {
        done = mlp_forward_streamed(cpu{}, rows, dim, hidden, eps, x, gamma, beta, w1, b1, w2, b2, y);
    } else {
        T* wb = cpu_detail::thread_buffer<T, cpu_detail::scratch::weight_bias>(hidden * (dim + 1));
        weight_with_bias(cpu{}, w1, b1, hidden, dim, wb);
        done = mlp_forward_blocked(cpu{}, rows, dim, hidden, eps, x, gamma, beta, static_cast<const T*>(wb), w2, b2, y);
    }
    TINYMIM_CHECK(done, "mlp_residual: the CPU's row blocks were planned but not run");
}

}  // namespace tinymim::backends
