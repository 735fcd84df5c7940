// CPU kernel: the forward of a residual branch, y = residual + s[sample] · (act(x) · Wᵀ + b), in blocks of
// rows that stay in the core's L2 cache.
//
// Run as whole-tensor passes, the branch writes GELU(x) to memory and reads it back in the GEMM, copies
// the residual into y, adds the bias over y and then has the GEMM read y again: four passes over
// memory besides the product. With the weight small enough to stay in cache beside a block (the fm
// and vit-tiny models' MLPs), each thread takes blocks of rows whose GELU output and y fit in half of
// its L2, computes the GELU into a per-thread buffer, runs a one-thread GEMM on it and adds the bias,
// the residual and the drop path scale while the block is still in cache. Measured alone with oneMKL
// (docs/performance.md): fm-tiny's fc2 branch (12 800 × 384 → 96) 6.2 → 4.0 ms on two threads, fm-small's
// (12 800 × 768 → 192) 8.1 → 7.7 ms; vit-small's (6 304 × 1 536 → 384, a 2.4 MB weight) lost 5 % that
// way and keeps whole-tensor passes (ops/residual.hpp), the residual and the bias written in one.
#pragma once

#include <algorithm>
#include <cstddef>
#include <vector>

#include <Eigen/Core>
#include <unsupported/Eigen/SpecialFunctions>  // vectorised erf

#include "tinymim/backend/cpu/cpu.hpp"
#include "tinymim/backend/cpu/gemm.hpp"

#if defined(__linux__)
#include <unistd.h>
#endif

namespace tinymim::backends {

namespace cpu_detail {
// The L2 cache of one core in bytes (sysconf where the C library knows it; 1 MiB otherwise).
inline std::size_t l2_bytes() {
    static const std::size_t bytes = [] {
        long v = 0;
#if defined(__linux__) && defined(_SC_LEVEL2_CACHE_SIZE)
        v = sysconf(_SC_LEVEL2_CACHE_SIZE);
#endif
        return v > 0 ? std::size_t(v) : std::size_t(1) << 20;
    }();
    return bytes;
}

// A per-thread buffer of at least `count` values, kept between calls (at most half an L2 cache here).
template <class T, int Purpose>
T* thread_buffer(std::size_t count) {
    static thread_local std::vector<T> buffer;
    if (buffer.size() < count) buffer.resize(count);
    return buffer.data();
}

// y[r, :] = s_r · (z[r - lo, :] + b) + residual[r, :] for rows [lo, hi) (s_r = 1 without scales).
template <class T>
void finish_rows(std::size_t lo, std::size_t hi, std::size_t out, const T* z, const T* b, const T* residual,
                 const T* scales, std::size_t rows_per_sample, T* y) {
    for (std::size_t r = lo; r < hi; ++r) {
        const T* zr = z + (r - lo) * out;
        const T* rr = residual + r * out;
        T* yr = y + r * out;
        if (scales == nullptr) {
            for (std::size_t j = 0; j < out; ++j) yr[j] = zr[j] + b[j] + rr[j];
        } else {
            const T s = scales[r / rows_per_sample];
            for (std::size_t j = 0; j < out; ++j) yr[j] = s * (zr[j] + b[j]) + rr[j];
        }
    }
}
}  // namespace cpu_detail

// y[r, :] = residual[r, :] + s[r / rows_per_sample] · (act(x[r, :]) · Wᵀ + b), act = GELU when `gelu`, else
// the identity, in cache-sized blocks of rows. x: [rows, in], W: [out, in], b: [out], residual and y:
// [rows, out] (y must not alias x or the residual); scales may be null (every s = 1). Returns false, having
// done nothing, where blocks do not pay: a weight larger than half the L2, or too few rows for two blocks
// per thread; the caller then runs whole-tensor passes.
template <class T>
[[nodiscard]] bool residual_branch_forward_blocked(cpu, bool gelu, std::size_t rows, std::size_t in, std::size_t out,
                                                   const T* x, const T* w, const T* b, const T* residual,
                                                   const T* scales, std::size_t rows_per_sample, T* y) {
    using namespace cpu_detail;
    const std::size_t half_l2 = l2_bytes() / 2;
    const std::size_t target = std::min<std::size_t>(512, half_l2 / ((in + out) * sizeof(T)) / 16 * 16);
    const std::size_t threads = std::size_t(gemm_threads());
    if (rows == 0 || out == 0 || in * out * sizeof(T) > half_l2 || target < 32 || rows < 2 * threads * target)
        return false;
    // Blocks of about `target` rows, the same number for every thread.
    const std::size_t per_thread = (rows + threads * target - 1) / (threads * target);
    const std::size_t blocks = threads * per_thread, block = (rows + blocks - 1) / blocks;
#pragma omp parallel num_threads(int(threads))
    {
        T* act = gelu ? thread_buffer<T, 0>(block * in) : nullptr;
        T* z = thread_buffer<T, 1>(block * out);
#pragma omp for schedule(static)
        for (std::ptrdiff_t i = 0; i < std::ptrdiff_t(blocks); ++i) {
            const std::size_t lo = std::min(rows, std::size_t(i) * block), hi = std::min(rows, lo + block);
            if (lo == hi) continue;
            const T* a = x + lo * in;
            if (gelu) {
                Eigen::Map<const Eigen::Array<T, Eigen::Dynamic, 1>> xv(a, Eigen::Index((hi - lo) * in));
                Eigen::Map<Eigen::Array<T, Eigen::Dynamic, 1>> av(act, Eigen::Index((hi - lo) * in));
                av = T(0.5) * xv * (T(1) + (xv * T(0.70710678118654752440)).erf());
                a = act;
            }
            gemm_one(false, true, hi - lo, out, in, T(1), a, in, w, in, T(0), z, out);
            finish_rows(lo, hi, out, z, b, residual, scales, rows_per_sample, y);
        }
    }
    return true;
}

}  // namespace tinymim::backends
