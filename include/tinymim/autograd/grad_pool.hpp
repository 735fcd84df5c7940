// grad_pool<B>: the buffers that hold activation gradients during backward, handed out and taken
// back by exact size, kept across steps.
#pragma once

#include <cstddef>
#include <utility>
#include <vector>

#include "tinymim/backend/concepts.hpp"

namespace tinymim {

// A ViT asks for a handful of distinct gradient sizes, many times each; a buffer given back during
// backward is handed out again for the next gradient of the same size. After the first step, every
// step finds its buffers in the pool: nothing is allocated, and the pool's size is the largest set of
// gradients alive at one time.
template <backend B>
class grad_pool {
public:
    grad_pool() = default;
    grad_pool(const grad_pool&) = delete;
    grad_pool& operator=(const grad_pool&) = delete;
    ~grad_pool() {
        for (auto& [bytes, p] : owned_) B::deallocate(p, bytes);
    }

    [[nodiscard]] void* acquire(std::size_t bytes) {
        for (std::size_t i = free_.size(); i-- > 0;) {
            if (free_[i].first == bytes) {
                void* p = free_[i].second;
                free_[i] = free_.back();
                free_.pop_back();
                return p;
            }
        }
        void* p = B::allocate(bytes);
        try {
            owned_.emplace_back(bytes, p);
            free_.reserve(owned_.size());  // release() and reset() then never allocate
        } catch (...) {
            B::deallocate(p, bytes);
            throw;
        }
        capacity_ += bytes;
        return p;
    }

    void release(void* p, std::size_t bytes) noexcept { free_.emplace_back(bytes, p); }

    // Every buffer is free again (the end of a step).
    void reset() noexcept { free_.assign(owned_.begin(), owned_.end()); }

    [[nodiscard]] std::size_t allocations() const noexcept { return owned_.size(); }
    [[nodiscard]] std::size_t capacity() const noexcept { return capacity_; }

private:
    std::vector<std::pair<std::size_t, void*>> owned_, free_;
    std::size_t capacity_ = 0;
};

}  // namespace tinymim
