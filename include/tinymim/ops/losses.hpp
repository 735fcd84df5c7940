// Losses, each a scalar var: cross-entropy with label smoothing, KL(teacher || student) from student
// logits, MSE, smooth-L1 (beta), cosine.
#pragma once

#include <cstddef>
#include <cstdint>

#include "tinymim/autograd/var.hpp"
#include "tinymim/backend/kernels.hpp"

namespace tinymim::ops {

using scalar_shape = shape<>;

// Cross-entropy of logits [..., C] against int32 labels (one per row), averaged over rows;
// label smoothing eps mixes eps/C of the uniform distribution into the one-hot target.
template <element T, class S, class SL, backend B>
[[nodiscard]] auto cross_entropy(const var<T, S, B>& logits, const tensor<std::int32_t, SL, B>& labels,
                                 T smoothing = T(0)) {
    const std::size_t c = logits.extent(S::rank - 1), rows = logits.size() / c;
    TINYMIM_CHECK(labels.size() == rows, "cross_entropy: logits ", logits.shape().str(), " have ", rows,
                  " rows, labels ", labels.shape().str(), " hold ", labels.size());
    TINYMIM_CHECK(smoothing >= T(0) && smoothing < T(1), "cross_entropy: label smoothing ", smoothing,
                  " outside [0, 1)");
    if constexpr (B::host_memory) {  // labels checked where the host can read them
        for (std::size_t r = 0; r < rows; ++r)
            TINYMIM_CHECK(labels[r] >= 0 && std::size_t(labels[r]) < c, "cross_entropy: label ", labels[r], " of row ",
                          r, " is outside [0, ", c, ")");
    }
    auto& tp = logits.get_tape();
    T* logp = tp.template scratch<T>(logits.size());
    auto y = make_output<T>(tp, extents<scalar_shape>{}, logits.requires_grad());
    const std::int32_t* lab = labels.data();
    backends::cross_entropy_forward(B{}, rows, c, smoothing, logits.data(), lab, logp, y.data());
    if (y.requires_grad()) {
        auto *sx = logits.get_slot(), *sy = y.get_slot();
        tp.record(sy, [=](tape<B>& t) {
            backends::cross_entropy_backward(B{}, rows, c, smoothing, static_cast<const T*>(logp), lab,
                                             static_cast<const T*>(sy->grad()), t.grad(sx));
        });
    }
    return y;
}

// KL(teacher || student) = mean over rows of sum_j t (log t - log softmax(z / temperature)),
// from teacher probabilities t and student logits z of one shape. Rows are the last axis.
template <element T, class S1, class S2, backend B>
[[nodiscard]] auto kl_divergence(const var<T, S1, B>& teacher_probs, const var<T, S2, B>& student_logits,
                                 T temperature = T(1)) {
    static_assert(shapes_compatible<S1, S2>(), "kl_divergence: teacher and student must have one shape");
    TINYMIM_CHECK(teacher_probs.shape().all() == student_logits.shape().all(), "kl_divergence: teacher ",
                  teacher_probs.shape().str(), " and student ", student_logits.shape().str(), " differ");
    TINYMIM_CHECK(temperature > T(0), "kl_divergence: temperature ", temperature, " must be positive");
    const std::size_t n = student_logits.extent(S2::rank - 1), rows = student_logits.size() / n;
    auto& tp = student_logits.get_tape();
    T* logs = tp.template scratch<T>(student_logits.size());
    const T alpha = T(1) / temperature;
    auto y =
        make_output<T>(tp, extents<scalar_shape>{}, teacher_probs.requires_grad() || student_logits.requires_grad());
    backends::kl_forward(B{}, rows, n, alpha, teacher_probs.data(), student_logits.data(), logs, y.data());
    if (y.requires_grad()) {
        auto *st = teacher_probs.get_slot(), *sz = student_logits.get_slot(), *sy = y.get_slot();
        tp.record(sy, [=](tape<B>& t) {
            backends::kl_backward(B{}, rows, n, alpha, static_cast<const T*>(st->value), static_cast<const T*>(logs),
                                  static_cast<const T*>(sy->grad()), sz->requires_grad ? t.grad(sz) : nullptr,
                                  st->requires_grad ? t.grad(st) : nullptr);
        });
    }
    return y;
}

namespace detail {
template <element T, class S1, class S2, backend B>
auto pointwise(backends::pointwise_loss kind, const char* name, const var<T, S1, B>& a, const var<T, S2, B>& b,
               T beta) {
    TINYMIM_CHECK(a.shape().all() == b.shape().all(), name, ": shapes differ: ", a.shape().str(), " and ",
                  b.shape().str());
    const std::size_t n = a.size();
    auto y = make_output<T>(a.get_tape(), extents<scalar_shape>{}, a.requires_grad() || b.requires_grad());
    backends::pointwise_loss_forward(B{}, kind, n, beta, a.data(), b.data(), y.data());
    if (y.requires_grad()) {
        auto *sa = a.get_slot(), *sb = b.get_slot(), *sy = y.get_slot();
        a.get_tape().record(sy, [=](tape<B>& t) {
            backends::pointwise_loss_backward(B{}, kind, n, beta, static_cast<const T*>(sa->value),
                                              static_cast<const T*>(sb->value), static_cast<const T*>(sy->grad()),
                                              sa->requires_grad ? t.grad(sa) : nullptr,
                                              sb->requires_grad ? t.grad(sb) : nullptr);
        });
    }
    return y;
}
}  // namespace detail

// Mean squared error over all entries.
template <element T, class S1, class S2, backend B>
[[nodiscard]] auto mse(const var<T, S1, B>& a, const var<T, S2, B>& b) {
    static_assert(shapes_compatible<S1, S2>(), "mse: the two operands must have one shape");
    return detail::pointwise(backends::pointwise_loss::mse, "mse", a, b, T(0));
}

// Smooth-L1 (PyTorch's, with beta; the paper's feature loss uses beta = 2), mean over entries.
template <element T, class S1, class S2, backend B>
[[nodiscard]] auto smooth_l1(const var<T, S1, B>& a, const var<T, S2, B>& b, T beta = T(2)) {
    static_assert(shapes_compatible<S1, S2>(), "smooth_l1: the two operands must have one shape");
    TINYMIM_CHECK(beta > T(0), "smooth_l1: beta ", beta, " must be positive");
    return detail::pointwise(backends::pointwise_loss::smooth_l1, "smooth_l1", a, b, beta);
}

// Mean over rows (last axis) of 1 - cosine similarity; norms clamped below at eps (1e-8 as PyTorch).
template <element T, class S1, class S2, backend B>
[[nodiscard]] auto cosine(const var<T, S1, B>& a, const var<T, S2, B>& b, T eps = T(1e-8)) {
    static_assert(shapes_compatible<S1, S2>(), "cosine: the two operands must have one shape");
    TINYMIM_CHECK(a.shape().all() == b.shape().all(), "cosine: shapes differ: ", a.shape().str(), " and ",
                  b.shape().str());
    const std::size_t n = a.extent(S1::rank - 1), rows = a.size() / n;
    auto y = make_output<T>(a.get_tape(), extents<scalar_shape>{}, a.requires_grad() || b.requires_grad());
    backends::cosine_forward(B{}, rows, n, eps, a.data(), b.data(), y.data());
    if (y.requires_grad()) {
        auto *sa = a.get_slot(), *sb = b.get_slot(), *sy = y.get_slot();
        a.get_tape().record(sy, [=](tape<B>& t) {
            backends::cosine_backward(B{}, rows, n, eps, static_cast<const T*>(sa->value),
                                      static_cast<const T*>(sb->value), static_cast<const T*>(sy->grad()),
                                      sa->requires_grad ? t.grad(sa) : nullptr,
                                      sb->requires_grad ? t.grad(sb) : nullptr);
        });
    }
    return y;
}

}  // namespace tinymim::ops
