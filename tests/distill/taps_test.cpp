// Per-term taps and relation heads: a TinyMIM pairing over two layer pairs (gradient check, training, the
// teacher stopping at its deepest tap), MiniLMv2's relation heads between unequal head counts, and
// resplit's identity when R equals both head counts.
#include "common.hpp"

using namespace dt;

namespace {
// Deeper than common.hpp's models, so that two layer pairs leave blocks after them.
constexpr nn::vit_config deep_teacher{.image = 8, .patch = 4, .channels = 1, .dim = 24, .depth = 5, .heads = 6};
constexpr nn::vit_config deep_student{.image = 8, .patch = 4, .channels = 1, .dim = 12, .depth = 4, .heads = 3};
template <class T>
using deep_teacher_t = nn::vit<deep_teacher, cpu, T>;
template <class T>
using deep_student_t = nn::vit<deep_student, cpu, T>;

// Relations at student block 3 <- teacher block 4, and last <- last.
template <class T>
using two_layer_pairs = d::pairing<deep_teacher_t<T>, deep_student_t<T>,
                                   d::terms<d::term<d::qk, d::kl_divergence, d::teacher_block<4>, d::student_block<3>>,
                                            d::term<d::vv, d::kl_divergence, d::teacher_block<4>, d::student_block<3>>,
                                            d::term<d::qk, d::kl_divergence>, d::term<d::vv, d::kl_divergence>>,
                                   d::per_term>;

// MiniLMv2: a 6-head teacher of width 48, a 5-head student of width 20, R = 4 relation heads.
constexpr nn::vit_config minilm_teacher{.image = 8, .patch = 4, .channels = 1, .dim = 48, .depth = 2, .heads = 6};
constexpr nn::vit_config minilm_student{.image = 8, .patch = 4, .channels = 1, .dim = 20, .depth = 2, .heads = 5};
template <class T>
using minilm = d::pairing<nn::vit<minilm_teacher, cpu, T>, nn::vit<minilm_student, cpu, T>,
                          d::relation_heads<4, d::qq, d::kk, d::vv>, d::kl_divergence>;

// A few float steps on a fixed pool of batches; true when the mean loss of the last 5 steps is below the first 5.
template <class P>
bool trains(std::size_t steps) {
    auto teacher = std::make_unique<typename P::teacher_type>();
    auto student = std::make_unique<typename P::student_type>();
    teacher->init(counter_rng(31));
    student->init(counter_rng(32));
    d::distiller<P> dist(*teacher, *student, {.drop_path = 0, .seed = 4});
    std::vector<tensor<float, shape<dyn, 1, 8, 8>>> pool;
    for (int i = 0; i < 2; ++i) pool.push_back(images<float>(200 + i, 8));
    double first = 0, last = 0;
    for (std::size_t s = 0; s < steps; ++s) {
        const double l = dist.step(pool[s % pool.size()], 3e-3).total;
        if (s < 5) first += l;
        if (s + 5 >= steps) last += l;
    }
    BOOST_TEST_MESSAGE("first 5 steps " << first / 5 << ", last 5 " << last / 5);
    return last < first;
}
}  // namespace

BOOST_AUTO_TEST_SUITE(taps)

BOOST_AUTO_TEST_CASE(two_layer_pairs_plan_their_blocks) {
    using P = two_layer_pairs<float>;
    static_assert(P::term_teacher_block == std::array<std::size_t, 4>{4, 4, 5, 5});
    static_assert(P::term_student_block == std::array<std::size_t, 4>{3, 3, 4, 4});
    // Both tapped student blocks run with the teacher's 6 heads (the adaptive block).
    static_assert(P::term_student_heads == std::array<std::size_t, 4>{6, 6, 6, 6});
    BOOST_TEST(d::distiller<P>::term_names()[0] == "qk/kl");
}

BOOST_AUTO_TEST_CASE(two_layer_pairs_gradient_check) { gradcheck_pairing<two_layer_pairs<double>>(); }

BOOST_AUTO_TEST_CASE(two_layer_pairs_train) { BOOST_TEST(trains<two_layer_pairs<float>>(40)); }

