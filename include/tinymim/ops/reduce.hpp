// Reductions: sum and mean over one axis or everything; max, logsumexp and variance over one axis.
// An axis reduction drops the axis, or keeps it with extent 1 when given ops::keepdim (PyTorch's
// keepdim=True), so that the result broadcasts back against its input.
#pragma once

#include <array>
#include <cstddef>
#include <type_traits>

#include "tinymim/autograd/var.hpp"
#include "tinymim/backend/kernels.hpp"
#include "tinymim/tensor/shape_ops.hpp"

namespace tinymim::ops {

// The tag that keeps a reduced axis (extent 1): ops::sum<1>(x, ops::keepdim).
struct keepdim_t {
    explicit keepdim_t() = default;
};
inline constexpr keepdim_t keepdim{};

namespace detail {
// A tensor as [outer, len, inner] around axis Axis, and the extents of the reduced result.
template <std::size_t Axis, bool Keep, class S>
struct axis_split {
    static_assert(Axis < S::rank, "reduction: the axis is out of range for this tensor's rank");
    using result_shape =
        std::conditional_t<Keep, shape_ops::set_extent_t<S, Axis, 1>, shape_ops::remove_axis_t<S, Axis>>;
    std::size_t outer = 1, len = 1, inner = 1;
    extents<result_shape> result;

