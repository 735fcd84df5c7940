// Launch helpers of the CUDA kernels: grid-stride loops over n items with a device lambda, one block
// per row with a block-wide sum in double, and deterministic reductions over rows or everything.
#pragma once

#include <algorithm>
#include <cstddef>

#include <cub/block/block_reduce.cuh>

#include "tinymim/backend/cuda/cuda.cuh"

namespace tinymim::cuda_detail {

inline constexpr int threads_1d = 256;
inline constexpr int threads_row = 256;

inline unsigned blocks_for(std::size_t n, int threads = threads_1d) {
    const std::size_t b = (n + std::size_t(threads) - 1) / std::size_t(threads);
    return unsigned(std::clamp<std::size_t>(b, 1, 65535u * 8));
}

template <class F>
__global__ void for_each_kernel(std::size_t n, F f) {
    for (std::size_t i = blockIdx.x * std::size_t(blockDim.x) + threadIdx.x; i < n;
         i += std::size_t(gridDim.x) * blockDim.x)
        f(i);
}

// f(i) for i in [0, n), on the current stream.
template <class F>
void for_each(std::size_t n, F f) {
    if (n == 0) return;
    for_each_kernel<<<blocks_for(n), threads_1d, 0, backends::cuda::stream()>>>(n, f);
    TINYMIM_CUDA_LAUNCHED();
}

// The sum of v over the block (every thread gets it); call from all threads of a threads_row block.
__device__ inline double block_sum(double v) {
    using reduce = cub::BlockReduce<double, threads_row>;
    __shared__ typename reduce::TempStorage tmp;
    __shared__ double result;
    const double s = reduce(tmp).Sum(v);
    if (threadIdx.x == 0) result = s;
    __syncthreads();
    const double r = result;
    __syncthreads();  // tmp and result may be reused by the next call
    return r;
}
__device__ inline double block_max(double v) {
    using reduce = cub::BlockReduce<double, threads_row>;
    __shared__ typename reduce::TempStorage tmp;
    __shared__ double result;
    const double s = reduce(tmp).Reduce(v, [](double a, double b) { return a > b ? a : b; });
    if (threadIdx.x == 0) result = s;
    __syncthreads();
    const double r = result;
    __syncthreads();
    return r;
}

template <class F>
__global__ void rows_kernel(std::size_t rows, F f) {
    for (std::size_t r = blockIdx.x; r < rows; r += gridDim.x) f(r);
}

// f(r) for each row r, one block of threads_row threads per row (f uses threadIdx.x / block_sum).
template <class F>
void for_each_row(std::size_t rows, F f) {
    if (rows == 0) return;
    rows_kernel<<<unsigned(std::min<std::size_t>(rows, 65535u * 4)), threads_row, 0, backends::cuda::stream()>>>(rows,
                                                                                                                 f);
    TINYMIM_CUDA_LAUNCHED();
}

// Partial sums of f(i) over [0, n) in double, one per block, then one block adds them in order:
// deterministic. The result lands in *out (device) as T(alpha * sum).
template <class F>
__global__ void partial_sum_kernel(std::size_t n, F f, double* partial) {
    double s = 0;
    for (std::size_t i = blockIdx.x * std::size_t(blockDim.x) + threadIdx.x; i < n;
         i += std::size_t(gridDim.x) * blockDim.x)
        s += f(i);
    s = block_sum(s);
    if (threadIdx.x == 0) partial[blockIdx.x] = s;
}
template <class T>
__global__ void finish_sum_kernel(std::size_t parts, const double* partial, double alpha, T* out, double* out_double) {
    double s = 0;
    for (std::size_t i = threadIdx.x; i < parts; i += blockDim.x) s += partial[i];
    s = block_sum(s);
    if (threadIdx.x == 0) {
        if (out != nullptr) out[0] = T(alpha * s);
        if (out_double != nullptr) out_double[0] = alpha * s;
    }
}

template <class T, class F>
void sum_to(std::size_t n, F f, double alpha, T* out, double* out_double = nullptr) {
    const unsigned parts = std::min(blocks_for(n, threads_row), 1024u);
    scratch partial(parts * sizeof(double));
    partial_sum_kernel<<<parts, threads_row, 0, backends::cuda::stream()>>>(n, f, partial.as<double>());
    TINYMIM_CUDA_LAUNCHED();
    finish_sum_kernel<T>
        <<<1, threads_row, 0, backends::cuda::stream()>>>(parts, partial.as<double>(), alpha, out, out_double);
    TINYMIM_CUDA_LAUNCHED();
}

// Column sums: dst[j] += alpha * sum_r f(r, j) over rows r of a [rows, m] layout, deterministic:
// blocks of 32 columns x 8 row lanes write one partial per (row chunk, column), a second pass adds
// the chunks in order.
template <class F>
__global__ void column_partial_kernel(std::size_t rows, std::size_t m, std::size_t rows_per_chunk, F f,
                                      double* partial) {
    __shared__ double acc[8][33];
    const std::size_t j = blockIdx.x * 32 + threadIdx.x;
    const std::size_t r0 = blockIdx.y * rows_per_chunk, r1 = min(rows, r0 + rows_per_chunk);
    double s = 0;
    if (j < m)
        for (std::size_t r = r0 + threadIdx.y; r < r1; r += 8) s += f(r, j);
    acc[threadIdx.y][threadIdx.x] = s;
    __syncthreads();
    if (threadIdx.y == 0 && j < m) {
        double t = 0;
        for (int y = 0; y < 8; ++y) t += acc[y][threadIdx.x];
        partial[blockIdx.y * m + j] = t;
    }
}
template <class T>
__global__ void column_finish_kernel(std::size_t m, std::size_t chunks, const double* partial, double alpha, T* dst) {
    const std::size_t j = blockIdx.x * std::size_t(blockDim.x) + threadIdx.x;
    if (j >= m) return;
    double t = 0;
    for (std::size_t c = 0; c < chunks; ++c) t += partial[c * m + j];
    dst[j] += T(alpha * t);
}

template <class T, class F>
void column_sum_acc(std::size_t rows, std::size_t m, F f, double alpha, T* dst) {
    if (rows == 0 || m == 0) return;
    const std::size_t col_blocks = (m + 31) / 32;
    const std::size_t chunks = std::clamp<std::size_t>(rows / 256, 1, 256);
    const std::size_t per = (rows + chunks - 1) / chunks;
    scratch partial(chunks * m * sizeof(double));
    column_partial_kernel<<<dim3(unsigned(col_blocks), unsigned(chunks)), dim3(32, 8), 0, backends::cuda::stream()>>>(
        rows, m, per, f, partial.as<double>());
    TINYMIM_CUDA_LAUNCHED();
    column_finish_kernel<T>
        <<<blocks_for(m), threads_1d, 0, backends::cuda::stream()>>>(m, chunks, partial.as<double>(), alpha, dst);
    TINYMIM_CUDA_LAUNCHED();
}

}  // namespace tinymim::cuda_detail
