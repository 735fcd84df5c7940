// A researcher's own distillation policy, written only against tinymim's public API, for every backend:
//  - a target: Q-Q token relations with a temperature (logits q qᵀ / (sqrt(d) · tau));
//  - a loss: the Jensen-Shannon divergence between teacher and student distributions.
// custom_policy.cpp gradient-checks it in double and trains it on the CPU; custom_policy_cuda.cu trains the
// same code on the GPU. Neither policy has a loop: every value is an op with its gradient on each backend.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <memory>
#include <vector>

#include <tinymim/core/random.hpp>
#include <tinymim/distill/distiller.hpp>
#include <tinymim/nn/vit.hpp>
#include <tinymim/ops/elementwise.hpp>
#include <tinymim/ops/matmul.hpp>
#include <tinymim/ops/reduce.hpp>
#include <tinymim/ops/softmax.hpp>
#include <tinymim/ops/unary.hpp>

namespace my {

using namespace tinymim;

// Q-Q relations with a temperature: a relation target (head counts must agree: the adaptive block
// applies), yielding the logits of a distribution over tokens.
struct qq_tempered {
    static constexpr distill::target_kind kind = distill::target_kind::relation;
    static constexpr bool qkv_only = true;      // LN1 + qkv of the tapped block suffice
    static constexpr bool distribution = true;  // the values are logits
    static constexpr const char* name = "qq_tempered";
    double tau = 2.0;

    template <class Trace>
    auto student(const Trace& tr) const {
        using T = typename decltype(tr.q)::value_type;
        const T scale = T(1) / (std::sqrt(T(tr.q.extent(3))) * T(tau));
        return ops::matmul<false, true>(tr.q, tr.q, scale);
    }
    template <class Trace>
    auto teacher(const Trace& tr) const {
        return student(tr);
    }
};

// JS(P || Q) = ½ KL(P || M) + ½ KL(Q || M), M = ½ (P + Q), from logits; averaged over rows.
// Written with ordinary differentiable ops (ops/unary.hpp for the log), so autograd provides the gradient and
// the same code runs on the GPU.
struct jensen_shannon {
    static constexpr bool needs_distribution = true;
    static constexpr const char* name = "js";

    template <class VS, class VT>
    auto operator()(const VS& student_logits, const VT& teacher_logits) const {
        using T = typename VS::value_type;
        auto p = ops::softmax(teacher_logits);
        auto q = ops::softmax(student_logits);
        auto m = ops::scale(ops::add(p, q), T(0.5));
        auto log_m = ops::log(m);  // ops/unary.hpp: runs on every backend
        // KL(X || M) = sum X (log X - log M); log X from log_softmax for stability.
        auto kl_p = ops::sum(ops::mul(p, ops::sub(ops::log_softmax(teacher_logits), log_m)));
        auto kl_q = ops::sum(ops::mul(q, ops::sub(ops::log_softmax(student_logits), log_m)));
        const std::size_t rows = student_logits.size() / student_logits.extent(VS::rank - 1);
        return ops::scale(ops::add(kl_p, kl_q), T(0.5 / double(rows)));
    }
};

static_assert(distill::target_policy<qq_tempered>, "qq_tempered must satisfy target_policy");
static_assert(distill::loss_policy<jensen_shannon>, "jensen_shannon must satisfy loss_policy");

}  // namespace my

namespace my {

inline constexpr tinymim::nn::vit_config teacher_cfg{
    .image = 28, .patch = 4, .channels = 1, .dim = 48, .depth = 3, .heads = 6};
inline constexpr tinymim::nn::vit_config student_cfg{
    .image = 28, .patch = 4, .channels = 1, .dim = 24, .depth = 2, .heads = 3};

// Standard-normal images [n, 1, 28, 28] on backend B.
template <class T, class B>
tinymim::tensor<T, tinymim::shape<tinymim::dyn, 1, 28, 28>, B> normal_images(std::size_t n, std::uint64_t seed) {
    tinymim::tensor<T, tinymim::shape<tinymim::dyn, 1, 28, 28>, B> img({n, 1, 28, 28});
    std::vector<T> host(img.size());
    const tinymim::counter_rng r(seed);
    std::uint64_t i = 0;
    std::generate(host.begin(), host.end(), [&] { return T(r.normal(i++)); });
    img.copy_from(host);
    return img;
}

// 30 distillation steps in float on backend B; 0 when the loss fell.
template <class B>
int train_custom_policy() {
    using namespace tinymim;
    using P = distill::pairing<nn::vit<teacher_cfg, B>, nn::vit<student_cfg, B>, qq_tempered, jensen_shannon,
                               distill::teacher_block<2>>;
    auto teacher = std::make_unique<nn::vit<teacher_cfg, B>>();
    auto student = std::make_unique<nn::vit<student_cfg, B>>();
    teacher->init(counter_rng(4));
    student->init(counter_rng(5));
    distill::distiller<P> d(*teacher, *student);
    const auto img = normal_images<float, B>(8, 6);
    double first = 0, last = 0;
    for (int s = 0; s < 30; ++s) {
        const auto res = d.step(img, 2e-3);
        if (s == 0) first = res.total;
        last = res.total;
        if (s % 10 == 0 || s == 29) std::printf("step %2d  JS(qq_tempered) %.6f\n", s, res.total);
    }
    std::printf("custom policy trained: JS %.6f -> %.6f\n", first, last);
    return last < first ? 0 : 1;
}

}  // namespace my
