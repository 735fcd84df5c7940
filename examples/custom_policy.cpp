// A researcher's own distillation policy, written only against tinymim's public API:
//  - a target: Q-Q token relations with a temperature (logits q qᵀ / (sqrt(d) · tau));
//  - a loss: the Jensen-Shannon divergence between teacher and student distributions.
// Both are checked against their concepts, gradient-checked in double, then trained for a few steps.
#include <cmath>
#include <cstdio>
#include <memory>

#include <tinymim/tinymim.hpp>

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

int main() {
    using namespace tinymim;
    constexpr nn::vit_config teacher_cfg{.image = 28, .patch = 4, .channels = 1, .dim = 48, .depth = 3, .heads = 6};
    constexpr nn::vit_config student_cfg{.image = 28, .patch = 4, .channels = 1, .dim = 24, .depth = 2, .heads = 3};

    // 1. Gradient check of the new policy in double (student and nothing else is trained).
    {
        using P = distill::pairing<nn::vit<teacher_cfg, cpu, double>, nn::vit<student_cfg, cpu, double>,
                                   my::qq_tempered, my::jensen_shannon, distill::teacher_block<2>>;
        auto teacher = std::make_unique<nn::vit<teacher_cfg, cpu, double>>();
        auto student = std::make_unique<nn::vit<student_cfg, cpu, double>>();
        teacher->init(counter_rng(1));
        student->init(counter_rng(2));
        distill::distiller<P> d(*teacher, *student, {.drop_path = 0});
        tensor<double, shape<dyn, 1, 28, 28>> img({2, 1, 28, 28});
        counter_rng r(3);
        for (std::size_t i = 0; i < img.size(); ++i) img[i] = r.normal(i);
        auto model = d.trainable();
        auto rep = testing::check_parameter_gradients(model, [&](tape<cpu>& t) { return d.loss(t, img, img).total; },
                                                      {.max_coordinates = 16});
        std::printf("gradient check of qq_tempered x jensen_shannon: %s (%zu coordinates, max rel. error %.2e)\n",
                    rep.ok ? "ok" : "FAILED", rep.checked, rep.max_rel_error);
        if (!rep.ok) {
            std::printf("%s", rep.message.c_str());
            return 1;
        }
    }

    // 2. A few training steps in float.
    using P = distill::pairing<nn::vit<teacher_cfg>, nn::vit<student_cfg>, my::qq_tempered, my::jensen_shannon,
                               distill::teacher_block<2>>;
    auto teacher = std::make_unique<nn::vit<teacher_cfg>>();
    auto student = std::make_unique<nn::vit<student_cfg>>();
    teacher->init(counter_rng(4));
    student->init(counter_rng(5));
    distill::distiller<P> d(*teacher, *student);
    tensor<float, shape<dyn, 1, 28, 28>> img({8, 1, 28, 28});
    counter_rng r(6);
    for (std::size_t i = 0; i < img.size(); ++i) img[i] = float(r.normal(i));
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
