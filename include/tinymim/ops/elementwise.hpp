// add / sub / mul with trailing broadcasts, and scale.
//
// Broadcast rule: B's shape, with leading extents of 1 dropped, must be a trailing part of A's
// shape (a bias [D] or a position embedding [1, N, D] onto tokens [B, N, D]). The result has A's shape.
#pragma once

#include <cstddef>

#include "tinymim/autograd/var.hpp"
#include "tinymim/backend/kernels.hpp"
#include "tinymim/tensor/shape_ops.hpp"

namespace tinymim::ops {

namespace detail {
// B's shape without its leading extents of 1, as an array length and offset.
template <class SB>
consteval std::size_t leading_ones() {
    std::size_t i = 0;
    while (i + 1 < SB::rank && SB::static_extents[i] == 1) ++i;
    return i;
}
template <class SA, class SB>
consteval bool broadcastable() {
    constexpr std::size_t off = leading_ones<SB>();
    if (SB::rank - off > SA::rank) return false;
    for (std::size_t i = off; i < SB::rank; ++i)
        if (!extents_compatible(SA::static_extents[SA::rank - (SB::rank - i)], SB::static_extents[i])) return false;
    return true;
}
template <class SA, class SB, class EA, class EB>
void check_broadcast(const char* op, const EA& ea, const EB& eb) {
    constexpr std::size_t off = leading_ones<SB>();
    bool ok = true;
    for (std::size_t i = off; i < SB::rank; ++i) ok = ok && ea[SA::rank - (SB::rank - i)] == eb[i];
    for (std::size_t i = 0; i < off; ++i) ok = ok && eb[i] == 1;
    TINYMIM_CHECK(ok, op, ": shapes do not broadcast: A is ", ea.str(), ", B is ", eb.str(),
                  " (B must match A's trailing extents)");
}

template <element T, class SA, class SB, backend B>
auto binary_op(backends::binop op, const char* name, const var<T, SA, B>& a, const var<T, SB, B>& b) {
    check_broadcast<SA, SB>(name, a.shape(), b.shape());
    auto y = make_output<T>(a.get_tape(), a.shape(), a.requires_grad() || b.requires_grad());
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
}  // namespace detail

template <class SA, class SB>
concept broadcasts_onto = detail::broadcastable<SA, SB>();

// a + b (b broadcast onto a's trailing axes).
template <element T, class SA, class SB, backend B>
[[nodiscard]] auto add(const var<T, SA, B>& a, const var<T, SB, B>& b) {
    static_assert(detail::broadcastable<SA, SB>(),
                  "add: shapes do not broadcast: B (without leading 1s) must equal A's trailing extents");
    return detail::binary_op(backends::binop::add, "add", a, b);
}

// a - b (b broadcast onto a's trailing axes).
template <element T, class SA, class SB, backend B>
[[nodiscard]] auto sub(const var<T, SA, B>& a, const var<T, SB, B>& b) {
    static_assert(detail::broadcastable<SA, SB>(),
                  "sub: shapes do not broadcast: B (without leading 1s) must equal A's trailing extents");
    return detail::binary_op(backends::binop::sub, "sub", a, b);
}

// a * b element-wise (b broadcast onto a's trailing axes).
template <element T, class SA, class SB, backend B>
[[nodiscard]] auto mul(const var<T, SA, B>& a, const var<T, SB, B>& b) {
    static_assert(detail::broadcastable<SA, SB>(),
                  "mul: shapes do not broadcast: B (without leading 1s) must equal A's trailing extents");
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
