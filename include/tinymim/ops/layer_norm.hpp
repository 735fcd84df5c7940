// layer_norm over the last axis: y = (x - mean) / sqrt(var + eps) [* gamma + beta].
#pragma once

#include <cstddef>

#include "tinymim/autograd/var.hpp"
#include "tinymim/backend/kernels.hpp"

namespace tinymim::ops {

namespace detail {
template <element T, class S, backend B>
auto layer_norm_impl(const var<T, S, B>& x, slot<T>* gamma, slot<T>* beta, T eps) {
    const std::size_t n = x.extent(S::rank - 1), rows = x.size() / n;
    const bool needs =
        x.requires_grad() || (gamma != nullptr && gamma->requires_grad) || (beta != nullptr && beta->requires_grad);
    auto y = make_output<T>(x.get_tape(), x.shape(), needs);
    auto& tp = x.get_tape();
    T* mean = tp.template scratch<T>(rows);
    T* rstd = tp.template scratch<T>(rows);
    backends::layer_norm_forward(B{}, rows, n, eps, x.data(), gamma ? static_cast<const T*>(gamma->value) : nullptr,
                                 beta ? static_cast<const T*>(beta->value) : nullptr, y.data(), mean, rstd);
    if (y.requires_grad()) {
        auto *sx = x.get_slot(), *sy = y.get_slot();
        tp.record(sy, [=](tape<B>& t) {
            T* dx = sx->requires_grad ? t.grad(sx) : nullptr;
            T* dg = gamma != nullptr && gamma->requires_grad ? t.grad(gamma) : nullptr;
            T* db = beta != nullptr && beta->requires_grad ? t.grad(beta) : nullptr;
            backends::layer_norm_backward(B{}, rows, n, static_cast<const T*>(sx->value),
                                          gamma ? static_cast<const T*>(gamma->value) : nullptr,
                                          static_cast<const T*>(mean), static_cast<const T*>(rstd),
                                          static_cast<const T*>(sy->grad()), dx, dg, db);
        });
    }
    return y;
}
}  // namespace detail

// Affine layer norm over the last axis (gamma, beta: [D]). MAE/timm use eps = 1e-6.
template <element T, class S, class SG, backend B>
[[nodiscard]] auto layer_norm(const var<T, S, B>& x, const var<T, SG, B>& gamma, const var<T, SG, B>& beta, T eps) {
    static_assert(SG::rank == 1 && extents_compatible(SG::static_extents[0], S::static_extents[S::rank - 1]),
                  "layer_norm: gamma and beta must be vectors as long as the input's last axis");
    TINYMIM_CHECK(gamma.extent(0) == x.extent(S::rank - 1) && beta.extent(0) == x.extent(S::rank - 1),
                  "layer_norm: gamma ", gamma.shape().str(), " / beta ", beta.shape().str(),
                  " do not match the input's last axis ", x.shape().str());
    return detail::layer_norm_impl(x, gamma.get_slot(), beta.get_slot(), eps);
}

// Layer norm without affine parameters (the teacher side of feature distillation).
template <element T, class S, backend B>
[[nodiscard]] auto layer_norm(const var<T, S, B>& x, T eps) {
    return detail::layer_norm_impl(x, static_cast<slot<T>*>(nullptr), static_cast<slot<T>*>(nullptr), eps);
}

}  // namespace tinymim::ops
