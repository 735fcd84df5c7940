// CPU kernel: the forward of a residual branch, y = residual + s[sample] · (act(x) · Wᵀ + b), in blocks of
// rows that stay in the core's L2 cache.
//
// Run as whole-tensor passes, the branch writes GELU(x) to memory and reads it back in the GEMM, copies
// the residual into y, adds the bias over y and then has the GEMM read y again: four passes over
// memory besides the product. With the weight small enough to stay in cache beside a block (the fm
// and vit-tiny models' MLPs), each thread takes blocks of rows whose GELU output and y fit in half of
// its L2, computes the GELU into a per-thread buffer, runs a one-thread GEMM on it and adds the bias,
// the residual and the drop path scale while the block is still in cache. A weight over its share of the
// L2 (vit-small's fc2) keeps whole-tensor passes (fused/residual_branch.hpp); docs/design/fused-ops.md
// has the measurements behind the bound.
#pragma once

#include <algorithm>
#include <cstddef>
#include <optional>
#include <vector>

#include "tinymim/backend/cpu/blas/gemm.hpp"
#include "tinymim/backend/cpu/blas/packed_weight.hpp"
#include "tinymim/backend/cpu/cpu.hpp"
#include "tinymim/backend/cpu/fused/plan.hpp"    // branch_plan, l2_bytes
#include "tinymim/backend/cpu/kernels/rows.hpp"  // gelu_values, gelu_grad_values

#if defined(__linux__)
#include <unistd.h>
#endif

