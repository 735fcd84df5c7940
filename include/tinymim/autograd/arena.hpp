// arena<B>: bump allocation of activation memory for one training step, reset and reused.
#pragma once

#include <algorithm>
#include <cstddef>
#include <vector>

#include "tinymim/backend/concepts.hpp"

namespace tinymim {

// Hands out aligned chunks from large blocks; reset() makes them all free again. When a step
// needed more than one block, reset() merges them into one block of the high-water size, so the
// next identical step allocates nothing.
template <backend B>
class arena {
public:
    static constexpr std::size_t alignment = 64;

    explicit arena(std::size_t initial_bytes = std::size_t(1) << 20) : next_block_(initial_bytes) {}
    arena(const arena&) = delete;
    arena& operator=(const arena&) = delete;
    ~arena() {
        for (auto& b : blocks_) B::deallocate(b.ptr, b.capacity);
    }

    [[nodiscard]] void* allocate(std::size_t bytes) {
        bytes = (bytes + alignment - 1) / alignment * alignment;
        if (bytes == 0) bytes = alignment;
        while (current_ < blocks_.size()) {
            block& b = blocks_[current_];
            if (b.capacity - offset_ >= bytes) {
                void* p = static_cast<std::byte*>(b.ptr) + offset_;
                offset_ += bytes;
                used_ += bytes;
                high_water_ = std::max(high_water_, used_);
                return p;
            }
            used_ += b.capacity - offset_;  // the tail of this block is lost for this step
            ++current_;
            offset_ = 0;
        }
        // Each new block is 1.5 × the last: a first step that needs S bytes holds at most about 1.5 S
        // (doubling could hold 2 S, which on a GPU is device memory really taken), in a few more blocks.
        const std::size_t cap = std::max(bytes, next_block_);
        next_block_ = cap + cap / 2;
        blocks_.push_back({B::allocate(cap), cap});
        ++block_allocations_;
        offset_ = 0;
        return allocate(bytes);
    }

    // A position in the arena; rewind(m) frees everything handed out after it (memory before m stays).
    struct mark_t {
        std::size_t block, offset, used;
    };
    [[nodiscard]] mark_t mark() const noexcept { return {current_, offset_, used_}; }
    void rewind(const mark_t& m) noexcept {
        current_ = m.block;
        offset_ = m.offset;
        used_ = m.used;
    }

    // Frees everything handed out since the last reset.
    void reset() {
        if (blocks_.size() > 1) {
            for (auto& b : blocks_) B::deallocate(b.ptr, b.capacity);
            blocks_.clear();
            const std::size_t cap = high_water_;  // one block has no lost tails: the high-water mark suffices
            blocks_.push_back({B::allocate(cap), cap});
            ++block_allocations_;
            next_block_ = cap;
        }
        current_ = 0;
        offset_ = 0;
        used_ = 0;
    }

    // Number of times the arena asked the backend for memory since construction.
    [[nodiscard]] std::size_t block_allocations() const noexcept { return block_allocations_; }
    [[nodiscard]] std::size_t bytes_in_use() const noexcept { return used_; }
    [[nodiscard]] std::size_t high_water() const noexcept { return high_water_; }
    [[nodiscard]] std::size_t capacity() const noexcept {
        std::size_t c = 0;
        for (auto& b : blocks_) c += b.capacity;
        return c;
    }

private:
    struct block {
        void* ptr;
        std::size_t capacity;
    };
    std::vector<block> blocks_;
    std::size_t current_ = 0, offset_ = 0, used_ = 0, high_water_ = 0, next_block_, block_allocations_ = 0;
};

}  // namespace tinymim
