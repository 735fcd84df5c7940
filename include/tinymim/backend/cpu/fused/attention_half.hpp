// CPU kernel: a pre-norm block's attention half with nothing to differentiate (a frozen teacher,
// evaluation), y = x + proj(attention(qkv(LN(x)))), in blocks of whole samples that stay in the core's
// L2 cache.
//
// Run as three ops (layer_norm_linear, attention_qkv_out, residual_linear), the normalised rows, the
// fused qkv projection (three times the width: 29 MB for fm-small's 12 800 tokens) and the attention's
// output each go to memory and are read back. Here each thread takes a few samples at a time (attention
// mixes a sample's tokens, so blocks hold whole samples), normalises them next to a column of ones,
// multiplies by [Wqkv | bqkv], runs every head's attention on them with the fixed-shape kernels, then the
// projection, bias and residual, and writes only y. The weights must fit in the L2 with a block — or, with
// oneMKL, be packed once and streamed from the L3 (attention_half_forward_streamed).
#pragma once

#include <algorithm>
#include <cstddef>

#include "tinymim/backend/cpu/blas/gemm.hpp"
#include "tinymim/backend/cpu/blas/packed_weight.hpp"
#include "tinymim/backend/cpu/blas/small_gemm.hpp"
#include "tinymim/backend/cpu/cpu.hpp"
#include "tinymim/backend/cpu/fused/branch.hpp"         // l2_bytes, finish_rows, branch_plan
#include "tinymim/backend/cpu/fused/plan.hpp"           // branch_plan, l2_bytes
#include "tinymim/backend/cpu/kernels/attention.hpp"    // probabilities: a head's softmax(scale · q kᵀ)
#include "tinymim/backend/cpu/kernels/elementwise.hpp"  // weight_with_bias
#include "tinymim/backend/cpu/kernels/rows.hpp"         // layer_norm_forward_ld
#include "tinymim/core/error.hpp"