BOOST_AUTO_TEST_CASE(a_run_time_layer_map_is_the_same_as_per_term_taps) {
    // distill_options::layers {4:3, 5:4} over relations<qk, vv> is two_layer_pairs with each term summed over pairs.
    using mapped = d::pairing<deep_teacher_t<double>, deep_student_t<double>, d::relations<d::qk, d::vv>,
                              d::kl_divergence>;
    auto teacher = std::make_unique<deep_teacher_t<double>>();
    auto student = std::make_unique<deep_student_t<double>>();
    teacher->init(counter_rng(51));
    student->init(counter_rng(52));
    auto img = images<double>(7);
    d::distiller<two_layer_pairs<double>> typed(*teacher, *student, {.drop_path = 0});
    d::distiller<mapped> run_time(*teacher, *student, {.drop_path = 0, .layers = {{4, 3}, {5, 4}}});
    const auto a = typed.evaluate(img, img);
    const auto b = run_time.evaluate(img, img);
    BOOST_TEST(b.terms[0] == a.terms[0] + a.terms[2], boost::test_tools::tolerance(1e-12));
    BOOST_TEST(b.terms[1] == a.terms[1] + a.terms[3], boost::test_tools::tolerance(1e-12));
    BOOST_TEST(b.total == a.total, boost::test_tools::tolerance(1e-12));
    // Out of range, or beside a teacher block: refused, naming the pair.
    auto refused = [&](d::distill_options o, const char* words) {
        try {
            d::distiller<mapped> bad(*teacher, *student, std::move(o));
            BOOST_FAIL("the layer map must be refused");
        } catch (const tinymim::error& e) {
            BOOST_TEST(std::string(e.what()).find(words) != std::string::npos, e.what());
        }
    };
    refused({.layers = {{6, 3}}}, "the layer pair 6:3 is outside");
    refused({.teacher_block = 2, .layers = {{4, 3}}}, "either a teacher block or a layer map");
}

BOOST_AUTO_TEST_CASE(teacher_runs_to_its_deepest_tap) {
    // Teacher blocks 2 and 3 of 5: three blocks a step, the last only to its qkv (relations only there).
    using P = d::pairing<deep_teacher_t<float>, deep_student_t<float>,
                         d::terms<d::term<d::qk, d::kl_divergence, d::teacher_block<2>, d::student_block<2>>,
                                  d::term<d::block_output, d::mse, d::teacher_block<3>, d::student_block<3>>>,
                         d::per_term>;
    auto teacher = std::make_unique<deep_teacher_t<float>>();
    auto student = std::make_unique<deep_student_t<float>>();
    d::distiller<P> dist(*teacher, *student);
    auto img = images<float>(4);
    const std::size_t tb = teacher->blocks_run(), sb = student->blocks_run();
    const auto student_last = student->blocks[3].attn.qkv.weight.value.to_vector();
    for (int i = 0; i < 2; ++i) (void)dist.step(img, 1e-3);
    BOOST_TEST(teacher->blocks_run() - tb == 2u * 3u);
    BOOST_TEST(student->blocks_run() - sb == 2u * 3u);  // never its block 4
    BOOST_TEST(student->blocks[3].attn.qkv.weight.value.to_vector() == student_last);
    teacher->visit([&](nn::param_ref<float>& r) {
        if (r.trainable()) BOOST_TEST(!*r.has_grad, r.name);
    });
}

BOOST_AUTO_TEST_CASE(minilm_relation_heads_between_unequal_head_counts) {
    using P = minilm<double>;
    static_assert(P::term_student_heads == std::array<std::size_t, 3>{0, 0, 0});  // the student's own 5 heads
    static_assert(d::whole_relation_loss<d::kl_divergence, d::resplit<4, d::qq>>);
    BOOST_TEST(d::distiller<P>::term_names()[0] == "qq_r4/kl");
    BOOST_TEST(d::distiller<P>::term_names()[2] == "vv_r4/kl");
    gradcheck_pairing<P>();
    BOOST_TEST(trains<minilm<float>>(40));
}

BOOST_AUTO_TEST_CASE(resplit_into_the_models_own_heads_is_the_plain_relation) {
    // Teacher and student both with 3 heads: resplit<3, qk> must equal qk exactly; resplit<2, qk> must not.
    using plain = d::pairing<student_t<double>, student_t<double>, d::qk, d::kl_divergence>;
    using same = d::pairing<student_t<double>, student_t<double>, d::resplit<3, d::qk>, d::kl_divergence>;
    using other = d::pairing<student_t<double>, student_t<double>, d::resplit<2, d::qk>, d::kl_divergence>;
    auto a = std::make_unique<student_t<double>>();
    auto b = std::make_unique<student_t<double>>();
    a->init(counter_rng(41));
    b->init(counter_rng(42));
    auto img = images<double>(6);
    d::distiller<plain> dp(*a, *b, {.drop_path = 0});
    d::distiller<same> ds(*a, *b, {.drop_path = 0});
    d::distiller<other> d2(*a, *b, {.drop_path = 0});
    const double lp = dp.evaluate(img, img).total, ls = ds.evaluate(img, img).total, l2 = d2.evaluate(img, img).total;
    BOOST_TEST(lp > 1e-4);
    BOOST_TEST(ls == lp, boost::test_tools::tolerance(1e-12));
    BOOST_TEST(std::abs(l2 - lp) > 1e-6);
}

BOOST_AUTO_TEST_SUITE_END()
