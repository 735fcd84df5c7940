// grad_pool<B>: the buffers that hold activation gradients during backward, handed out and taken
// back by size, kept across steps.
#pragma once

#include <cstddef>
#include <utility>
#include <vector>

#include "tinymim/backend/concepts.hpp"

namespace tinymim {

// A ViT asks for a handful of distinct gradient sizes, many times each; a buffer given back during
// backward is handed out again for the next gradient of its size. After the first step, every step
// finds its buffers in the pool: nothing is allocated, and the pool's size is the largest set of
// gradients alive at one time. A request takes the smallest free buffer that holds it and is at most half
// as large again (an exact fit when there is one): sizes that vary from step to step — a drop path's kept
// samples (ops/samples.hpp) — then reuse the larger buffers instead of the pool keeping one of every size
// it has seen.
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
        std::size_t best = free_.size();
        for (std::size_t i = free_.size(); i-- > 0;) {
            const std::size_t cap = free_[i].first;
            if (cap >= bytes && cap - bytes <= bytes / 2 && (best == free_.size() || cap < free_[best].first)) {
                best = i;
                if (cap == bytes) break;
            }
        }
        if (best != free_.size()) {
            void* p = free_[best].second;
            free_[best] = free_.back();
            free_.pop_back();
            return p;
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

    // p, from acquire (bytes: what was asked for; the buffer may be larger).
    void release(void* p, std::size_t bytes) noexcept {
        std::size_t cap = bytes;
        for (std::size_t i = owned_.size(); i-- > 0;)
            if (owned_[i].second == p) {
                cap = owned_[i].first;
                break;
            }
        free_.emplace_back(cap, p);
    }

    // Every buffer is free again (the end of a step).
    void reset() noexcept { free_.assign(owned_.begin(), owned_.end()); }

    [[nodiscard]] std::size_t allocations() const noexcept { return owned_.size(); }
    [[nodiscard]] std::size_t capacity() const noexcept { return capacity_; }

private:
    std::vector<std::pair<std::size_t, void*>> owned_, free_;
    std::size_t capacity_ = 0;
};

}  // namespace tinymim
