// Shared setup of the distillation tests: small teacher/student configurations and a gradient check
// of a whole pairing (student and projection parameters; the teacher must get no gradient).
#pragma once

#include "../support/common.hpp"

#include "tinymim/distill/chain.hpp"
#include "tinymim/distill/distiller.hpp"

namespace dt {
using namespace tinymim;
namespace d = tinymim::distill;
// Fashion-MNIST shaped but small: teacher 6 heads, student 3 heads (the golden-test setting).
constexpr nn::vit_config teacher_cfg{.image = 8, .patch = 4, .channels = 1, .dim = 24, .depth = 3, .heads = 6};
constexpr nn::vit_config student_cfg{.image = 8, .patch = 4, .channels = 1, .dim = 12, .depth = 2, .heads = 3};
template <class T>
using teacher_t = nn::vit<teacher_cfg, cpu, T>;
template <class T>
using student_t = nn::vit<student_cfg, cpu, T>;

template <class T>
tensor<T, shape<dyn, 1, 8, 8>> images(std::uint64_t seed, std::size_t batch = 3) {
    return tt::randn<shape<dyn, 1, 8, 8>, T>(seed, batch, 1, 8, 8);
}

template <class P>
inline void gradcheck_pairing() {
    using T = double;
    auto teacher = std::make_unique<typename P::teacher_type>();
    auto student = std::make_unique<typename P::student_type>();
    teacher->init(counter_rng(1));
    student->init(counter_rng(2));
    d::distiller<P> dist(*teacher, *student, {.drop_path = 0});
    auto img = images<T>(3, 2);
    auto m = dist.trainable();
    auto rep = testing::check_parameter_gradients(m, [&](tape<cpu>& t) { return dist.loss(t, img, img).total; },
                                                  {.max_coordinates = 24});
    BOOST_TEST(rep.ok, d::distiller<P>::term_names()[0] << ": " << rep.message);
    BOOST_TEST(rep.checked > 100u);
    // The teacher never gets a gradient.
    teacher->visit([&](nn::param_ref<T>& r) {
        if (r.trainable()) BOOST_TEST(!*r.has_grad, r.name);
    });
}
}  // namespace dt
