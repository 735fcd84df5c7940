// tensor<T, Shape, Backend>: an owning, heap-allocated (or device) buffer with a static rank.
#pragma once

#include <cstddef>
#include <type_traits>
#include <utility>
#include <vector>

#include "tinymim/backend/concepts.hpp"  // backend
#include "tinymim/backend/cpu/cpu.hpp"   // default backend
#include "tinymim/core/error.hpp"
#include "tinymim/core/shape.hpp"

namespace tinymim {

// The floating-point types the ops differentiate.
template <class T>
concept element = std::is_same_v<T, float> || std::is_same_v<T, double>;

// Owning storage. Move-only: a 197x768 tensor is 600 KB, copies are explicit (clone()).
// Element types: float and double for values, std::int32_t for indices and labels.
template <class T, class S, backend B = cpu>
class tensor {
    static_assert(is_shape_v<S>, "tensor<T, S, B>: S must be a tinymim::shape<...>");
    static_assert(std::is_arithmetic_v<T>, "tensor<T, S, B>: T must be an arithmetic type (float, double, int32_t)");

public:
    using value_type = T;
    using shape_type = S;
    using backend_type = B;
    static constexpr std::size_t rank = S::rank;

    // Static shapes allocate at once; a shape with a dyn extent starts empty.
    tensor() {
        if constexpr (S::is_static) {
            size_ = S::static_product();
            data_ = static_cast<T*>(B::allocate(size_ * sizeof(T)));
        }
    }
    explicit tensor(const extents<S>& e) : ext_(e), size_(e.size()) {
        data_ = static_cast<T*>(B::allocate(size_ * sizeof(T)));
    }
    explicit tensor(const std::array<std::size_t, rank>& all) : tensor(extents<S>(all)) {}

    tensor(const tensor&) = delete;
    tensor& operator=(const tensor&) = delete;
    tensor(tensor&& o) noexcept
        : data_(std::exchange(o.data_, nullptr)), ext_(o.ext_), size_(std::exchange(o.size_, 0)) {}
    tensor& operator=(tensor&& o) noexcept {
        if (this != &o) {
            release();
            data_ = std::exchange(o.data_, nullptr);
            ext_ = o.ext_;
            size_ = std::exchange(o.size_, 0);
        }
        return *this;
    }
    ~tensor() { release(); }

    [[nodiscard]] T* data() noexcept { return data_; }
    [[nodiscard]] const T* data() const noexcept { return data_; }
    [[nodiscard]] std::size_t size() const noexcept { return size_; }
    [[nodiscard]] const extents<S>& shape() const noexcept { return ext_; }
    [[nodiscard]] std::size_t extent(std::size_t i) const { return ext_[i]; }

    // Host element access (CPU backend only).
    T& operator[](std::size_t i) requires B::host_memory { return data_[i]; }
    const T& operator[](std::size_t i) const requires B::host_memory { return data_[i]; }
    T* begin() requires B::host_memory { return data_; }
    T* end() requires B::host_memory { return data_ + size_; }
    const T* begin() const requires B::host_memory { return data_; }
    const T* end() const requires B::host_memory { return data_ + size_; }

    [[nodiscard]] tensor clone() const {
        tensor t(ext_);
        B::copy(t.data_, data_, size_ * sizeof(T));
        return t;
    }
    [[nodiscard]] std::vector<T> to_vector() const {
        std::vector<T> v(size_);
        B::copy_to_host(v.data(), data_, size_ * sizeof(T));
        return v;
    }
    void copy_from(const T* host, std::size_t n) {
        TINYMIM_CHECK(n == size_, "tensor::copy_from: expected ", size_, " values for shape ", ext_.str(), ", found ",
                      n);
        B::copy_from_host(data_, host, n * sizeof(T));
    }
    void copy_from(const std::vector<T>& host) { copy_from(host.data(), host.size()); }
    void fill(T v) {
        std::vector<T> h(size_, v);
        copy_from(h);
    }

private:
    void release() noexcept {
        if (data_ != nullptr) B::deallocate(data_, size_ * sizeof(T));
        data_ = nullptr;
    }
    T* data_ = nullptr;
    extents<S> ext_{};
    std::size_t size_ = 0;
};

// Builds extents<S> from a list of sizes (static extents are checked).
template <class S, class... I>
extents<S> make_extents(I... sizes) {
    static_assert(sizeof...(I) == S::rank, "make_extents: give one size per axis");
    return extents<S>(std::array<std::size_t, S::rank>{static_cast<std::size_t>(sizes)...});
}

}  // namespace tinymim
