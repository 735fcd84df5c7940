// bf16_mixed against PyTorch's autocast (tests/reference/make_autocast_fixtures.py) on the weights and inputs
// of the float64 golden fixtures: a 2-block ViT's features, logits, loss and every gradient, and TinyMIM's
// relation loss with the student's gradients.
//
// The two compute the same products on the same bf16-rounded operands but round different intermediates
// (autocast also rounds each linear's output and the relation logits to bf16; bf16_mixed keeps them in
// float), so they are not expected to agree to float rounding. What is required, per quantity, in max-norm
// relative error: (1) bf16_mixed is as close to the float64 truth as autocast is, up to a factor 2 and 2^-8
// (one bf16 rounding); (2) bf16_mixed and autocast agree within twice the larger of their errors plus 2^-8;
// (3) bf16_mixed is measurably not float (error > 2^-14), so a path that skipped the rounding fails.
#include "../support/fixture.hpp"
#include "../support/golden_configs.hpp"

#include <cmath>

#include "tinymim/distill/distiller.hpp"
#include "tinymim/io/weights.hpp"
#include "tinymim/nn/vit.hpp"
#include "tinymim/ops/losses.hpp"

using namespace tinymim;
namespace d = tinymim::distill;

namespace {
const double one_rounding = std::ldexp(1.0, -8), float_like = std::ldexp(1.0, -14);

// The max-norm relative error of n values against the fixture tensor `name`.
template <class T>
double error_against(io::safetensors_reader& f, const std::string& name, const T* p, std::size_t n) {
    BOOST_REQUIRE_MESSAGE(p != nullptr, name << ": no values");
    const auto ref = f.read<double>(name);
    BOOST_REQUIRE_EQUAL(ref.size(), n);
    return testing::allclose(p, ref.data(), n, 0).max_rel_error;
}

// The three requirements above for one quantity: ours (n values at p), autocast's and the truth's names.
template <class T>
void same_class(const std::string& what, const T* p, std::size_t n, io::safetensors_reader& truth,
                const std::string& truth_name, io::safetensors_reader& ac, const std::string& ac_name) {
    const double ours = error_against(truth, truth_name, p, n);
    const auto ac_values = ac.read<double>(ac_name);
    const double theirs = error_against(truth, truth_name, ac_values.data(), ac_values.size());
    const double between = error_against(ac, ac_name, p, n);
    BOOST_TEST_MESSAGE(what << ": bf16_mixed " << ours << ", autocast " << theirs << " from float64; apart "
                            << between);
    BOOST_TEST(ours <= 2 * theirs + one_rounding, what << ": bf16_mixed " << ours << " vs autocast " << theirs);
    BOOST_TEST(between <= 2 * std::max(ours, theirs) + one_rounding, what << ": apart by " << between);
    BOOST_TEST(ours > float_like, what << ": " << ours << " from float64, as close as float: no bf16 ran");
}

}  // namespace

BOOST_AUTO_TEST_SUITE(autocast_bf16)

BOOST_AUTO_TEST_CASE(vit_forward_and_backward) {
    auto& truth = tt::fixture("vit_fm.safetensors");
    auto& ac = tt::fixture("autocast.safetensors");
    using model_t = nn::vit<tt::vit_fm_cfg, cpu, float, bf16_mixed>;
    auto model = std::make_unique<model_t>();
    (void)io::load_weights(*model, truth.path(), io::load_options::non_strict());
    auto images = tt::load<model_t::image_shape>(truth, "input.images");
    auto labels = tt::load<shape<dyn>, std::int32_t>(truth, "input.labels");
    tape<cpu> t;
    t.set_poison(true);
    auto feats = model->forward_features(t, input(t, images));
    same_class("features", feats.data(), feats.size(), truth, "out.features", ac, "vit.features");
    auto logits = model->forward_head(t, feats);
    same_class("logits", logits.data(), logits.size(), truth, "out.logits", ac, "vit.logits");
    auto loss = ops::cross_entropy(logits, labels);
    same_class("loss", loss.data(), 1, truth, "out.loss", ac, "vit.loss");
    loss.backward();
    std::size_t n = 0;
    model->visit([&](nn::param_ref<float>& r) {
        if (!r.trainable() || ac.find("vit.grad." + r.name) == nullptr) return;
        same_class("grad " + r.name, r.grad, r.size, truth, "grad." + r.name, ac, "vit.grad." + r.name);
        ++n;
    });
    BOOST_TEST(n > 10u);
}

BOOST_AUTO_TEST_CASE(tinymim_relation_loss_and_student_gradients) {
    using teacher_t = nn::vit<tt::distill_teacher_cfg, cpu, float, bf16_mixed>;
    using student_t = nn::vit<tt::distill_student_cfg, cpu, float, bf16_mixed>;
    using P = d::pairing<teacher_t, student_t, d::relations<d::qk, d::vv>, d::kl_divergence, d::teacher_block<2>,
                         d::last_block>;
    auto& truth = tt::fixture("distill.safetensors");
    auto& ac = tt::fixture("autocast.safetensors");
    auto teacher = std::make_unique<teacher_t>();
    auto student = std::make_unique<student_t>();
    (void)io::load_weights(*teacher, truth.path(), io::load_options::non_strict("teacher."));
    (void)io::load_weights(*student, truth.path(), io::load_options::non_strict("student."));
    d::distiller<P> dist(*teacher, *student, {.drop_path = 0});
    auto images = tt::load<shape<dyn, 1, 28, 28>>(truth, "images");
    tape<cpu> t;
    t.set_poison(true);
    auto l = dist.loss(t, images, images, false);
    same_class("relation loss", l.total.data(), 1, truth, "relation.loss", ac, "relation.loss");
    l.total.backward();
    std::size_t n = 0;
    dist.visit_trainable([&](nn::param_ref<float>& r) {
        if (!r.trainable() || ac.find("relation.grad." + r.name) == nullptr) return;
        same_class("grad " + r.name, r.grad, r.size, truth, "relation.grad." + r.name, ac, "relation.grad." + r.name);
        ++n;
    });
    BOOST_TEST(n > 5u);
}

BOOST_AUTO_TEST_SUITE_END()
