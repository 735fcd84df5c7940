// CUDA kernels that move tokens (head split/merge, token copies, gathers and scatters, patchify), as
// in backend/cpu/kernels/tokens.hpp. Every output entry has one writer, so accumulation needs no atomics.
#pragma once

#include <cstddef>
#include <cstdint>

#include "tinymim/backend/cuda/launch.cuh"

namespace tinymim::backends {

// to_heads: dst[b, h, n, j] (=|+=) src[b, n, offset + h*d + j] (rows of row_stride values); else reverse.
template <class T>
void heads_copy(cuda, std::size_t batch, std::size_t n, std::size_t h, std::size_t d, std::size_t row_stride,
                std::size_t offset, const T* src, T* dst, bool to_heads, bool accumulate) {
    cuda_detail::for_each(batch * h * n * d, [=] __device__(std::size_t k) {
        const std::size_t j = k % d, i = (k / d) % n, hh = (k / (d * n)) % h, b = k / (d * n * h);
        const std::size_t tok = (b * n + i) * row_stride + offset + hh * d + j;
        const std::size_t from = to_heads ? tok : k, to = to_heads ? k : tok;
        if (accumulate)
            dst[to] += src[from];
        else
            dst[to] = src[from];
    });
}

// dst[b, dst_off + i, :] (=|+=) src[sb, src_off + i, :], sb = b or 0 (broadcast source).
template <class T>
void copy_tokens(cuda, std::size_t batch, std::size_t count, std::size_t d, const T* src, std::size_t src_n,
                 std::size_t src_off, bool src_broadcast, T* dst, std::size_t dst_n, std::size_t dst_off,
                 bool accumulate) {
    cuda_detail::for_each(batch * count * d, [=] __device__(std::size_t k) {
        const std::size_t j = k % d, i = (k / d) % count, b = k / (d * count);
        const T v = src[((src_broadcast ? 0 : b) * src_n + src_off + i) * d + j];
        T& o = dst[(b * dst_n + dst_off + i) * d + j];
        if (accumulate)
            o += v;
        else
            o = v;
    });
}

// dst[i, :] += sum_b src[b, off + i, :]
template <class T>
void reduce_tokens_acc(cuda, std::size_t batch, std::size_t count, std::size_t d, const T* src, std::size_t src_n,
                       std::size_t src_off, T* dst) {
    cuda_detail::for_each(count * d, [=] __device__(std::size_t k) {
        const std::size_t j = k % d, i = k / d;
        double s = 0;
        for (std::size_t b = 0; b < batch; ++b) s += double(src[(b * src_n + src_off + i) * d + j]);
        dst[k] += T(s);
    });
}

// dst[b, i, :] = src[b, idx[b, i], :]
template <class T>
void gather_tokens(cuda, std::size_t batch, std::size_t src_n, std::size_t k, std::size_t d, const std::int32_t* idx,
                   const T* src, T* dst) {
    cuda_detail::for_each(batch * k * d, [=] __device__(std::size_t e) {
        const std::size_t j = e % d, i = (e / d) % k, b = e / (d * k);
        dst[e] = src[(b * src_n + std::size_t(idx[b * k + i])) * d + j];
    });
}

// dst[b, idx[b, i], :] += src[b, i, :]; one thread per (sample, column) walks the indices in order,
// so repeated indices add up without races, in a fixed order.
template <class T>
void scatter_tokens_acc(cuda, std::size_t batch, std::size_t dst_n, std::size_t k, std::size_t d,
                        const std::int32_t* idx, const T* src, T* dst) {
    cuda_detail::for_each(batch * d, [=] __device__(std::size_t e) {
        const std::size_t j = e % d, b = e / d;
        for (std::size_t i = 0; i < k; ++i)
            dst[(b * dst_n + std::size_t(idx[b * k + i])) * d + j] += src[(b * k + i) * d + j];
    });
}

// Images [B, C, H, W] <-> patches [B, L, C·p·p] in (c, ky, kx) or (ky, kx, c) order.
template <class T>
void patchify(cuda, std::size_t batch, std::size_t c, std::size_t hgt, std::size_t wid, std::size_t p,
              bool channel_last, const T* src, T* dst, bool to_patches, bool accumulate) {
    const std::size_t gw = wid / p, gh = hgt / p, plen = c * p * p;
    cuda_detail::for_each(batch * c * hgt * wid, [=] __device__(std::size_t img) {
        const std::size_t x = img % wid, y = (img / wid) % hgt, ch = (img / (wid * hgt)) % c, b = img / (wid * hgt * c);
        const std::size_t gy = y / p, ky = y % p, gx = x / p, kx = x % p;
        const std::size_t e = channel_last ? (ky * p + kx) * c + ch : (ch * p + ky) * p + kx;
        const std::size_t pat = (b * gh * gw + gy * gw + gx) * plen + e;
        const std::size_t from = to_patches ? img : pat, to = to_patches ? pat : img;
        if (accumulate)
            dst[to] += src[from];
        else
            dst[to] = src[from];
    });
}

}  // namespace tinymim::backends
