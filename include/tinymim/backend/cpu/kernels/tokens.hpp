// CPU kernels that move tokens: head split/merge, token copies (CLS, slices, concatenation),
// per-sample gathers and scatters (masking), and patchify / unpatchify.
#pragma once

#include <cstddef>
#include <cstdint>

#include "tinymim/backend/cpu/cpu.hpp"

namespace tinymim::backends {

// to_heads: dst[b, h, n, j] (=|+=) src[b, n, offset + h*d + j] with rows of row_stride values.
// otherwise the reverse direction. Used for the head split of q/k/v and the head merge.
template <class T>
void heads_copy(cpu, std::size_t batch, std::size_t n, std::size_t h, std::size_t d, std::size_t row_stride,
                std::size_t offset, const T* src, T* dst, bool to_heads, bool accumulate) {
#pragma omp parallel for collapse(2) schedule(static) if (batch * n * h * d > 16384)
    for (std::ptrdiff_t b = 0; b < std::ptrdiff_t(batch); ++b)
        for (std::ptrdiff_t hh = 0; hh < std::ptrdiff_t(h); ++hh)
            for (std::size_t i = 0; i < n; ++i) {
                const std::size_t tok = (std::size_t(b) * n + i) * row_stride + offset + std::size_t(hh) * d;
                const std::size_t hd = ((std::size_t(b) * h + std::size_t(hh)) * n + i) * d;
                const T* s = src + (to_heads ? tok : hd);
                T* o = dst + (to_heads ? hd : tok);
                if (accumulate)
                    for (std::size_t j = 0; j < d; ++j) o[j] += s[j];
                else
                    for (std::size_t j = 0; j < d; ++j) o[j] = s[j];
            }
}

// dst[b, dst_off + i, :] (=|+=) src[sb, src_off + i, :] for i < count, sb = b (or 0 when the source is
// broadcast over the batch). Token rows have d values; src has src_n tokens per sample, dst dst_n.
template <class T>
void copy_tokens(cpu, std::size_t batch, std::size_t count, std::size_t d, const T* src, std::size_t src_n,
                 std::size_t src_off, bool src_broadcast, T* dst, std::size_t dst_n, std::size_t dst_off,
                 bool accumulate) {
    // Accumulating into a broadcast destination must not race: one thread then.
    const bool parallel = batch * count * d > 16384;
#pragma omp parallel for schedule(static) if (parallel)
    for (std::ptrdiff_t b = 0; b < std::ptrdiff_t(batch); ++b)
        for (std::size_t i = 0; i < count; ++i) {
            const T* s = src + ((src_broadcast ? 0 : std::size_t(b)) * src_n + src_off + i) * d;
            T* o = dst + (std::size_t(b) * dst_n + dst_off + i) * d;
            if (accumulate)
                for (std::size_t j = 0; j < d; ++j) o[j] += s[j];
            else
                for (std::size_t j = 0; j < d; ++j) o[j] = s[j];
        }
}

// Sum over the batch of token rows: dst[i, :] += sum_b src[b, off + i, :] (gradient of a broadcast token).
template <class T>
void reduce_tokens_acc(cpu, std::size_t batch, std::size_t count, std::size_t d, const T* src, std::size_t src_n,
                       std::size_t src_off, T* dst) {
    for (std::size_t b = 0; b < batch; ++b)
        for (std::size_t i = 0; i < count; ++i) {
            const T* s = src + (b * src_n + src_off + i) * d;
            T* o = dst + i * d;
            for (std::size_t j = 0; j < d; ++j) o[j] += s[j];
        }
}

// gather: dst[b, i, :] = src[b, idx[b, i], :]; scatter (gather's gradient): dst[b, idx[b, i], :] += src[b, i, :].
template <class T>
void gather_tokens(cpu, std::size_t batch, std::size_t src_n, std::size_t k, std::size_t d, const std::int32_t* idx,
                   const T* src, T* dst) {
#pragma omp parallel for schedule(static) if (batch * k * d > 16384)
    for (std::ptrdiff_t b = 0; b < std::ptrdiff_t(batch); ++b)
        for (std::size_t i = 0; i < k; ++i) {
            const T* s = src + (std::size_t(b) * src_n + std::size_t(idx[std::size_t(b) * k + i])) * d;
            T* o = dst + (std::size_t(b) * k + i) * d;
            for (std::size_t j = 0; j < d; ++j) o[j] = s[j];
        }
}
template <class T>
void scatter_tokens_acc(cpu, std::size_t batch, std::size_t dst_n, std::size_t k, std::size_t d,
                        const std::int32_t* idx, const T* src, T* dst) {
#pragma omp parallel for schedule(static) if (batch * k * d > 16384)
    for (std::ptrdiff_t b = 0; b < std::ptrdiff_t(batch); ++b)
        for (std::size_t i = 0; i < k; ++i) {
            const T* s = src + (std::size_t(b) * k + i) * d;
            T* o = dst + (std::size_t(b) * dst_n + std::size_t(idx[std::size_t(b) * k + i])) * d;
            for (std::size_t j = 0; j < d; ++j) o[j] += s[j];
        }
}

// Images [B, C, H, W] <-> patches [B, L, P] with L = (H/p)(W/p) in row-major (y, x) order and
// P = C·p·p ordered (c, ky, kx) (channel_last = false: the patch embedding's order) or
// (ky, kx, c) (channel_last = true: MAE's pixel target). to_patches = false goes back to images.
template <class T>
void patchify(cpu, std::size_t batch, std::size_t c, std::size_t hgt, std::size_t wid, std::size_t p, bool channel_last,
              const T* src, T* dst, bool to_patches, bool accumulate) {
    const std::size_t gh = hgt / p, gw = wid / p, plen = c * p * p;
#pragma omp parallel for collapse(2) schedule(static) if (batch * c * hgt * wid > 16384)
    for (std::ptrdiff_t b = 0; b < std::ptrdiff_t(batch); ++b)
        for (std::ptrdiff_t gy = 0; gy < std::ptrdiff_t(gh); ++gy)
            for (std::size_t gx = 0; gx < gw; ++gx)
                for (std::size_t ch = 0; ch < c; ++ch)
                    for (std::size_t ky = 0; ky < p; ++ky)
                        for (std::size_t kx = 0; kx < p; ++kx) {
                            const std::size_t img =
                                ((std::size_t(b) * c + ch) * hgt + std::size_t(gy) * p + ky) * wid + gx * p + kx;
                            const std::size_t e = channel_last ? (ky * p + kx) * c + ch : (ch * p + ky) * p + kx;
                            const std::size_t pat = (std::size_t(b) * gh * gw + std::size_t(gy) * gw + gx) * plen + e;
                            const std::size_t from = to_patches ? img : pat, to = to_patches ? pat : img;
                            if (accumulate)
                                dst[to] += src[from];
                            else
                                dst[to] = src[from];
                        }
}

}  // namespace tinymim::backends
