// A teacher of the user's own kind: a ViT with register tokens (register_teacher.hpp) distilled into a plain
// nn::vit student with TinyMIM's relations. It checks that the registers' placement changes no output, that the
// registers do change the model, the pairing's gradients in double, and trains a few steps in float.
#include "register_teacher.hpp"

#include <cmath>
#include <cstdio>
#include <memory>

#include <tinymim/distill/distiller.hpp>
#include <tinymim/testing/gradcheck.hpp>

#include "custom_policy.hpp"  // my::normal_images

namespace {
using namespace tinymim;
constexpr nn::vit_config teacher_cfg{.image = 28, .patch = 4, .channels = 1, .dim = 48, .depth = 3, .heads = 6};
constexpr nn::vit_config student_cfg{.image = 28, .patch = 4, .channels = 1, .dim = 24, .depth = 2, .heads = 3};
using teacher_t = my::register_vit<teacher_cfg, 4, cpu, double>;

// Largest |a - b| over tokens [0, count) of a and [from, from + count) of b ([batch, tokens, D] each).
template <class VA, class VB>
double token_gap(const VA& a, std::size_t a_from, const VB& b, std::size_t b_from, std::size_t count) {
    double gap = 0;
    const std::size_t d = a.extent(2);
    for (std::size_t s = 0; s < a.extent(0); ++s)
        for (std::size_t n = 0; n < count; ++n)
            for (std::size_t c = 0; c < d; ++c)
                gap = std::max(gap, std::abs(a.data()[(s * a.extent(1) + a_from + n) * d + c] -
                                             b.data()[(s * b.extent(1) + b_from + n) * d + c]));
    return gap;
}
}  // namespace

int main() {
    auto teacher = std::make_unique<teacher_t>();
    teacher->init(counter_rng(1));
    nn::init::normal(teacher->reg_token.value, 0.5, counter_rng(2));  // registers large enough to matter
    const auto img = my::normal_images<double, cpu>(2, 3);
    constexpr std::size_t R = teacher_t::registers, P = teacher_t::P;
    {
        no_grad ng;
        tape<cpu> t;
        auto x = teacher->prepend_cls(t, teacher->embed(t, input(t, img)));
        using S = decltype(x)::shape_type;
        nn::block_trace<double, S, cpu> trace;  // block 2's, over the class token and the patches
        const nn::trace_request<double, S, cpu> request{2, 0, &trace};
        auto ours = teacher->run_blocks(t, x, {}, std::span<const nn::trace_request<double, S, cpu>>(&request, 1));
        // timm's order: class token, registers, patches.
        auto timm_order = ops::concat_tokens(ops::concat_tokens(ops::narrow<1, 1>(x, 0), teacher->reg_token.on(t)),
                                             ops::narrow<1, P>(x, 1));
        auto reference = teacher->vit.run_blocks(t, timm_order, {});
        const double gap = std::max(token_gap(ours, 0, reference, 0, 1), token_gap(ours, 1, reference, 1 + R, P));
        nn::vit_run two;
        two.stop_block = 2;
        auto reference2 = teacher->vit.run_blocks(t, timm_order, two);
        const double trace_gap =
            std::max(token_gap(trace.out, 0, reference2, 0, 1), token_gap(trace.out, 1, reference2, 1 + R, P));
        double row = 0;  // attention of the class token to the kept tokens: below one, the registers took the rest
        for (std::size_t j = 0; j < 1 + P; ++j) row += trace.attn.data()[j];
        auto plain = teacher->vit.run_blocks(t, x, {});  // the same weights without registers
        const double effect = token_gap(ours, 0, plain, 0, 1 + P);
        std::printf(
            "registers appended vs after the class token: max gap %.2e (block 2's trace: %.2e); with vs "
            "without registers: %.2e; attention kept by the class token's row: %.4f\n",
            gap, trace_gap, effect, row);
        if (!(gap < 1e-12) || !(trace_gap < 1e-12) || !(effect > 1e-3) || !(row < 1 - 1e-6) || !(row > 0)) {
            std::printf("FAILED: appended registers must change nothing but must matter\n");
            return 1;
        }
    }
    {
        using Pd =
            distill::pairing<teacher_t, nn::vit<student_cfg, cpu, double>, distill::relations<distill::qk, distill::vv>,
                             distill::kl_divergence, distill::teacher_block<2>>;
        auto student = std::make_unique<nn::vit<student_cfg, cpu, double>>();
        student->init(counter_rng(4));
        distill::distiller<Pd> d(*teacher, *student, {.drop_path = 0});
        auto model = d.trainable();
        auto rep = testing::check_parameter_gradients(model, [&](tape<cpu>& t) { return d.loss(t, img, img).total; },
                                                      {.max_coordinates = 16});
        std::printf("gradient check, register teacher -> plain student: %s (%zu coordinates, max rel. error %.2e)\n",
                    rep.ok ? "ok" : "FAILED", rep.checked, rep.max_rel_error);
        if (!rep.ok) {
            std::printf("%s", rep.message.c_str());
            return 1;
        }
        if (teacher->blocks_run() == 0) return 1;
    }
    // A few float steps.
    using Pf = distill::pairing<my::register_vit<teacher_cfg, 4>, nn::vit<student_cfg>,
                                distill::relations<distill::qk, distill::vv>, distill::kl_divergence,
                                distill::teacher_block<2>>;
    auto tf = std::make_unique<my::register_vit<teacher_cfg, 4>>();
    auto sf = std::make_unique<nn::vit<student_cfg>>();
    tf->init(counter_rng(5));
    nn::init::normal(tf->reg_token.value, 0.5, counter_rng(6));
    sf->init(counter_rng(7));
    distill::distiller<Pf> d(*tf, *sf);
    const auto imgf = my::normal_images<float, cpu>(8, 8);
    double first = 0, last = 0;
    for (int s = 0; s < 30; ++s) {
        const auto res = d.step(imgf, 2e-3);
        if (s == 0) first = res.total;
        last = res.total;
    }
    std::printf("register teacher -> student, TinyMIM QK + VV: loss %.6f -> %.6f in 30 steps\n", first, last);
    return last < first ? 0 : 1;
}
