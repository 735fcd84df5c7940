// add / sub / mul with NumPy broadcasting on any axis, and scale.
//
// Broadcast rule (NumPy's): the shapes right-aligned, a missing axis taken as 1; per axis the extents
// must be equal or one of them 1, and the result takes the larger. The common case (B, without its
// leading 1s, equal to A's trailing extents: a bias [D] or a position embedding [1, N, D] onto tokens
// [B, N, D]) runs the row kernels; any other broadcast runs the strided kernels (backend/strided.hpp).
#pragma once

#include <array>
#include <cstddef>

#include "tinymim/autograd/var.hpp"
#include "tinymim/backend/kernels.hpp"
#include "tinymim/backend/strided.hpp"
#include "tinymim/tensor/shape_ops.hpp"

namespace tinymim::ops {

namespace detail {
// The result's extents by NumPy's rule, or an error naming the op and both shapes.
template <class SA, class SB>
auto broadcast_extents(const char* op, const extents<SA>& ea, const extents<SB>& eb) {
    constexpr std::size_t r = SA::rank > SB::rank ? SA::rank : SB::rank;
    std::array<std::size_t, r> out{};
    for (std::size_t i = 0; i < r; ++i) {
        const std::size_t a = i < SA::rank ? ea[SA::rank - 1 - i] : 1;
        const std::size_t b = i < SB::rank ? eb[SB::rank - 1 - i] : 1;
        TINYMIM_CHECK(a == b || a == 1 || b == 1, op, ": shapes do not broadcast: A is ", ea.str(), ", B is ", eb.str(),
                      " (from the right, each pair of extents must be equal or one of them 1)");
        out[r - 1 - i] = a == 1 ? b : a;
    }
    return out;
}

// Whether the row kernels apply: the result is A's shape and B, without its leading 1s, is A's trailing part.
template <class SA, class SB, std::size_t R>
bool rows_broadcast(const extents<SA>& ea, const extents<SB>& eb, const std::array<std::size_t, R>& ey) {
    if (R != SA::rank) return false;
    for (std::size_t i = 0; i < SA::rank; ++i)
        if (ea[i] != ey[i]) return false;
    std::size_t lead = 0;
    while (lead + 1 < SB::rank && eb[lead] == 1) ++lead;
    if (SB::rank - lead > SA::rank) return false;
    for (std::size_t i = lead; i < SB::rank; ++i)
        if (eb[i] != ea[SA::rank - (SB::rank - i)]) return false;
    return true;
}

// The strides of an operand of extents e (rank Q) in a result of extents ey (rank R >= Q), 0 where it
// is broadcast; and whether it keeps each of the result's axes.
template <std::size_t Q, std::size_t R>
void broadcast_strides(const std::array<std::size_t, Q>& e, const std::array<std::size_t, R>& ey, std::size_t* stride,
                       bool* keep) {
    std::size_t s = 1;
    for (std::size_t k = R; k-- > 0;) {
        const std::size_t q = k + Q >= R ? k + Q - R : Q;  // Q: the axis is missing from the operand
        const std::size_t ext = q < Q ? e[q] : 1;
        stride[k] = ext == 1 ? 0 : s;
        if (keep) keep[k] = ext == ey[k];
        s *= ext;
    }
}
template <std::size_t R>
void row_major_strides(const std::array<std::size_t, R>& ey, std::size_t* stride) {
    std::size_t s = 1;
    for (std::size_t k = R; k-- > 0;) {
        stride[k] = s;
        s *= ey[k];
    }
}

template <element T, class SA, class SB, backend B>
auto binary_op(backends::binop op, const char* name, const var<T, SA, B>& a, const var<T, SB, B>& b) {
    using SY = shape_ops::broadcast_t<SA, SB>;
    static_assert(SY::rank <= backends::max_layout_rank, "add/sub/mul: broadcasting takes tensors of rank 8 at most");
    const auto ea = a.shape().all();
    const auto eb = b.shape().all();
    const auto ey = broadcast_extents<SA, SB>(name, a.shape(), b.shape());
    auto y = make_output<T>(a.get_tape(), extents<SY>(ey), a.requires_grad() || b.requires_grad());
    if (rows_broadcast(a.shape(), b.shape(), ey)) {
        const std::size_t n = a.size(), m = b.size();
        backends::binary(B{}, op, n, m, a.data(), b.data(), y.data());
        if (y.requires_grad()) {
            auto *sa = a.get_slot(), *sb = b.get_slot(), *sy = y.get_slot();
            a.get_tape().record(sy, [=](tape<B>& t) {
                using namespace backends;
                const T* g = sy->grad();
                if (op == binop::mul) {
                    if (sa->requires_grad) mul_acc(B{}, n, m, g, static_cast<const T*>(sb->value), t.grad(sa));
                    if (sb->requires_grad)
                        reduce_rows_acc(B{}, n, m, T(1), g, static_cast<const T*>(sa->value), t.grad(sb));
                } else {
                    if (sa->requires_grad) {
                        bool fresh = false;
                        T* da = t.grad_for_write(sa, fresh);
                        if (fresh)
                            B::copy(da, g, n * sizeof(T));
                        else
                            axpy(B{}, n, T(1), g, da);
                    }
                    if (sb->requires_grad)
                        reduce_rows_acc(B{}, n, m, op == binop::add ? T(1) : T(-1), g, static_cast<const T*>(nullptr),
                                        t.grad(sb));
                }
            });
        }
        return y;
    }
    // Any other broadcast: strided kernels; each gradient sums over the axes its operand was broadcast along.
    constexpr std::size_t R = SY::rank;
    backends::strided_layout fwd;
    fwd.rank = R;
    for (std::size_t k = 0; k < R; ++k) fwd.extent[k] = ey[k];
    backends::broadcast_reduction ra, rb;
    broadcast_strides(ea, ey, fwd.stride_a, ra.keep);
    broadcast_strides(eb, ey, fwd.stride_b, rb.keep);
    ra.space = fwd, rb.space = fwd;
    row_major_strides(ey, ra.space.stride_a);
    row_major_strides(ey, rb.space.stride_a);
    for (std::size_t k = 0; k < R; ++k) rb.space.stride_b[k] = fwd.stride_a[k];  // a's values, for mul's db
    backends::strided_binary(B{}, op, fwd, a.data(), b.data(), y.data());
    if (y.requires_grad()) {
        auto *sa = a.get_slot(), *sb = b.get_slot(), *sy = y.get_slot();
        a.get_tape().record(sy, [=](tape<B>& t) {
            using namespace backends;
            const T* g = sy->grad();
            const bool mul = op == binop::mul;
            if (sa->requires_grad)
                broadcast_reduce_acc(B{}, ra, T(1), g, mul ? static_cast<const T*>(sb->value) : nullptr, t.grad(sa));
            if (sb->requires_grad)
                broadcast_reduce_acc(B{}, rb, op == binop::sub ? T(-1) : T(1), g,
                                     mul ? static_cast<const T*>(sa->value) : nullptr, t.grad(sb));
        });
    }
    return y;
}
}  // namespace detail

// Shapes that NumPy's rule can broadcast (static extents checked now, dynamic ones at run time).
template <class SA, class SB>
concept broadcastable_with = shape_ops::numpy_broadcastable<SA, SB>();

// a + b, broadcast by NumPy's rule.
template <element T, class SA, class SB, backend B>
[[nodiscard]] auto add(const var<T, SA, B>& a, const var<T, SB, B>& b) {
    static_assert(broadcastable_with<SA, SB>,
                  "add: the shapes do not broadcast: from the right, each pair of "
                  "static extents must be equal or one of them 1");
    return detail::binary_op(backends::binop::add, "add", a, b);
}

// a - b, broadcast by NumPy's rule.
template <element T, class SA, class SB, backend B>
[[nodiscard]] auto sub(const var<T, SA, B>& a, const var<T, SB, B>& b) {
    static_assert(broadcastable_with<SA, SB>,
                  "sub: the shapes do not broadcast: from the right, each pair of "
                  "static extents must be equal or one of them 1");
    return detail::binary_op(backends::binop::sub, "sub", a, b);
}

// a * b element-wise, broadcast by NumPy's rule.
template <element T, class SA, class SB, backend B>
[[nodiscard]] auto mul(const var<T, SA, B>& a, const var<T, SB, B>& b) {
    static_assert(broadcastable_with<SA, SB>,
                  "mul: the shapes do not broadcast: from the right, each pair of "
                  "static extents must be equal or one of them 1");
    return detail::binary_op(backends::binop::mul, "mul", a, b);
}

// s * a
template <element T, class S, backend B>
[[nodiscard]] auto scale(const var<T, S, B>& a, T s) {
    auto y = make_output<T>(a.get_tape(), a.shape(), a.requires_grad());
    const std::size_t n = a.size();
    backends::scale(B{}, n, s, a.data(), y.data());
    if (y.requires_grad()) {
        auto *sa = a.get_slot(), *sy = y.get_slot();
        a.get_tape().record(sy, [=](tape<B>& t) { backends::axpy(B{}, n, s, sy->grad(), t.grad(sa)); });
    }
    return y;
}

}  // namespace tinymim::ops
