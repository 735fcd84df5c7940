// CUDA kernels: multi-head attention on a fused qkv projection, as backend/cpu/attention.hpp (same
// arguments, same results). On the GPU the heads are copied into contiguous scratch so that every
// product is one strided-batched cuBLAS call over all (sample, head) pairs; the scratch goes back to
// the caching allocator when the call returns.
#pragma once

#include <cstddef>

#include "tinymim/backend/cuda/activation.cuh"
#include "tinymim/backend/cuda/cuda.cuh"
#include "tinymim/backend/cuda/elementwise.cuh"
#include "tinymim/backend/cuda/gemm.cuh"
#include "tinymim/backend/cuda/tokens.cuh"

namespace tinymim::backends {

namespace cuda_attention_detail {
// q, k, v of every (sample, head) as [B·H, N, d] in one scratch block.
template <class T>
struct split_qkv {
    std::size_t per;  // values in one of q, k, v
    cuda_detail::scratch mem;
    split_qkv(std::size_t batch, std::size_t n, std::size_t h, std::size_t d, const T* qkv)
        : per(batch * h * n * d), mem(3 * per * sizeof(T)) {
        for (std::size_t part = 0; part < 3; ++part)
            heads_copy(cuda{}, batch, n, h, d, 3 * h * d, part * h * d, qkv, at(part), true, false);
    }
    [[nodiscard]] T* at(std::size_t part) const noexcept { return mem.as<T>() + part * per; }
};
}  // namespace cuda_attention_detail

template <class T>
void attention_qkv_forward(cuda, std::size_t batch, std::size_t n, std::size_t h, std::size_t d, T scale, const T* qkv,
                           T* probs, T* out) {
    const std::size_t bh = batch * h, nd = n * d, nn = n * n;
    cuda_attention_detail::split_qkv<T> s(batch, n, h, d, qkv);
    gemm_strided_batched(cuda{}, false, true, n, n, d, scale, s.at(0), d, nd, s.at(1), d, nd, T(0), probs, n, nn, bh);
    softmax_forward(cuda{}, bh * n, n, T(1), probs, probs);
    cuda_detail::scratch o(bh * nd * sizeof(T));
    gemm_strided_batched(cuda{}, false, false, n, d, n, T(1), probs, n, nn, s.at(2), d, nd, T(0), o.as<T>(), d, nd, bh);
    heads_copy(cuda{}, batch, n, h, d, h * d, 0, o.as<T>(), out, false, false);
}

template <class T>
void attention_qkv_backward(cuda, std::size_t batch, std::size_t n, std::size_t h, std::size_t d, T scale,
                            const T* qkv, const T* probs, const T* dout, const T* dprobs, T* dqkv, bool accumulate) {
    const std::size_t bh = batch * h, nd = n * d, nn = n * n, dim = h * d;
    cuda_attention_detail::split_qkv<T> s(batch, n, h, d, qkv);
    cuda_detail::scratch grads(3 * bh * nd * sizeof(T)), dp(bh * nn * sizeof(T)), ds(bh * nn * sizeof(T));
    T *dq = grads.as<T>(), *dk = dq + bh * nd, *dv = dk + bh * nd;
    if (dout != nullptr) {
        cuda_detail::scratch go(bh * nd * sizeof(T));
        heads_copy(cuda{}, batch, n, h, d, dim, 0, dout, go.as<T>(), true, false);
        gemm_strided_batched(cuda{}, false, true, n, n, d, T(1), go.as<T>(), d, nd, s.at(2), d, nd, T(0), dp.as<T>(), n,
                             nn, bh);
        gemm_strided_batched(cuda{}, true, false, n, d, n, T(1), probs, n, nn, go.as<T>(), d, nd, T(0), dv, d, nd, bh);
    } else {
        fill(cuda{}, dp.as<T>(), bh * nn, T(0));
        fill(cuda{}, dv, bh * nd, T(0));
    }
    if (dprobs != nullptr) axpy(cuda{}, bh * nn, T(1), dprobs, dp.as<T>());
    fill(cuda{}, ds.as<T>(), bh * nn, T(0));
    softmax_backward(cuda{}, bh * n, n, T(1), probs, dp.as<T>(), ds.as<T>());
    gemm_strided_batched(cuda{}, false, false, n, d, n, scale, ds.as<T>(), n, nn, s.at(1), d, nd, T(0), dq, d, nd, bh);
    gemm_strided_batched(cuda{}, true, false, n, d, n, scale, ds.as<T>(), n, nn, s.at(0), d, nd, T(0), dk, d, nd, bh);
    for (std::size_t part = 0; part < 3; ++part)
        heads_copy(cuda{}, batch, n, h, d, 3 * dim, part * dim, dq + part * bh * nd, dqkv, false, accumulate);
}

}  // namespace tinymim::backends