namespace tinymim::backends {

namespace cpu_detail {

// The sample blocks of both kernels below. Each thread normalises a block into its buffer (with a column
// of ones after each row when bqkv is null: `qkv` then multiplies [LN(x) | 1] by [Wqkv | bqkv]),
// qkv(m, a, lda, out) writes q, k and v, bqkv (when given) is added in cache, every head's attention runs
// with the fixed-shape kernels, proj(m, o, z) writes the projection, and the rows are finished with bproj
// and the residual.
template <class T, class Qkv, class Proj>
void attention_half_blocks(const branch_plan& plan, std::size_t batch, std::size_t n, std::size_t dim, std::size_t h,
                           T scale, T eps, const T* x, const T* gamma, const T* beta, const Qkv& qkv_product,
                           const T* bqkv, const Proj& proj_product, const T* bproj, T* y) {
    const std::size_t threads = plan.threads, blocks = plan.blocks, block = plan.block, d = dim / h;
    const bool ones = bqkv == nullptr;
    const std::size_t ld = ones ? dim + 1 : dim, rows = block * n;
    const small_gemm<T> qk(false, true, n, n, d, scale, 3 * dim, 3 * dim, T(0), n);
    const small_gemm<T> pv(false, false, n, d, n, T(1), n, 3 * dim, T(0), dim);
#pragma omp parallel num_threads(int(threads))
    {
        T* a = thread_buffer<T, scratch::mlp_norm>(rows * (dim + 1) +
                                                   2 * rows);  // LN(x) (| 1), mean, 1/std; then proj's output
        T* qkv = thread_buffer<T, scratch::branch_act>(rows * 3 * dim);
        T* o = thread_buffer<T, scratch::branch_out>(rows * dim);
        T* p = thread_buffer<T, scratch::attention_probs>(n * n);
#pragma omp for schedule(static)
        for (std::ptrdiff_t i = 0; i < std::ptrdiff_t(blocks); ++i) {
            const std::size_t s0 = std::min(batch, std::size_t(i) * block), s1 = std::min(batch, s0 + block);
            if (s0 == s1) continue;
            const std::size_t m = (s1 - s0) * n;
            layer_norm_forward_ld(cpu{}, m, dim, eps, x + s0 * n * dim, gamma, beta, a, ld, a + rows * (dim + 1),
                                  a + rows * (dim + 1) + rows, ones);
            qkv_product(m, static_cast<const T*>(a), ld, qkv);
            if (!ones) add_to_rows(m, 3 * dim, bqkv, qkv);
            for (std::size_t s = 0; s < s1 - s0; ++s)
                for (std::size_t hh = 0; hh < h; ++hh) {
                    const T* q = qkv + s * n * 3 * dim + hh * d;
                    cpu_attention_detail::probabilities(n, qk, q, q + dim, p);
                    pv(p, q + 2 * dim, o + s * n * dim + hh * d);
                }
            proj_product(m, static_cast<const T*>(o), a);
            finish_rows(s0 * n, s1 * n, dim, a, bproj, x, static_cast<const T*>(nullptr), 1, nullptr, y);
        }
    }
}
}  // namespace cpu_detail

// Whether attention_half_forward_blocked takes a batch of this size (the same answer for the same
// arguments and thread count).
[[nodiscard]] inline bool attention_half_blocked(cpu, std::size_t batch, std::size_t n, std::size_t dim,
                                                 std::size_t elem_size) {
    return cpu_detail::plan_attention_half(batch, n, dim, elem_size).blocks != 0;
}

// x, y: [batch, n, dim] (y must not alias x); gamma, beta: [dim]; wqkv_b: [3 dim, dim + 1], each row
// Wqkv's followed by bqkv's value; wproj: [dim, dim]; bproj: [dim]; h heads of dim / h, scores scaled by
// `scale`. Returns false, having done nothing, where attention_half_blocked is false.
template <class T>
[[nodiscard]] bool attention_half_forward_blocked(cpu, std::size_t batch, std::size_t n, std::size_t dim, std::size_t h,
                                                  T scale, T eps, const T* x, const T* gamma, const T* beta,
                                                  const T* wqkv_b, const T* wproj, const T* bproj, T* y) {
    using namespace cpu_detail;
    const branch_plan plan = plan_attention_half(batch, n, dim, sizeof(T));
    if (plan.blocks == 0 || h == 0 || dim % h != 0) return false;
    const std::size_t ld = dim + 1;
    attention_half_blocks(
        plan, batch, n, dim, h, scale, eps, x, gamma, beta,
        [&](std::size_t m, const T* a, std::size_t lda, T* out) {
            gemm_one(false, true, m, 3 * dim, ld, T(1), a, lda, wqkv_b, ld, T(0), out, 3 * dim);
        },
        static_cast<const T*>(nullptr),
        [&](std::size_t m, const T* o, T* z) {
            gemm_one(false, true, m, dim, dim, T(1), o, dim, wproj, dim, T(0), z, dim);
        },
        bproj, y);
    return true;
}

// Whether attention_half_forward_streamed takes a batch of this size: sample blocks are worth it and fit,
// and the weights are packed (cpu_packs_weights: with oneMKL).
[[nodiscard]] inline bool attention_half_streamed(cpu, std::size_t batch, std::size_t n, std::size_t dim,
                                                  std::size_t elem_size) {
    return cpu_packs_weights && cpu_detail::plan_attention_half(batch, n, dim, elem_size, true).blocks != 0;
}

// The same attention half for weights that need not fit in the L2 (vit-small's are 2.4 MB): Wqkv and
// Wproj packed once (packed_weight) and streamed from the L3 by every block's products, bqkv added to the
// block's q, k and v in cache. wqkv: [3 dim, dim]; bqkv: [3 dim]; the rest as
// attention_half_forward_blocked. Runs wherever sample blocks fit and are worth it — without oneMKL on
// plain one-thread GEMMs, which attention_residual does not choose (not measured to pay) but the tests
// run. Returns false, having done nothing, where they are not.
template <class T>
[[nodiscard]] bool attention_half_forward_streamed(cpu, std::size_t batch, std::size_t n, std::size_t dim,
                                                   std::size_t h, T scale, T eps, const T* x, const T* gamma,
                                                   const T* beta, const T* wqkv, const T* bqkv, const T* wproj,
                                                   const T* bproj, T* y) {
    using namespace cpu_detail;
    const branch_plan plan = plan_attention_half(batch, n, dim, sizeof(T), true);
    if (plan.blocks == 0 || h == 0 || dim % h != 0) return false;
    const packed_weight<T, scratch::packed_first> first(wqkv, 3 * dim, dim, plan.block * n);
    const packed_weight<T, scratch::packed_second> second(wproj, dim, dim, plan.block * n);
    attention_half_blocks(
        plan, batch, n, dim, h, scale, eps, x, gamma, beta,
        [&](std::size_t m, const T* a, std::size_t lda, T* out) { first(m, a, lda, T(0), out, 3 * dim); }, bqkv,
        [&](std::size_t m, const T* o, T* z) { second(m, o, dim, T(0), z, dim); }, bproj, y);
    return true;
}

// The plan's kernel (plan_attention_residual): streamed on packed weights, or blocked on [Wqkv | bqkv].
template <class T>
void attention_residual_forward(cpu, const block_half_plan& plan, std::size_t batch, std::size_t n, std::size_t dim,
                                std::size_t h, T scale, T eps, const T* x, const T* gamma, const T* beta, const T* wqkv,
                                const T* bqkv, const T* wproj, const T* bproj, T* y) {
    bool done = false;
    if (plan.streamed) {
        done = attention_half_forward_streamed(cpu{}, batch, n, dim, h, scale, eps, x, gamma, beta, wqkv, bqkv, wproj,
                                               bproj, y);
    } else {
        T* wb = cpu_detail::thread_buffer<T, cpu_detail::scratch::weight_bias>(3 * dim * (dim + 1));
        weight_with_bias(cpu{}, wqkv, bqkv, 3 * dim, dim, wb);
        done = attention_half_forward_blocked(cpu{}, batch, n, dim, h, scale, eps, x, gamma, beta,
                                              static_cast<const T*>(wb), wproj, bproj, y);
    }
    TINYMIM_CHECK(done, "attention_residual: the CPU's sample blocks were planned but not run");
}

}  // namespace tinymim::backends
