// The CPU backend tag: host memory, OpenMP threads. Its kernels live beside it in backend/cpu/.
#pragma once

#include <algorithm>
#include <cstddef>
#include <cstdlib>  // aligned_alloc
#include <cstring>  // memcpy
#include <new>      // bad_alloc
#include <vector>

#if defined(_OPENMP)
#include <omp.h>
#endif

namespace tinymim::backends {

// Host memory, 64-byte aligned; kernels are overloads taking `cpu` as their first argument.
struct cpu {
    static constexpr const char* name = "cpu";
    static constexpr std::size_t alignment = 64;
    static constexpr bool host_memory = true;  // the host can read its tensors in place

    static void* allocate(std::size_t bytes) {
        if (bytes == 0) return nullptr;
        const std::size_t rounded = (bytes + alignment - 1) / alignment * alignment;
        void* p = std::aligned_alloc(alignment, rounded);
        if (p == nullptr) throw std::bad_alloc();
        return p;
    }
    static void deallocate(void* p, std::size_t /*bytes*/) { std::free(p); }
    static void copy_to_host(void* dst, const void* src, std::size_t bytes) { copy(dst, src, bytes); }
    static void copy_from_host(void* dst, const void* src, std::size_t bytes) { copy(dst, src, bytes); }
    static void copy(void* dst, const void* src, std::size_t bytes) {
        if (bytes != 0) std::memcpy(dst, src, bytes);
    }
    // Like copy, for regions that may overlap.
    static void move(void* dst, const void* src, std::size_t bytes) {
        if (bytes != 0) std::memmove(dst, src, bytes);
    }
};

namespace cpu_detail {
// What a per-thread buffer is for: buffers of different purposes can be live at once on one thread.
enum class scratch : int {
    gemm_partials,
    attention_probs,
    attention_grad,
    branch_act,
    branch_out,
    branch_grad,
    mlp_norm,
    row_sums,
    relation_loss,
    packed_first,
    packed_second,  // packed_weight's panels: a block's first and second weight
    weight_bias,    // [W | b] of a frozen half's first product
    bf16_first,     // gemm_bf16's operands widened to float where the BLAS has no bf16 GEMM
    bf16_second
};

// A buffer of at least `count` values for the calling thread and purpose, kept between calls (grown,
// never shrunk: no allocation in a steady-state step). Inside an OpenMP region each thread gets its own;
// a buffer the caller takes before a region must be passed into it as a pointer.
template <class T, scratch Purpose>
T* thread_buffer(std::size_t count) {
    static thread_local std::vector<T> buffer;
    if (buffer.size() < count) buffer.resize(count);
    return buffer.data();
}

// Sums over rows, for the gradients of broadcast operands (bias, layer norm's gamma and beta): the rows
// are cut into a fixed number of ranges — whatever the thread count, so the sums do not depend on it —
// and add_range(lo, hi, partial) adds rows [lo, hi) into that range's `width` zeroed values. Returns
// the partials, range q's at q * width, to be added in order by the caller (the calling thread's
// buffer, valid until its next call). Column blocks instead left a 96-wide sum 2:1 unbalanced on two
// threads.
inline constexpr std::size_t sum_ranges = 8;
template <class T, class F>
const T* sum_rows_in_ranges(std::size_t rows, std::size_t width, bool parallel, F&& add_range) {
    T* partial = thread_buffer<T, scratch::row_sums>(sum_ranges * width);  // the caller's, passed into the loop
    std::fill(partial, partial + sum_ranges * width, T(0));
#pragma omp parallel for schedule(static) if (parallel)
    for (std::ptrdiff_t q = 0; q < std::ptrdiff_t(sum_ranges); ++q)
        add_range(rows * std::size_t(q) / sum_ranges, rows * (std::size_t(q) + 1) / sum_ranges,
                  partial + std::size_t(q) * width);
    return partial;
}
}  // namespace cpu_detail

}  // namespace tinymim::backends

namespace tinymim {

using cpu = backends::cpu;

// Number of threads the CPU kernels (OpenMP loops and GEMMs) use; 0 or less means all cores.
inline void set_num_threads(int n) {
#if defined(_OPENMP)
    omp_set_num_threads(n > 0 ? n : omp_get_num_procs());
#else
    (void)n;
#endif
}

inline int num_threads() {
#if defined(_OPENMP)
    return omp_get_max_threads();
#else
    return 1;
#endif
}

}  // namespace tinymim
