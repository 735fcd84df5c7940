// CUDA kernels of the layout ops, as backend/cpu/kernels/strided.hpp: a thread per index (copy, binary)
// or per destination entry (the reduction, which sums its reduced axes in double: deterministic).
#pragma once

#include <cstddef>

#include "tinymim/backend/cuda/launch.cuh"
#include "tinymim/backend/kinds.hpp"
#include "tinymim/backend/strided.hpp"

namespace tinymim::backends {

template <class T>
void strided_copy(cuda, const strided_layout& l, const T* x, T* y, bool accumulate) {
    cuda_detail::for_each(l.size(), [=] __device__(std::size_t i) {
        std::size_t ox, oy;
        l.offsets(i, ox, oy);
        if (accumulate)
            y[oy] += x[ox];
        else
            y[oy] = x[ox];
    });
}

template <class T>
void strided_binary(cuda, binop op, const strided_layout& l, const T* a, const T* b, T* out) {
    cuda_detail::for_each(l.size(), [=] __device__(std::size_t i) {
        std::size_t oa, ob;
        l.offsets(i, oa, ob);
        out[i] = binary_apply(op, a[oa], b[ob]);
    });
}

template <class T>
void broadcast_reduce_acc(cuda, const broadcast_reduction& r, T alpha, const T* g, const T* other, T* dst) {
    cuda_detail::for_each(r.kept(), [=] __device__(std::size_t j) { dst[j] += alpha * T(r.sum(j, g, other)); });
}

}  // namespace tinymim::backends
