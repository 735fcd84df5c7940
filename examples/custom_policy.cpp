// A researcher's own distillation policy (custom_policy.hpp): checked against its concepts, gradient-checked
// in double, then trained for a few steps on the CPU.
#include "custom_policy.hpp"

#include <tinymim/testing/gradcheck.hpp>

int main() {
    using namespace tinymim;
    // 1. Gradient check of the new policy in double (student and nothing else is trained).
    {
        using P = distill::pairing<nn::vit<my::teacher_cfg, cpu, double>, nn::vit<my::student_cfg, cpu, double>,
                                   my::qq_tempered, my::jensen_shannon, distill::teacher_block<2>>;
        auto teacher = std::make_unique<nn::vit<my::teacher_cfg, cpu, double>>();
        auto student = std::make_unique<nn::vit<my::student_cfg, cpu, double>>();
        teacher->init(counter_rng(1));
        student->init(counter_rng(2));
        distill::distiller<P> d(*teacher, *student, {.drop_path = 0});
        const auto img = my::normal_images<double, cpu>(2, 3);
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
    return my::train_custom_policy<cpu>();
}
