// CUDA kernels: multi-head attention on a fused qkv projection, as backend/cpu/kernels/attention.hpp (same
// arguments, same results). No head is copied: for each head, one strided-batched cuBLAS call over the
// samples reads q, k, v in place in the projection (row stride 3·width, one sample every tokens·3·width
// values) and writes the output straight into the merged [B, N, width] layout (row stride width), and
// the gradients straight into dqkv. The only scratch is the backward's two [B, H, N, N] score buffers
// (three when the probabilities were not kept and are recomputed).
#pragma once

#include <cstddef>

#include "tinymim/backend/cuda/activation.cuh"
#include "tinymim/backend/cuda/cuda.cuh"
#include "tinymim/backend/cuda/elementwise.cuh"
#include "tinymim/backend/cuda/gemm.cuh"

namespace tinymim::backends {

namespace cuda_attention_detail {
// probs [B, H, N, N] = softmax(scale · q kᵀ), q and k read in place in qkv.
template <class T>
void probabilities(std::size_t batch, std::size_t n, std::size_t h, std::size_t d, T scale, const T* qkv, T* probs) {
    const std::size_t dim = h * d, ld = 3 * dim, sample = n * ld, nn = n * n;
    for (std::size_t head = 0; head < h; ++head)
        gemm_strided_batched(cuda{}, false, true, n, n, d, scale, qkv + head * d, ld, sample, qkv + dim + head * d, ld,
                             sample, T(0), probs + head * nn, n, h * nn, batch);
    softmax_forward(cuda{}, batch * h * n, n, T(1), probs, probs);
}
}  // namespace cuda_attention_detail

// probs [B, H, N, N] = softmax(scale · q kᵀ) per (sample, head); out [B, N, H·d] = probs v, heads merged.
// probs may be null: they are then made in scratch memory and not kept.
template <class T>
void attention_qkv_forward(cuda, std::size_t batch, std::size_t n, std::size_t h, std::size_t d, T scale, const T* qkv,
                           T* probs, T* out) {
    const std::size_t dim = h * d, ld = 3 * dim, sample = n * ld, nn = n * n;
    cuda_detail::scratch own(probs == nullptr ? batch * h * nn * sizeof(T) : 0);
    if (probs == nullptr) probs = own.as<T>();
    cuda_attention_detail::probabilities(batch, n, h, d, scale, qkv, probs);
    for (std::size_t head = 0; head < h; ++head)
        gemm_strided_batched(cuda{}, false, false, n, d, n, T(1), probs + head * nn, n, h * nn,
                             qkv + 2 * dim + head * d, ld, sample, T(0), out + head * d, dim, n * dim, batch);
}

// dqkv (+)= the gradient through out (dout, may be null) and through probs (dprobs, may be null).
// probs may be null (not kept): they are recomputed in scratch memory.
// accumulate: add to dqkv; otherwise every value of dqkv is written.
template <class T>
void attention_qkv_backward(cuda, std::size_t batch, std::size_t n, std::size_t h, std::size_t d, T scale, const T* qkv,
                            const T* probs, const T* dout, const T* dprobs, T* dqkv, bool accumulate) {
    const std::size_t dim = h * d, ld = 3 * dim, sample = n * ld, nn = n * n, all = batch * h * nn;
    cuda_detail::scratch own(probs == nullptr ? all * sizeof(T) : 0);
    if (probs == nullptr) {
        cuda_attention_detail::probabilities(batch, n, h, d, scale, qkv, own.as<T>());
        probs = own.as<T>();
    }
    if (!accumulate && dout == nullptr) {  // no gradient reaches v: its third must still be written (zero)
        fill(cuda{}, dqkv, batch * sample, T(0));
        accumulate = true;
    }
    const T beta = accumulate ? T(1) : T(0);
    cuda_detail::scratch dp(all * sizeof(T)), ds(all * sizeof(T));
    if (dout != nullptr) {
        for (std::size_t head = 0; head < h; ++head) {
            // dprobs_h = dout_h vᵀ; dv_h = probs_hᵀ dout_h
            gemm_strided_batched(cuda{}, false, true, n, n, d, T(1), dout + head * d, dim, n * dim,
                                 qkv + 2 * dim + head * d, ld, sample, T(0), dp.as<T>() + head * nn, n, h * nn, batch);
            gemm_strided_batched(cuda{}, true, false, n, d, n, T(1), probs + head * nn, n, h * nn, dout + head * d, dim,
                                 n * dim, beta, dqkv + 2 * dim + head * d, ld, sample, batch);
        }
        if (dprobs != nullptr) axpy(cuda{}, all, T(1), dprobs, dp.as<T>());
    }
    const T* dpt = dout != nullptr ? dp.as<T>() : dprobs;
    fill(cuda{}, ds.as<T>(), all, T(0));
    softmax_backward(cuda{}, batch * h * n, n, T(1), probs, dpt, ds.as<T>());
    for (std::size_t head = 0; head < h; ++head) {
        // dq_h = scale · ds_h k_h; dk_h = scale · ds_hᵀ q_h
        gemm_strided_batched(cuda{}, false, false, n, d, n, scale, ds.as<T>() + head * nn, n, h * nn,
                             qkv + dim + head * d, ld, sample, beta, dqkv + head * d, ld, sample, batch);
        gemm_strided_batched(cuda{}, true, false, n, d, n, scale, ds.as<T>() + head * nn, n, h * nn, qkv + head * d, ld,
                             sample, beta, dqkv + dim + head * d, ld, sample, batch);
    }
}

}  // namespace tinymim::backends
