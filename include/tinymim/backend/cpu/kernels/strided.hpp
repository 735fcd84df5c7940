// CPU kernels of the layout ops over a backends::strided_layout: a strided copy (permute, concat, stack
// and their gradients), a binary op with NumPy broadcasting on any axis, and the reduction of a
// broadcast result's gradient back onto an operand.
#pragma once

#include <cstddef>

#include "tinymim/backend/cpu/cpu.hpp"
#include "tinymim/backend/kinds.hpp"
#include "tinymim/backend/strided.hpp"

namespace tinymim::backends {

// y[offset_b(i)] = (or +=) x[offset_a(i)] over the index space; each i must reach a distinct y entry.
template <class T>
void strided_copy(cpu, const strided_layout& l, const T* x, T* y, bool accumulate) {
    const std::size_t n = l.size();
#pragma omp parallel for schedule(static) if (n > 32768)
    for (std::ptrdiff_t i = 0; i < std::ptrdiff_t(n); ++i) {
        std::size_t ox, oy;
        l.offsets(std::size_t(i), ox, oy);
        if (accumulate)
            y[oy] += x[ox];
        else
            y[oy] = x[ox];
    }
}

// out[i] = a[offset_a(i)] (op) b[offset_b(i)], out contiguous over the index space.
template <class T>
void strided_binary(cpu, binop op, const strided_layout& l, const T* a, const T* b, T* out) {
    const std::size_t n = l.size();
#pragma omp parallel for schedule(static) if (n > 32768)
    for (std::ptrdiff_t i = 0; i < std::ptrdiff_t(n); ++i) {
        std::size_t oa, ob;
        l.offsets(std::size_t(i), oa, ob);
        out[i] = binary_apply(op, a[oa], b[ob]);
    }
}

// dst[j] += alpha * sum over the reduced axes of g (times `other` where given, broadcast by its strides).
template <class T>
void broadcast_reduce_acc(cpu, const broadcast_reduction& r, T alpha, const T* g, const T* other, T* dst) {
    const std::size_t kept = r.kept();
#pragma omp parallel for schedule(static) if (kept * r.reduced() > 32768)
    for (std::ptrdiff_t j = 0; j < std::ptrdiff_t(kept); ++j) dst[j] += alpha * T(r.sum(std::size_t(j), g, other));
}

}  // namespace tinymim::backends
