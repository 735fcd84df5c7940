// The distiller: teacher untouched and stopped at its tap, zero loss for identical relations, a short
// run in which the loss falls, sequential chains.
#include "common.hpp"

using namespace dt;

BOOST_AUTO_TEST_SUITE(distiller)

BOOST_AUTO_TEST_CASE(teacher_stops_at_its_tap_and_gets_no_gradient) {
    using P = d::pairing<teacher_t<float>, student_t<float>, d::relations<d::qk, d::vv>, d::kl_divergence,
                         d::teacher_block<2>, d::student_block<2>>;
    static_assert(P::qkv_only && P::has_relation && P::relation_heads == 6);
    auto teacher = std::make_unique<teacher_t<float>>();
    auto student = std::make_unique<student_t<float>>();
    d::distiller<P> dist(*teacher, *student);
    auto img = images<float>(4);
    const std::size_t tb = teacher->blocks_run(), sb = student->blocks_run();
    const auto teacher_w = teacher->blocks[0].attn.qkv.weight.value.to_vector();
    const auto student_proj = student->blocks[1].attn.proj.weight.value.to_vector();
    for (int i = 0; i < 3; ++i) (void)dist.step(img, 1e-3);
    BOOST_TEST(teacher->blocks_run() - tb == 3u * 2u);  // blocks 1 and 2 (LN1 + qkv), never block 3
    BOOST_TEST(student->blocks_run() - sb == 3u * 2u);
    BOOST_TEST(teacher->blocks[0].attn.qkv.weight.value.to_vector() == teacher_w);
    teacher->visit([&](nn::param_ref<float>& r) {
        if (r.trainable()) BOOST_TEST(!*r.has_grad, r.name);
    });
    // The student's tapped block uses only norm1 and qkv: its proj, norm2, MLP and the final norm are untouched.
    BOOST_TEST(student->blocks[1].attn.proj.weight.value.to_vector() == student_proj);
    BOOST_TEST(student->blocks[1].attn.qkv.weight.value.to_vector() != std::vector<float>(12 * 36, 0.0f));
}

BOOST_AUTO_TEST_CASE(loss_is_zero_when_relations_are_equal) {
    // A model distilled into an identical copy of itself: equal relations, zero KL.
    using P = d::pairing<student_t<double>, student_t<double>, d::relations<d::qk, d::vv>, d::kl_divergence>;
    auto a = std::make_unique<student_t<double>>();
    auto b = std::make_unique<student_t<double>>();
    a->init(counter_rng(9));
    b->init(counter_rng(9));
    d::distiller<P> dist(*a, *b, {.drop_path = 0});
    auto img = images<double>(5);
    const auto r = dist.evaluate(img, img);
    BOOST_TEST(std::abs(r.total) < 1e-12);
    b->init(counter_rng(10));
    BOOST_TEST(dist.evaluate(img, img).total > 1e-3);
}

BOOST_AUTO_TEST_CASE(a_short_distillation_run_lowers_the_loss) {
    // Fashion-MNIST shaped (28 x 28 x 1, patch 4, 50 tokens), narrower than fm-small / fm-tiny to stay quick.
    constexpr nn::vit_config t_cfg{.image = 28, .patch = 4, .channels = 1, .dim = 48, .depth = 4, .heads = 6};
    constexpr nn::vit_config s_cfg{.image = 28, .patch = 4, .channels = 1, .dim = 24, .depth = 3, .heads = 3};
    using P = d::pairing<nn::vit<t_cfg>, nn::vit<s_cfg>, d::relations<d::qk, d::vv>, d::kl_divergence,
                         d::teacher_block<3>, d::last_block>;
    auto teacher = std::make_unique<nn::vit<t_cfg>>();
    auto student = std::make_unique<nn::vit<s_cfg>>();
    teacher->init(counter_rng(21));
    student->init(counter_rng(22));
    d::distiller<P> dist(*teacher, *student, {.drop_path = 0.1, .seed = 3});
    // A fixed pool of 4 random batches, cycled: the student can fit the teacher's relations on them.
    std::vector<tensor<float, shape<dyn, 1, 28, 28>>> pool;
    for (int i = 0; i < 4; ++i) pool.push_back(tt::randn<shape<dyn, 1, 28, 28>, float>(100 + i, 16, 1, 28, 28));
    double first = 0, last = 0;
    const int steps = 300;
    for (int s = 0; s < steps; ++s) {
        auto r = dist.step(pool[s % 4], 1e-3);
        if (s < 4) first += r.total / 4;
        if (s >= steps - 4) last += r.total / 4;
    }
    BOOST_TEST_MESSAGE("relation loss: first 4 steps " << first << ", last 4 steps " << last);
    BOOST_TEST(last < 0.5 * first);
}

BOOST_AUTO_TEST_CASE(sequential_chain_runs_every_stage) {
    constexpr nn::vit_config mid_cfg{.image = 8, .patch = 4, .channels = 1, .dim = 36, .depth = 2, .heads = 6};
    using mid_t = nn::vit<mid_cfg>;
    using P1 = d::pairing<teacher_t<float>, mid_t, d::relations<d::qk, d::vv>, d::kl_divergence>;
    using P2 = d::pairing<mid_t, student_t<float>, d::relations<d::qk, d::vv>, d::kl_divergence>;
    auto a = std::make_unique<teacher_t<float>>();
    auto b = std::make_unique<mid_t>();
    auto c = std::make_unique<student_t<float>>();
    auto img = images<float>(6);
    const auto c_before = c->blocks[0].attn.qkv.weight.value.to_vector();
    std::array<std::size_t, 2> seen{};
    auto last = d::chain<P1, P2>::run(
        std::tie(*a, *b, *c), {d::stage_options{.steps = 3}, d::stage_options{.steps = 2}},
        [&](std::size_t, std::size_t) { return std::pair<const decltype(img)&, const decltype(img)&>(img, img); },
        [&](std::size_t stage, std::size_t, double) { ++seen[stage]; });
    BOOST_TEST(seen[0] == 3u);
    BOOST_TEST(seen[1] == 2u);
    BOOST_TEST(last[1] > 0.0);
    BOOST_TEST(c->blocks[0].attn.qkv.weight.value.to_vector() != c_before);
}

BOOST_AUTO_TEST_SUITE_END()
