// CPU kernels: multi-head attention straight on a fused qkv projection, one (sample, head) at a time.
//
// qkv is [B, N, 3D] (q | k | v, each H heads of d = D / H values); the output is [B, N, D] in the merged
// layout the projection reads, and the probabilities [B, H, N, N]. No head is copied out: the GEMMs read
// the heads in place through their row stride 3D, and an (N x N) score block is made, normalised and
// used while it is in cache.
#pragma once

#include <algorithm>
#include <cstddef>
#include <vector>

#include <Eigen/Core>

#include "tinymim/backend/cpu/blas/gemm.hpp"
#include "tinymim/backend/cpu/blas/small_gemm.hpp"
#include "tinymim/backend/cpu/cpu.hpp"
#include "tinymim/backend/cpu/kernels/rows.hpp"

namespace tinymim::backends {

namespace cpu_attention_detail {
// p = softmax(scale · q kᵀ) for one (sample, head); qk: the product scale · q kᵀ (rows of q and k ld
// apart, p's n).
template <class T>
void probabilities(std::size_t n, const small_gemm<T>& qk, const T* q, const T* k, T* p) {
    qk(q, k, p);
    for (std::size_t r = 0; r < n; ++r) cpu_detail::softmax_row(n, T(1), p + r * n, p + r * n);
}
// Asks for the n rows of `width` values at x (row stride ld) to be brought into the cache (for writing
// when Write). A head's rows are 3·D apart, too far for the hardware prefetchers to follow, and the next
// head's come from memory: a batch's qkv tensor is tens of MB. Issued one head ahead, this took 7-12 %
// off the fm-small attention's forward (12 800 tokens, 6 heads of 32) and 6-9 % off its backward on the
// AVX-512 host.
template <bool Write = false, class T>
void prefetch_rows(std::size_t n, std::size_t width, const T* x, std::size_t ld) {
    constexpr std::size_t line = 64 / sizeof(T);
    for (std::size_t r = 0; r < n; ++r)
        for (std::size_t c = 0; c < width; c += line) __builtin_prefetch(x + r * ld + c, Write ? 1 : 0, 2);
}
// The offset of head i + 1's first value from head i's (i = b·h + hh) in a [B, N, parts·h·d] tensor.
inline std::ptrdiff_t next_head(std::size_t n, std::size_t h, std::size_t d, std::size_t hh, std::size_t ld) {
    return hh + 1 < h ? std::ptrdiff_t(d) : std::ptrdiff_t(n * ld) - std::ptrdiff_t(hh * d);
}
}  // namespace cpu_attention_detail

// probs[b, h] = softmax(scale · q kᵀ); out[b, :, h·d .. h·d + d] = probs[b, h] · v.
// probs may be null: the probabilities are then made in a per-thread block and not kept.
template <class T>
void attention_qkv_forward(cpu, std::size_t batch, std::size_t n, std::size_t h, std::size_t d, T scale, const T* qkv,
                           T* probs, T* out) {
    const std::size_t dim = h * d, ld = 3 * dim;
    const small_gemm<T> qk(false, true, n, n, d, scale, ld, ld, T(0), n),
        pv(false, false, n, d, n, T(1), n, ld, T(0), dim);
#pragma omp parallel for schedule(static) if (batch * h > 1)
    for (std::ptrdiff_t i = 0; i < std::ptrdiff_t(batch * h); ++i) {
        const std::size_t b = std::size_t(i) / h, hh = std::size_t(i) % h;
        const T* q = qkv + b * n * ld + hh * d;
        if (std::size_t(i) + 1 < batch * h) {  // the next head's q, k and v
            const T* next = q + cpu_attention_detail::next_head(n, h, d, hh, ld);
            for (std::size_t part = 0; part < 3; ++part)
                cpu_attention_detail::prefetch_rows(n, d, next + part * dim, ld);
        }
        T* p = probs != nullptr ? probs + std::size_t(i) * n * n
                                : cpu_detail::thread_buffer<T, cpu_detail::scratch::attention_probs>(n * n);
        cpu_attention_detail::probabilities(n, qk, q, q + dim, p);
        pv(p, q + 2 * dim, out + b * n * dim + hh * d);
    }
}

// The gradients of attention_qkv_forward into dqkv, from the output's gradient dout [B, N, D] and the
// probabilities' gradient dprobs [B, H, N, N] (either may be null: not reached by any loss).
// probs may be null (they were not kept): each (sample, head)'s block is then recomputed from q and k
// in a per-thread buffer, where the backward uses it while it is in cache.
// accumulate: add to dqkv; otherwise every value of dqkv is written.
template <class T>
void attention_qkv_backward(cpu, std::size_t batch, std::size_t n, std::size_t h, std::size_t d, T scale, const T* qkv,
                            const T* probs, const T* dout, const T* dprobs, T* dqkv, bool accumulate) {
    const std::size_t dim = h * d, ld = 3 * dim;
    const T beta = accumulate ? T(1) : T(0);
    const small_gemm<T> qk(false, true, n, n, d, scale, ld, ld, T(0), n);
    const small_gemm<T> dp(false, true, n, n, d, T(1), dim, ld, T(0), n);    // dP = dO vᵀ
    const small_gemm<T> dv_(true, false, n, d, n, T(1), n, dim, beta, ld);   // dv = Pᵀ dO
    const small_gemm<T> dq_(false, false, n, d, n, scale, n, ld, beta, ld);  // dq = scale · dS k
    const small_gemm<T> dk_(true, false, n, d, n, scale, n, ld, beta, ld);   // dk = scale · dSᵀ q
#pragma omp parallel for schedule(static) if (batch * h > 1)
    for (std::ptrdiff_t i = 0; i < std::ptrdiff_t(batch * h); ++i) {
        T* ds = cpu_detail::thread_buffer<T, cpu_detail::scratch::attention_grad>(n * n);
        const std::size_t b = std::size_t(i) / h, hh = std::size_t(i) % h;
        const std::size_t row0 = b * n * ld + hh * d;
        const T *q = qkv + row0, *k = q + dim, *v = q + 2 * dim;
        T *dq = dqkv + row0, *dk = dq + dim, *dv = dq + 2 * dim;
        if (std::size_t(i) + 1 < batch * h) {  // the next head's q, k, v, their gradients and dout
            const std::ptrdiff_t next = cpu_attention_detail::next_head(n, h, d, hh, ld);
            for (std::size_t part = 0; part < 3; ++part) {
                cpu_attention_detail::prefetch_rows(n, d, q + next + part * dim, ld);
                cpu_attention_detail::prefetch_rows<true>(n, d, dq + next + part * dim, ld);
            }
            if (dout != nullptr)
                cpu_attention_detail::prefetch_rows(
                    n, d, dout + b * n * dim + hh * d + cpu_attention_detail::next_head(n, h, d, hh, dim), dim);
        }
        const T* p = nullptr;
        if (probs != nullptr) {
            p = probs + std::size_t(i) * n * n;
        } else {
            T* pr = cpu_detail::thread_buffer<T, cpu_detail::scratch::attention_probs>(n * n);
            cpu_attention_detail::probabilities(n, qk, q, k, pr);
            p = pr;
        }
        Eigen::Map<Eigen::Array<T, Eigen::Dynamic, 1>> dsa(ds, Eigen::Index(n * n));
        if (dout != nullptr) {
            const T* go = dout + b * n * dim + hh * d;
            dp(go, v, ds);
            dv_(p, go, dv);
        } else {
            dsa.setZero();
            if (!accumulate)
                for (std::size_t r = 0; r < n; ++r) std::fill(dv + r * ld, dv + r * ld + d, T(0));
        }
        if (dprobs != nullptr)
            dsa += Eigen::Map<const Eigen::Array<T, Eigen::Dynamic, 1>>(dprobs + std::size_t(i) * n * n,
                                                                        Eigen::Index(n * n));
        for (std::size_t r = 0; r < n; ++r) cpu_detail::softmax_row_backward_inplace(n, p + r * n, ds + r * n);
        dq_(ds, k, dq);
        dk_(ds, q, dk);
    }
}

}  // namespace tinymim::backends
