// The CUDA backend tag: device memory from a caching allocator, one stream and one cuBLAS handle per
// host thread, every CUDA and cuBLAS call checked with file and line. Kernels live beside it in
// backend/cuda/ as overloads taking `cuda` as their first argument (like backend/cpu/).
#pragma once

#if !defined(__CUDACC__)
#error \
    "tinymim/backend/cuda/*.cuh must be compiled by nvcc: put the code that instantiates the CUDA backend in a .cu file (link TinyMIM::cuda)"
#endif

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <map>
#include <mutex>
#include <string>

#include <cublas_v2.h>
#include <cuda_runtime.h>

#include "tinymim/core/error.hpp"

namespace tinymim::cuda_detail {

[[noreturn]] inline void fail(const char* what, const char* call, const char* file, int line) {
    throw ::tinymim::error(
        ::tinymim::detail::concat("CUDA error: ", call, " failed with ", what, " at ", file, ":", line));
}

inline const char* cublas_status_name(cublasStatus_t s) {
    switch (s) {
        case CUBLAS_STATUS_SUCCESS:
            return "CUBLAS_STATUS_SUCCESS";
        case CUBLAS_STATUS_NOT_INITIALIZED:
            return "CUBLAS_STATUS_NOT_INITIALIZED";
        case CUBLAS_STATUS_ALLOC_FAILED:
            return "CUBLAS_STATUS_ALLOC_FAILED";
        case CUBLAS_STATUS_INVALID_VALUE:
            return "CUBLAS_STATUS_INVALID_VALUE";
        case CUBLAS_STATUS_ARCH_MISMATCH:
            return "CUBLAS_STATUS_ARCH_MISMATCH";
        case CUBLAS_STATUS_MAPPING_ERROR:
            return "CUBLAS_STATUS_MAPPING_ERROR";
        case CUBLAS_STATUS_EXECUTION_FAILED:
            return "CUBLAS_STATUS_EXECUTION_FAILED";
        case CUBLAS_STATUS_INTERNAL_ERROR:
            return "CUBLAS_STATUS_INTERNAL_ERROR";
        case CUBLAS_STATUS_NOT_SUPPORTED:
            return "CUBLAS_STATUS_NOT_SUPPORTED";
        default:
            return "an unknown cuBLAS status";
    }
}

}  // namespace tinymim::cuda_detail