    explicit axis_split(const extents<S>& x) {
        const auto e = x.all();
        for (std::size_t i = 0; i < Axis; ++i) outer *= e[i];
        for (std::size_t i = Axis + 1; i < S::rank; ++i) inner *= e[i];
        len = e[Axis];
        std::array<std::size_t, result_shape::rank> ey{};
        for (std::size_t i = 0, k = 0; i < S::rank; ++i) {
            if (i != Axis)
                ey[k++] = e[i];
            else if (Keep)
                ey[k++] = 1;
        }
        result = extents<result_shape>(ey);
    }
};

template <std::size_t Axis, bool Keep, element T, class S, backend B>
auto reduce_axis(const var<T, S, B>& x, bool average) {
    const axis_split<Axis, Keep, S> p(x.shape());
    auto y = make_output<T>(x.get_tape(), p.result, x.requires_grad());
    const std::size_t outer = p.outer, len = p.len, inner = p.inner;
    const T alpha = average ? T(1) / T(len) : T(1);
    backends::sum_axis(B{}, outer, len, inner, alpha, x.data(), y.data());
    if (y.requires_grad()) {
        auto *sx = x.get_slot(), *sy = y.get_slot();
        x.get_tape().record(sy, [=](tape<B>& t) {
            backends::sum_axis_backward(B{}, outer, len, inner, alpha, sy->grad(), t.grad(sx));
        });
    }
    return y;
}

enum class axis_stat { max, logsumexp, variance };

// max, logsumexp and variance share one shape: [outer, len, inner] -> [outer, inner].
template <std::size_t Axis, bool Keep, element T, class S, backend B>
auto stat_axis(const var<T, S, B>& x, axis_stat stat, std::size_t correction) {
    const axis_split<Axis, Keep, S> p(x.shape());
    const char* name = stat == axis_stat::max ? "max" : stat == axis_stat::logsumexp ? "logsumexp" : "variance";
    TINYMIM_CHECK(p.len > 0, name, ": axis ", Axis, " of ", x.shape().str(), " is empty");
    TINYMIM_CHECK(stat != axis_stat::variance || p.len > correction, "variance: axis ", Axis, " of ", x.shape().str(),
                  " holds ", p.len, " values, too few for the correction ", correction);
    auto y = make_output<T>(x.get_tape(), p.result, x.requires_grad());
    const std::size_t outer = p.outer, len = p.len, inner = p.inner;
    switch (stat) {
        case axis_stat::max:
            backends::max_axis(B{}, outer, len, inner, x.data(), y.data());
            break;
        case axis_stat::logsumexp:
            backends::logsumexp_axis(B{}, outer, len, inner, x.data(), y.data());
            break;
        case axis_stat::variance:
            backends::var_axis(B{}, outer, len, inner, correction, x.data(), y.data());
            break;
    }
    if (y.requires_grad()) {
        auto *sx = x.get_slot(), *sy = y.get_slot();
        x.get_tape().record(sy, [=](tape<B>& t) {
            const T* xv = static_cast<const T*>(sx->value);
            const T* yv = static_cast<const T*>(sy->value);
            switch (stat) {
                case axis_stat::max:
                    backends::max_axis_backward(B{}, outer, len, inner, xv, yv, sy->grad(), t.grad(sx));
                    break;
                case axis_stat::logsumexp:
                    backends::logsumexp_axis_backward(B{}, outer, len, inner, xv, yv, sy->grad(), t.grad(sx));
                    break;
                case axis_stat::variance:
                    backends::var_axis_backward(B{}, outer, len, inner, correction, xv, sy->grad(), t.grad(sx));
                    break;
            }
        });
    }
    return y;
}

template <element T, class S, backend B>
auto reduce_all(const var<T, S, B>& x, bool average) {
    auto y = make_output<T>(x.get_tape(), extents<shape<>>{}, x.requires_grad());
    const std::size_t n = x.size();
    const T alpha = average ? T(1) / T(n) : T(1);
    backends::sum_all(B{}, n, alpha, x.data(), y.data());
    if (y.requires_grad()) {
        auto *sx = x.get_slot(), *sy = y.get_slot();
        x.get_tape().record(sy, [=](tape<B>& t) { backends::add_scalar_grad(B{}, n, alpha, sy->grad(), t.grad(sx)); });
    }
    return y;
}
}  // namespace detail

// Sum over axis Axis (the axis disappears; with ops::keepdim it stays, extent 1).
template <std::size_t Axis, element T, class S, backend B>
[[nodiscard]] auto sum(const var<T, S, B>& x) {
    return detail::reduce_axis<Axis, false>(x, false);
}
template <std::size_t Axis, element T, class S, backend B>
[[nodiscard]] auto sum(const var<T, S, B>& x, keepdim_t) {
    return detail::reduce_axis<Axis, true>(x, false);
}
// Mean over axis Axis.
template <std::size_t Axis, element T, class S, backend B>
[[nodiscard]] auto mean(const var<T, S, B>& x) {
    return detail::reduce_axis<Axis, false>(x, true);
}
template <std::size_t Axis, element T, class S, backend B>
[[nodiscard]] auto mean(const var<T, S, B>& x, keepdim_t) {
    return detail::reduce_axis<Axis, true>(x, true);
}
// Maximum over axis Axis; its gradient goes to the first entry holding the maximum (as PyTorch's max).
template <std::size_t Axis, element T, class S, backend B>
[[nodiscard]] auto max(const var<T, S, B>& x) {
    return detail::stat_axis<Axis, false>(x, detail::axis_stat::max, 0);
}
template <std::size_t Axis, element T, class S, backend B>
[[nodiscard]] auto max(const var<T, S, B>& x, keepdim_t) {
    return detail::stat_axis<Axis, true>(x, detail::axis_stat::max, 0);
}
// log(sum(exp(x))) over axis Axis, without overflow.
template <std::size_t Axis, element T, class S, backend B>
[[nodiscard]] auto logsumexp(const var<T, S, B>& x) {
    return detail::stat_axis<Axis, false>(x, detail::axis_stat::logsumexp, 0);
}
template <std::size_t Axis, element T, class S, backend B>
[[nodiscard]] auto logsumexp(const var<T, S, B>& x, keepdim_t) {
    return detail::stat_axis<Axis, true>(x, detail::axis_stat::logsumexp, 0);
}
// Variance over axis Axis: sum((x - mean)^2) / (len - correction); correction 1 (the unbiased estimate)
// as PyTorch's var, 0 for the population variance of a layer norm.
template <std::size_t Axis, element T, class S, backend B>
[[nodiscard]] auto variance(const var<T, S, B>& x, std::size_t correction = 1) {
    return detail::stat_axis<Axis, false>(x, detail::axis_stat::variance, correction);
}
template <std::size_t Axis, element T, class S, backend B>
[[nodiscard]] auto variance(const var<T, S, B>& x, keepdim_t, std::size_t correction = 1) {
    return detail::stat_axis<Axis, true>(x, detail::axis_stat::variance, correction);
}
// Sum of all entries, a scalar (shape<>).
template <element T, class S, backend B>
[[nodiscard]] auto sum(const var<T, S, B>& x) {
    return detail::reduce_all(x, false);
}
// Mean of all entries, a scalar (shape<>).
template <element T, class S, backend B>
[[nodiscard]] auto mean(const var<T, S, B>& x) {
    return detail::reduce_all(x, true);
}

}  // namespace tinymim::ops
