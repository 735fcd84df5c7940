// A strided view of an n-d index space, shared by the host and device kernels of the layout ops
// (broadcasting on any axis, permute, concat, stack): an index space of `rank` extents and, for up to
// two operands, a stride per axis (0 on an axis an operand is broadcast along).
#pragma once

#include <cstddef>

#include "tinymim/backend/kinds.hpp"
#include "tinymim/core/host_device.hpp"

namespace tinymim::backends {

// The highest rank the layout ops take (a tensor of rank 8 is far beyond a ViT's rank 4).
inline constexpr std::size_t max_layout_rank = 8;

struct strided_layout {
    std::size_t rank = 0;
    std::size_t extent[max_layout_rank]{};
    std::size_t stride_a[max_layout_rank]{};
    std::size_t stride_b[max_layout_rank]{};

    [[nodiscard]] TINYMIM_HOST_DEVICE std::size_t size() const {
        std::size_t n = 1;
        for (std::size_t k = 0; k < rank; ++k) n *= extent[k];
        return n;
    }
    // The offsets into a and b of the row-major linear index i of the index space.
    TINYMIM_HOST_DEVICE void offsets(std::size_t i, std::size_t& oa, std::size_t& ob) const {
        oa = 0, ob = 0;
        for (std::size_t k = rank; k-- > 0;) {
            const std::size_t c = i % extent[k];
            i /= extent[k];
            oa += c * stride_a[k];
            ob += c * stride_b[k];
        }
    }
};

// A reduction of a broadcast result back onto one operand's shape: the result's index space
// (`extent`, its row-major strides in stride_a, another operand's strides in stride_b) and, per
// axis, whether the operand keeps it (its extent there equals the result's) or sums over it.
struct broadcast_reduction {
    strided_layout space;
    bool keep[max_layout_rank]{};

    // Values summed into each destination entry, and the destination's entry count.
    [[nodiscard]] TINYMIM_HOST_DEVICE std::size_t reduced() const {
        std::size_t n = 1;
        for (std::size_t k = 0; k < space.rank; ++k)
            if (!keep[k]) n *= space.extent[k];
        return n;
    }
    [[nodiscard]] TINYMIM_HOST_DEVICE std::size_t kept() const {
        std::size_t n = 1;
        for (std::size_t k = 0; k < space.rank; ++k)
            if (keep[k]) n *= space.extent[k];
        return n;
    }
    // The offsets (result, other operand) of entry j of the destination, before the reduced axes.
    TINYMIM_HOST_DEVICE void base(std::size_t j, std::size_t& og, std::size_t& oo) const {
        og = 0, oo = 0;
        for (std::size_t k = space.rank; k-- > 0;) {
            if (!keep[k]) continue;
            const std::size_t c = j % space.extent[k];
            j /= space.extent[k];
            og += c * space.stride_a[k];
            oo += c * space.stride_b[k];
        }
    }
    // The offsets of step r along the reduced axes.
    TINYMIM_HOST_DEVICE void step(std::size_t r, std::size_t& og, std::size_t& oo) const {
        og = 0, oo = 0;
        for (std::size_t k = space.rank; k-- > 0;) {
            if (keep[k]) continue;
            const std::size_t c = r % space.extent[k];
            r /= space.extent[k];
            og += c * space.stride_a[k];
            oo += c * space.stride_b[k];
        }
    }
    // Destination entry j: the sum over the reduced axes of g (times `other` where given), in double.
    template <class T>
    [[nodiscard]] TINYMIM_HOST_DEVICE double sum(std::size_t j, const T* g, const T* other) const {
        std::size_t bg, bo;
        base(j, bg, bo);
        double acc = 0;
        for (std::size_t s = 0, steps = reduced(); s < steps; ++s) {
            std::size_t og, oo;
            step(s, og, oo);
            acc += other ? double(g[bg + og]) * double(other[bo + oo]) : double(g[bg + og]);
        }
        return acc;
    }
};

// x (op) y for the binary ops of the strided kernels.
template <class T>
TINYMIM_HOST_DEVICE T binary_apply(binop op, T x, T y) {
    return op == binop::add ? x + y : op == binop::sub ? x - y : x * y;
}

}  // namespace tinymim::backends
