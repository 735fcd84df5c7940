// Element-wise functions for new losses, each an ops::map functor (value and derivative, host and device)
// and a named op: exp, log, sqrt, rsqrt, reciprocal, abs, square, pow by a scalar, clamp, tanh, sigmoid,
// relu, and div (a / b with mul's broadcasting, as a * reciprocal(b)). Derivatives at kinks: abs and relu
// take 0 at 0, clamp 0 at and outside its bounds, as PyTorch does.
#pragma once

#include <cmath>

#include "tinymim/core/host_device.hpp"
#include "tinymim/ops/elementwise.hpp"
#include "tinymim/ops/map.hpp"

namespace tinymim::ops {

namespace fn {
// Under nvcc the float and double overloads of std::exp, std::log... are callable from device code.
struct exp {
    template <class T>
    TINYMIM_HOST_DEVICE T operator()(T x) const {
        return std::exp(x);
    }
    template <class T>
    TINYMIM_HOST_DEVICE T derivative(T, T y) const {
        return y;
    }
};
struct log {
    template <class T>
    TINYMIM_HOST_DEVICE T operator()(T x) const {
        return std::log(x);
    }
    template <class T>
    TINYMIM_HOST_DEVICE T derivative(T x, T) const {
        return T(1) / x;
    }
};
struct sqrt {
    template <class T>
    TINYMIM_HOST_DEVICE T operator()(T x) const {
        return std::sqrt(x);
    }
    template <class T>
    TINYMIM_HOST_DEVICE T derivative(T, T y) const {
        return T(0.5) / y;
    }
};
struct rsqrt {
    template <class T>
    TINYMIM_HOST_DEVICE T operator()(T x) const {
        return T(1) / std::sqrt(x);
    }
    template <class T>
    TINYMIM_HOST_DEVICE T derivative(T, T y) const {
        return T(-0.5) * y * y * y;
    }
};
struct reciprocal {
    template <class T>
    TINYMIM_HOST_DEVICE T operator()(T x) const {
        return T(1) / x;
    }
    template <class T>
    TINYMIM_HOST_DEVICE T derivative(T, T y) const {
        return -y * y;
    }
};
struct abs {
    template <class T>
    TINYMIM_HOST_DEVICE T operator()(T x) const {
        return x < T(0) ? -x : x;
    }
    template <class T>
    TINYMIM_HOST_DEVICE T derivative(T x, T) const {
        return x > T(0) ? T(1) : (x < T(0) ? T(-1) : T(0));
    }
};
struct square {
    template <class T>
    TINYMIM_HOST_DEVICE T operator()(T x) const {
        return x * x;
    }
    template <class T>
    TINYMIM_HOST_DEVICE T derivative(T x, T) const {
        return T(2) * x;
    }
};
struct pow {
    double p;
    template <class T>
    TINYMIM_HOST_DEVICE T operator()(T x) const {
        return std::pow(x, T(p));
    }
    template <class T>
    TINYMIM_HOST_DEVICE T derivative(T x, T) const {
        return T(p) * std::pow(x, T(p - 1));
    }
};
struct clamp {
    double lo, hi;
    template <class T>
    TINYMIM_HOST_DEVICE T operator()(T x) const {
        return x < T(lo) ? T(lo) : (x > T(hi) ? T(hi) : x);
    }
    template <class T>
    TINYMIM_HOST_DEVICE T derivative(T x, T) const {
        return x > T(lo) && x < T(hi) ? T(1) : T(0);
    }
};
struct tanh {
    template <class T>
    TINYMIM_HOST_DEVICE T operator()(T x) const {
        return std::tanh(x);
    }
    template <class T>
    TINYMIM_HOST_DEVICE T derivative(T, T y) const {
        return T(1) - y * y;
    }
};
struct sigmoid {
    template <class T>  // written so that neither branch overflows
    TINYMIM_HOST_DEVICE T operator()(T x) const {
        if (x >= T(0)) return T(1) / (T(1) + std::exp(-x));
        const T e = std::exp(x);
        return e / (T(1) + e);
    }
    template <class T>
    TINYMIM_HOST_DEVICE T derivative(T, T y) const {
        return y * (T(1) - y);
    }
};
struct relu {
    template <class T>
    TINYMIM_HOST_DEVICE T operator()(T x) const {
        return x > T(0) ? x : T(0);
    }
    template <class T>
    TINYMIM_HOST_DEVICE T derivative(T x, T) const {
        return x > T(0) ? T(1) : T(0);
    }
};
}  // namespace fn

template <element T, class S, backend B>
[[nodiscard]] auto exp(const var<T, S, B>& x) {
    return map(x, fn::exp{});
}
template <element T, class S, backend B>
[[nodiscard]] auto log(const var<T, S, B>& x) {
    return map(x, fn::log{});
}
template <element T, class S, backend B>
[[nodiscard]] auto sqrt(const var<T, S, B>& x) {
    return map(x, fn::sqrt{});
}
template <element T, class S, backend B>
[[nodiscard]] auto rsqrt(const var<T, S, B>& x) {
    return map(x, fn::rsqrt{});
}
template <element T, class S, backend B>
[[nodiscard]] auto reciprocal(const var<T, S, B>& x) {
    return map(x, fn::reciprocal{});
}
template <element T, class S, backend B>
[[nodiscard]] auto abs(const var<T, S, B>& x) {
    return map(x, fn::abs{});
}
template <element T, class S, backend B>
[[nodiscard]] auto square(const var<T, S, B>& x) {
    return map(x, fn::square{});
}
template <element T, class S, backend B>
[[nodiscard]] auto pow(const var<T, S, B>& x, double p) {
    return map(x, fn::pow{p});
}
template <element T, class S, backend B>
[[nodiscard]] auto clamp(const var<T, S, B>& x, double lo, double hi) {
    TINYMIM_CHECK(lo <= hi, "clamp: lower bound ", lo, " above upper bound ", hi);
    return map(x, fn::clamp{lo, hi});
}
template <element T, class S, backend B>
[[nodiscard]] auto tanh(const var<T, S, B>& x) {
    return map(x, fn::tanh{});
}
template <element T, class S, backend B>
[[nodiscard]] auto sigmoid(const var<T, S, B>& x) {
    return map(x, fn::sigmoid{});
}
template <element T, class S, backend B>
[[nodiscard]] auto relu(const var<T, S, B>& x) {
    return map(x, fn::relu{});
}

// a / b, broadcast by NumPy's rule as in mul, computed as a * reciprocal(b).
template <element T, class SA, class SB, backend B>
[[nodiscard]] auto div(const var<T, SA, B>& a, const var<T, SB, B>& b) {
    static_assert(broadcastable_with<SA, SB>,
                  "div: the shapes do not broadcast: from the right, each pair of "
                  "static extents must be equal or one of them 1");
    (void)detail::broadcast_extents<SA, SB>("div", a.shape(), b.shape());
    return mul(a, reciprocal(b));
}

}  // namespace tinymim::ops