// Checks a cudaError_t / cublasStatus_t expression; throws tinymim::error naming the call, file and line.
#define TINYMIM_CUDA_CHECK(expr)                                                                       \
    do {                                                                                               \
        const cudaError_t tinymim_err_ = (expr);                                                       \
        if (tinymim_err_ != cudaSuccess) [[unlikely]]                                                  \
            ::tinymim::cuda_detail::fail(cudaGetErrorString(tinymim_err_), #expr, __FILE__, __LINE__); \
    } while (false)
#define TINYMIM_CUBLAS_CHECK(expr)                                                                                 \
    do {                                                                                                           \
        const cublasStatus_t tinymim_st_ = (expr);                                                                 \
        if (tinymim_st_ != CUBLAS_STATUS_SUCCESS) [[unlikely]]                                                     \
            ::tinymim::cuda_detail::fail(::tinymim::cuda_detail::cublas_status_name(tinymim_st_), #expr, __FILE__, \
                                         __LINE__);                                                                \
    } while (false)
// After a kernel launch: reports a bad launch configuration at the launch site.
#define TINYMIM_CUDA_LAUNCHED() TINYMIM_CUDA_CHECK(cudaPeekAtLastError())

namespace tinymim {

// Whether a CUDA device can be used here (false without a driver or a device; never throws).
[[nodiscard]] inline bool cuda_device_available() noexcept {
    int n = 0;
    if (cudaGetDeviceCount(&n) != cudaSuccess) {
        (void)cudaGetLastError();  // clear the sticky "no device" error
        return false;
    }
    return n > 0;
}

// The name of this thread's device and its compute capability, for reports ("NVIDIA H100 80GB HBM3 (sm_90)").
[[nodiscard]] inline std::string cuda_device_name() {
    int d = 0;
    TINYMIM_CUDA_CHECK(cudaGetDevice(&d));
    cudaDeviceProp p{};
    TINYMIM_CUDA_CHECK(cudaGetDeviceProperties(&p, d));
    return detail::concat(p.name, " (sm_", p.major, p.minor, ")");
}

namespace cuda_detail {

// A caching allocator over cudaMalloc: freed blocks go to a free list keyed by their rounded size
// and are handed out again, so a training step's identical allocations never reach cudaMalloc (which
// synchronises the device). Sizes round up to 512 bytes below 1 MiB and to 2 MiB above.
class caching_allocator {
public:
    static caching_allocator& instance() {
        static caching_allocator a;  // leaked at exit on purpose: the driver may be gone by then
        return a;
    }

    static std::size_t round(std::size_t bytes) {
        constexpr std::size_t small = 512, large = std::size_t(2) << 20, cut = std::size_t(1) << 20;
        return bytes < cut ? (bytes + small - 1) / small * small : (bytes + large - 1) / large * large;
    }

    void* allocate(std::size_t bytes) {
        if (bytes == 0) return nullptr;
        const std::size_t r = round(bytes);
        std::lock_guard lock(mu_);
        auto it = free_.find(r);
        if (it != free_.end()) {
            void* p = it->second;
            free_.erase(it);
            cached_ -= r;
            in_use_ += r;
            peak_ = std::max(peak_, in_use_);
            return p;
        }
        void* p = nullptr;
        cudaError_t e = cudaMalloc(&p, r);
        if (e == cudaErrorMemoryAllocation) {  // give the cache back and try once more
            (void)cudaGetLastError();
            release_cached_locked();
            e = cudaMalloc(&p, r);
        }
        if (e != cudaSuccess) {
            (void)cudaGetLastError();
            throw ::tinymim::error(::tinymim::detail::concat("CUDA: cannot allocate ", r, " bytes of device memory (",
                                                             cudaGetErrorString(e), "); ", in_use_,
                                                             " bytes are in use by tensors"));
        }
        ++mallocs_;
        in_use_ += r;
        peak_ = std::max(peak_, in_use_);
        return p;
    }

    void deallocate(void* p, std::size_t bytes) {
        if (p == nullptr) return;
        const std::size_t r = round(bytes);
        std::lock_guard lock(mu_);
        free_.emplace(r, p);
        in_use_ -= r;
        cached_ += r;
    }

    // Returns every cached block to the driver.
    void release_cached() {
        std::lock_guard lock(mu_);
        release_cached_locked();
    }

    struct stats_t {
        std::size_t in_use, cached, mallocs, peak_in_use;
    };
    [[nodiscard]] stats_t stats() {
        std::lock_guard lock(mu_);
        return {in_use_, cached_, mallocs_, peak_};
    }

private:
    void release_cached_locked() {
        TINYMIM_CUDA_CHECK(cudaDeviceSynchronize());
        for (auto& [size, p] : free_) TINYMIM_CUDA_CHECK(cudaFree(p));
        free_.clear();
        cached_ = 0;
    }
    std::mutex mu_;
    std::multimap<std::size_t, void*> free_;
    std::size_t in_use_ = 0, cached_ = 0, mallocs_ = 0, peak_ = 0;
};

// A host thread's stream and cuBLAS handle (RAII; created on first use).
class context {
public:
    static context& current() {
        thread_local context c;
        return c;
    }
    context(const context&) = delete;
    context& operator=(const context&) = delete;
    ~context() {
        if (blas_ != nullptr) cublasDestroy(blas_);
        if (stream_ != nullptr) cudaStreamDestroy(stream_);
    }
    [[nodiscard]] cudaStream_t stream() { return stream_; }
    [[nodiscard]] cublasHandle_t blas() { return blas_; }

    // TF32 tensor-core GEMMs for float (faster, about 1e-3 relative error); off by default.
    void set_tf32(bool on) {
        TINYMIM_CUBLAS_CHECK(cublasSetMathMode(blas_, on ? CUBLAS_TF32_TENSOR_OP_MATH : CUBLAS_DEFAULT_MATH));
        tf32_ = on;
    }
    [[nodiscard]] bool tf32() const noexcept { return tf32_; }

private:
    context() {
        TINYMIM_CUDA_CHECK(cudaStreamCreateWithFlags(&stream_, cudaStreamNonBlocking));
        TINYMIM_CUBLAS_CHECK(cublasCreate(&blas_));
        TINYMIM_CUBLAS_CHECK(cublasSetStream(blas_, stream_));
        TINYMIM_CUBLAS_CHECK(cublasSetMathMode(blas_, CUBLAS_DEFAULT_MATH));
    }
    cudaStream_t stream_ = nullptr;
    cublasHandle_t blas_ = nullptr;
    bool tf32_ = false;
};

// Scratch device memory for one kernel sequence (reduction partials), returned to the cache on scope exit.
class scratch {
public:
    explicit scratch(std::size_t bytes) : bytes_(bytes), p_(caching_allocator::instance().allocate(bytes)) {}
    scratch(const scratch&) = delete;
    scratch& operator=(const scratch&) = delete;
    // No wait here: the block can only be handed out again to work queued later on the same stream
    // (scratch is for kernels of the thread that made it), which runs after the work that used it.
    ~scratch() { caching_allocator::instance().deallocate(p_, bytes_); }
    template <class T>
    [[nodiscard]] T* as() const noexcept {
        return static_cast<T*>(p_);
    }

private:
    std::size_t bytes_;
    void* p_;
};

}  // namespace cuda_detail

namespace backends {

// Device memory on device 0; all work runs in order on the calling thread's stream. Copies to the
// host wait for that stream, so a value read back is final.
struct cuda {
    static constexpr const char* name = "cuda";
    static constexpr bool host_memory = false;  // tensors live on the device

    static void* allocate(std::size_t bytes) { return cuda_detail::caching_allocator::instance().allocate(bytes); }
    static void deallocate(void* p, std::size_t bytes) {
        if (p == nullptr) return;
        // The block may be handed to another thread's stream next: work still queued on it must finish.
        TINYMIM_CUDA_CHECK(cudaStreamSynchronize(stream()));
        cuda_detail::caching_allocator::instance().deallocate(p, bytes);
    }
    static void copy_to_host(void* dst, const void* src, std::size_t bytes) {
        if (bytes == 0) return;
        TINYMIM_CUDA_CHECK(cudaMemcpyAsync(dst, src, bytes, cudaMemcpyDeviceToHost, stream()));
        TINYMIM_CUDA_CHECK(cudaStreamSynchronize(stream()));
    }
    static void copy_from_host(void* dst, const void* src, std::size_t bytes) {
        if (bytes == 0) return;
        TINYMIM_CUDA_CHECK(cudaMemcpyAsync(dst, src, bytes, cudaMemcpyHostToDevice, stream()));
        TINYMIM_CUDA_CHECK(cudaStreamSynchronize(stream()));  // the host buffer may go away after the call
    }
    static void copy(void* dst, const void* src, std::size_t bytes) {
        if (bytes == 0) return;
        TINYMIM_CUDA_CHECK(cudaMemcpyAsync(dst, src, bytes, cudaMemcpyDeviceToDevice, stream()));
    }
    // Like copy, for regions that may overlap: through a scratch block.
    static void move(void* dst, const void* src, std::size_t bytes) {
        if (bytes == 0 || dst == src) return;
        const auto* s = static_cast<const std::byte*>(src);
        const auto* d = static_cast<const std::byte*>(dst);
        if (d + bytes <= s || s + bytes <= d) {
            copy(dst, src, bytes);
            return;
        }
        cuda_detail::scratch tmp(bytes);
        copy(tmp.as<void>(), src, bytes);
        copy(dst, tmp.as<void>(), bytes);
    }

    [[nodiscard]] static cudaStream_t stream() { return cuda_detail::context::current().stream(); }
    [[nodiscard]] static cublasHandle_t blas() { return cuda_detail::context::current().blas(); }
    // Waits for all work queued by this thread.
    static void synchronize() { TINYMIM_CUDA_CHECK(cudaStreamSynchronize(stream())); }
    // TF32 GEMMs for float: an explicit choice (PyTorch's allow_tf32); off by default.
    static void set_tf32(bool on) { cuda_detail::context::current().set_tf32(on); }
    // The most device memory tensors and activations held at once (bytes, rounded allocations).
    [[nodiscard]] static std::size_t peak_bytes() {
        return cuda_detail::caching_allocator::instance().stats().peak_in_use;
    }
};

}  // namespace backends

using cuda = backends::cuda;

}  // namespace tinymim