namespace tinymim::backends {

namespace cpu_detail {

// z[r, :] += b for m rows of `width` (a bias on a block in cache).
template <class T>
void add_to_rows(std::size_t m, std::size_t width, const T* b, T* z) {
    for (std::size_t r = 0; r < m; ++r) {
        T* row = z + r * width;
        for (std::size_t j = 0; j < width; ++j) row[j] += b[j];
    }
}

// y[R, :] = s_r · (z[r - lo, :] + b) + residual[R, :] for the branch's rows r in [lo, hi) (s_r = 1 without
// scales), R = r, or with `samples` the same row of sample samples[r / rows_per_sample].
template <class T>
void finish_rows(std::size_t lo, std::size_t hi, std::size_t out, const T* z, const T* b, const T* residual,
                 const T* scales, std::size_t rows_per_sample, const std::size_t* samples, T* y) {
    for (std::size_t r = lo; r < hi; ++r) {
        const T* zr = z + (r - lo) * out;
        const std::size_t at =
            samples == nullptr ? r : samples[r / rows_per_sample] * rows_per_sample + r % rows_per_sample;
        const T* rr = residual + at * out;
        T* yr = y + at * out;
        if (scales == nullptr) {
            for (std::size_t j = 0; j < out; ++j) yr[j] = zr[j] + b[j] + rr[j];
        } else {
            const T s = scales[r / rows_per_sample];
            for (std::size_t j = 0; j < out; ++j) yr[j] = s * (zr[j] + b[j]) + rr[j];
        }
    }
}
}  // namespace cpu_detail

// Whether the two kernels below take a branch of this size, of elem_size-byte values (the same answer for
// the same arguments and thread count).
[[nodiscard]] inline bool residual_branch_blocked(cpu, std::size_t rows, std::size_t in, std::size_t out,
                                                  std::size_t elem_size) {
    return cpu_detail::plan_branch(rows, in, out, elem_size).blocks != 0;
}

// y[r, :] = residual[r, :] + s[r / rows_per_sample] · (act(x[r, :]) · Wᵀ + b), act = GELU when `gelu`, else
// the identity, in cache-sized blocks of rows. x: [rows, in], W: [out, in], b: [out], residual and y:
// [rows, out] (y must not alias x or the residual); scales may be null (every s = 1). With `samples`, x's
// rows are those of some samples of a larger batch (rows_per_sample each): x's sample i goes to sample
// samples[i] of residual and y, whose other samples this leaves alone. Returns false, having done
// nothing, where blocks do not pay: a weight larger than half the L2, or too few rows for two blocks per
// thread; the caller then runs whole-tensor passes.
template <class T>
[[nodiscard]] bool residual_branch_forward_blocked(cpu, bool gelu, std::size_t rows, std::size_t in, std::size_t out,
                                                   const T* x, const T* w, const T* b, const T* residual,
                                                   const T* scales, std::size_t rows_per_sample, T* y,
                                                   const std::size_t* samples = nullptr) {
    using namespace cpu_detail;
    const branch_plan plan = plan_branch(rows, in, out, sizeof(T));
    if (plan.blocks == 0) return false;
    const std::size_t threads = plan.threads, blocks = plan.blocks, block = plan.block;
    const packed_weight<T, scratch::packed_first> product(w, out, in, block);  // W packed once, not per block
#pragma omp parallel num_threads(int(threads))
    {
        T* act = gelu ? thread_buffer<T, scratch::branch_act>(block * in) : nullptr;
        T* z = thread_buffer<T, scratch::branch_out>(block * out);
#pragma omp for schedule(static)
        for (std::ptrdiff_t i = 0; i < std::ptrdiff_t(blocks); ++i) {
            const std::size_t lo = std::min(rows, std::size_t(i) * block), hi = std::min(rows, lo + block);
            if (lo == hi) continue;
            const T* a = x + lo * in;
            if (gelu) {
                gelu_values((hi - lo) * in, a, act);
                a = act;
            }
            product(hi - lo, a, in, T(0), z, out);
            finish_rows(lo, hi, out, z, b, residual, scales, rows_per_sample, samples, y);
        }
    }
    return true;
}

// The backward of residual_branch_forward_blocked's GELU branch with respect to x and W, from the branch's
// gradient gb [rows, out] (the drop path scale already applied), in the same row blocks: each block's
// GELU(x) is recomputed into a per-thread buffer and multiplied into the thread's partial of dW there,
// gb · W goes to a second buffer and GELU'(x) ⊙ it straight into dx. Whole-tensor passes write and read
// back GELU(x) and gb · W and zero dx first.
// dx and dw may be null (not wanted); add_dx / add_dw: accumulate into them rather than write. The bias
// gradient is the caller's (a column sum of gb). Returns false, having done nothing, where
// residual_branch_forward_blocked would.
template <class T>
[[nodiscard]] bool residual_gelu_branch_backward_blocked(cpu, std::size_t rows, std::size_t in, std::size_t out,
                                                         const T* x, const T* w, const T* gb, T* dx, bool add_dx, T* dw,
                                                         bool add_dw) {
    using namespace cpu_detail;
    const branch_plan plan = plan_branch(rows, in, out, sizeof(T));
    if (plan.blocks == 0) return false;
    if (dx == nullptr && dw == nullptr) return true;
    const std::size_t threads = plan.threads, blocks = plan.blocks, block = plan.block, wn = out * in;
    T* partials =
        dw != nullptr ? thread_buffer<T, scratch::gemm_partials>(threads * wn) : nullptr;  // thread t's dW at t * wn
    std::optional<packed_weight<T, scratch::packed_first>> times_w;  // da = gb_block · W: W packed once, not per block
    if (dx != nullptr) times_w.emplace(w, in, out, block, false);
#pragma omp parallel num_threads(int(threads))
    {
#if defined(_OPENMP)
        const std::size_t t = std::size_t(omp_get_thread_num()), team = std::size_t(omp_get_num_threads());
#else
        const std::size_t t = 0, team = 1;
#endif
        T* act = dw != nullptr ? thread_buffer<T, scratch::branch_act>(block * in) : nullptr;
        T* da = dx != nullptr ? thread_buffer<T, scratch::branch_grad>(block * in) : nullptr;
        bool first = true;
#pragma omp for schedule(static)
        for (std::ptrdiff_t i = 0; i < std::ptrdiff_t(blocks); ++i) {
            const std::size_t lo = std::min(rows, std::size_t(i) * block), hi = std::min(rows, lo + block);
            if (lo == hi) continue;
            const std::size_t m = hi - lo;
            const T* xb = x + lo * in;
            if (dx != nullptr) (*times_w)(m, gb + lo * out, out, T(0), da, in);  // da = gb_block · W
            if (dx != nullptr && dw != nullptr)  // GELU(x_block), and dx_block (+)= GELU'(x_block) ⊙ da: one erf
                gelu_values_and_grads(m * in, xb, static_cast<const T*>(da), act, dx + lo * in, add_dx);
            else if (dx != nullptr)
                gelu_grad_values(m * in, xb, static_cast<const T*>(da), dx + lo * in, add_dx);
            else
                gelu_values(m * in, xb, act);
            if (dw != nullptr) {  // partial dW (+)= gb_blockᵀ · GELU(x_block)
                gemm_one(true, false, out, in, m, T(1), gb + lo * out, out, act, in, first ? T(0) : T(1),
                         partials + t * wn, in);
                first = false;
            }
        }
        if (dw != nullptr) {
            if (first) std::fill(partials + t * wn, partials + (t + 1) * wn, T(0));  // this thread had no rows
#pragma omp barrier
#pragma omp for schedule(static)
            for (std::ptrdiff_t j = 0; j < std::ptrdiff_t(wn); ++j) {
                T s = add_dw ? dw[j] : T(0);
                for (std::size_t q = 0; q < team; ++q) s += partials[q * wn + std::size_t(j)];
                dw[j] = s;
            }
        }
    }
    return true;
}

}  // namespace tinymim::backends
