// DMAE (distill/dmae.hpp): the loss and the student's gradients against PyTorch
// (tests/reference/make_dmae_fixtures.py; values <= 1e-5, gradients <= 1e-4), the gradient check in double,
// training in float with a teacher that stops at block k, and the errors of bad options.
#include "common.hpp"

#include <string>

#include "../support/fixture.hpp"
#include "../support/golden_configs.hpp"
#include "tinymim/distill/dmae.hpp"
#include "tinymim/io/weights.hpp"

using namespace dt;

namespace {
constexpr nn::vit_config golden_student_enc{.image = 28, .patch = 4, .channels = 1, .dim = 24, .depth = 2, .heads = 3};
constexpr nn::mae_decoder_config golden_dec{.dim = 32, .depth = 1, .heads = 4};

// Small models for the gradient check and training: 8 x 8 images, 4 patches.
constexpr nn::vit_config small_enc{.image = 8, .patch = 4, .channels = 1, .dim = 12, .depth = 2, .heads = 3};
constexpr nn::mae_decoder_config small_dec{.dim = 8, .depth = 1, .heads = 2};
template <class T>
using small_dmae = d::dmae<teacher_t<T>, nn::mae<small_enc, small_dec, cpu, T>>;
}  // namespace

BOOST_AUTO_TEST_SUITE(dmae)

BOOST_AUTO_TEST_CASE(loss_and_gradients_match_pytorch) {
    auto& f = tt::fixture("dmae.safetensors");
    using teacher_type = nn::vit<tt::distill_teacher_cfg>;
    using student_type = nn::mae<golden_student_enc, golden_dec>;
    auto teacher = std::make_unique<teacher_type>();
    auto student = std::make_unique<student_type>();
    const auto rt = io::load_weights(*teacher, f.path(), io::load_options::non_strict("teacher."));
    const auto rs = io::load_weights(*student, f.path(), io::load_options::non_strict("student."));
    BOOST_TEST((rt.missing.empty() && rs.missing.empty()), rt.summary() << "\n" << rs.summary());
    d::dmae<teacher_type, student_type> dm(*teacher, *student, {.teacher_block = 2, .alpha = 1.0});
    const auto rp = io::load_weights(dm, f.path(), io::load_options::non_strict());
    BOOST_TEST(rp.missing.empty(), rp.summary());
    auto images = tt::load<shape<dyn, 1, 28, 28>>(f, "images");
    const auto mask = nn::mae_mask<>::from_noise(f.read<double>("noise"), 3, 49, 0.75);
    tape<cpu> t;
    t.set_poison(true);
    auto l = dm.loss(t, images, mask, false);
    tt::check_close(f, "mae.loss", l.mae.data(), 1, 1e-5);
    tt::check_close(f, "feature.loss", l.feature.data(), 1, 1e-5);
    tt::check_close(f, "total.loss", l.total.data(), 1, 1e-5);
    l.total.backward();
    std::size_t compared = 0;
    dm.visit_trainable([&](nn::param_ref<float>& r) {
        if (!r.trainable()) return;
        const std::string key = "grad." + r.name;
        if (f.find(key) == nullptr) {
            BOOST_TEST(!*r.has_grad, r.name << " got a gradient PyTorch did not");
            return;
        }
        BOOST_TEST_CONTEXT(key) { tt::check_close(f, key, r.grad, r.size, 1e-4); }
        ++compared;
    });
    BOOST_TEST(compared > 20u);
    teacher->visit([&](nn::param_ref<float>& r) {
        if (r.trainable()) BOOST_TEST(!*r.has_grad, r.name);
    });
}

BOOST_AUTO_TEST_CASE(gradient_check_in_double) {
    auto teacher = std::make_unique<teacher_t<double>>();
    auto student = std::make_unique<nn::mae<small_enc, small_dec, cpu, double>>();
    teacher->init(counter_rng(1));
    student->init(counter_rng(2));
    small_dmae<double> dm(*teacher, *student, {.teacher_block = 2, .alpha = 0.7, .mask_ratio = 0.5});
    const auto img = images<double>(3, 2);
    const auto mask = nn::mae_mask<cpu, double>::random(2, 4, 0.5, counter_rng(9));
    auto m = dm.trainable();
    auto rep = testing::check_parameter_gradients(m, [&](tape<cpu>& t) { return dm.loss(t, img, mask).total; },
                                                  {.max_coordinates = 24});
    BOOST_TEST(rep.ok, rep.message);
    BOOST_TEST(rep.checked > 100u);
}

BOOST_AUTO_TEST_CASE(trains_and_the_teacher_stops_at_block_k) {
    auto teacher = std::make_unique<teacher_t<float>>();
    auto student = std::make_unique<nn::mae<small_enc, small_dec>>();
    teacher->init(counter_rng(3));
    student->init(counter_rng(4));
    small_dmae<float> dm(*teacher, *student, {.teacher_block = 2, .mask_ratio = 0.5, .seed = 5});
    const auto img = images<float>(6, 16);
    double first = 0, last = 0, first_feature = 0, last_feature = 0;
    constexpr std::size_t steps = 60;
    for (std::size_t s = 0; s < steps; ++s) {
        const auto r = dm.step(img, 3e-3);
        BOOST_TEST(std::abs(r.total - (r.mae + r.feature)) < 1e-4 * std::max(1.0, r.total));
        if (s < 5) first += r.total / 5, first_feature += r.feature / 5;
        if (s >= steps - 5) last += r.total / 5, last_feature += r.feature / 5;
    }
    BOOST_TEST(last < first);
    BOOST_TEST(last_feature < first_feature);
    BOOST_TEST(teacher->blocks_run() == steps * 2);  // blocks 1 and 2 of 3, each step
    BOOST_TEST(dm.steps() == steps);
}

BOOST_AUTO_TEST_CASE(bad_options_are_refused) {
    auto teacher = std::make_unique<teacher_t<float>>();
    auto student = std::make_unique<nn::mae<small_enc, small_dec>>();
    auto expect = [&](d::dmae_options o, const char* words) {
        try {
            small_dmae<float> dm(*teacher, *student, o);
            BOOST_FAIL("expected a tinymim::error");
        } catch (const tinymim::error& e) {
            BOOST_TEST(std::string(e.what()).find(words) != std::string::npos, e.what());
        }
    };
    expect({.teacher_block = 4}, "teacher block 4 is past the teacher's last block (3)");
    expect({.alpha = -1}, "alpha -1");
}

BOOST_AUTO_TEST_SUITE_END()
