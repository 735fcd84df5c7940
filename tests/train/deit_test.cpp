// DeiT logit distillation (distill/deit.hpp, train::finetune_deit): a distillation-token ViT and both losses
// against PyTorch (tests/reference/make_deit_fixtures.py: timm's VisionTransformerDistilled; values <= 1e-5,
// gradients <= 1e-4), the gradient check in double, loading a pre-trained encoder, fine-tuning, bad input.
#include <boost/test/unit_test.hpp>

#include <filesystem>
#include <fstream>
#include <string>

#include <unistd.h>

#include "../support/common.hpp"
#include "../support/fixture.hpp"
#include "../support/golden_configs.hpp"
#include "../support/synthetic.hpp"
#include "tinymim/io/weights.hpp"
#include "tinymim/testing/gradcheck.hpp"
#include "tinymim/train/tasks.hpp"

using namespace tinymim;
namespace fs = std::filesystem;

namespace {
using image_shape = shape<dyn, 1, 28, 28>;
// The fixture's models: tests/support/golden_configs.hpp's widths with timm's learned position embedding.
constexpr nn::vit_config learned_pos(nn::vit_config c) {
    c.pos = nn::pos_embed_kind::learned;
    return c;
}
constexpr nn::vit_config golden_student =
    learned_pos(tt::distill_student_cfg.with_head(nn::pool::cls, 10).with_distill_token());
constexpr nn::vit_config golden_teacher = learned_pos(tt::distill_teacher_cfg.with_head(nn::pool::avg, 10));

template <class M>
void load_part(M& m, const std::string& prefix) {
    const auto rep = io::load_weights(m, tt::fixture("deit.safetensors").path(), io::load_options::non_strict(prefix));
    BOOST_REQUIRE_MESSAGE(rep.missing.empty() && rep.mismatched.empty(), rep.summary());
}

// One DeiT loss of the golden models against PyTorch: the loss, its terms and every student gradient.
void golden(distill::deit_mode mode, float smoothing) {
    auto& f = tt::fixture("deit.safetensors");
    auto teacher = std::make_unique<nn::vit<golden_teacher>>();
    auto student = std::make_unique<nn::vit<golden_student>>();
    load_part(*teacher, "teacher.");
    load_part(*student, "student.");
    auto images = tt::load<image_shape>(f, "images");
    tensor<std::int32_t, shape<dyn>> labels({4});
    const auto l = f.read<double>("labels");
    for (std::size_t i = 0; i < 4; ++i) labels[i] = std::int32_t(l[i]);
    const auto z_t = train::frozen_classifier(*teacher)(images);
    tt::check_close(f, "teacher_logits", z_t.data(), z_t.size(), 1e-5);
    distill::deit_criterion<cpu> criterion({.mode = mode});
    tape<cpu> t;
    t.set_poison(true);
    auto z = student->forward_heads(t, input(t, images), nn::vit_run{});
    auto loss = criterion(z.cls, z.dist, z_t, labels, smoothing);
    const std::string m = mode == distill::deit_mode::soft ? "soft." : "hard.";
    tt::check_close(f, m + "ce", loss.ce.data(), 1, 1e-5);
    tt::check_close(f, m + "distill", loss.distill.data(), 1, 1e-5);
    tt::check_close(f, m + "total", loss.total.data(), 1, 1e-5);
    loss.total.backward();
    std::size_t compared = 0;
    student->visit([&](nn::param_ref<float>& r) {
        if (!r.trainable()) return;
        BOOST_TEST_CONTEXT(r.name) { tt::check_close(f, m + "grad." + r.name, r.grad, r.size, 1e-4); }
        ++compared;
    });
    BOOST_TEST(compared == 35u);  // every tensor of the student, dist_token and head_dist among them
}

// Adds scale · N(0, 1) to every trainable tensor of m.
template <class M>
void perturb(M& m, std::uint64_t seed, double scale) {
    using T = typename M::value_type;
    std::uint64_t k = 0;
    m.visit([&](nn::param_ref<T>& r) {
        if (!r.trainable()) return;
        std::vector<T> h(r.size);
        r.to_host(h.data(), r.value, h.size() * sizeof(T));
        const counter_rng g(seed + k++);
        for (std::size_t i = 0; i < h.size(); ++i) h[i] += T(scale * g.normal(i));
        r.from_host(r.value, h.data(), h.size() * sizeof(T));
    });
}

// The DeiT loss of a student on the first 16 images of d (no augmentation).
template <class S, class Teacher>
double loss_on(S& student, Teacher&& teacher, const data::image_dataset& d, const distill::deit_options& o) {
    data::loader<image_shape> ld(d, {.batch_size = 16, .shuffle = false});
    auto b = ld.make(0, 0);
    distill::deit_criterion<cpu> criterion(o);
    tape<cpu> t;
    no_grad ng;
    const auto z_t = teacher(b.images);
    auto z = student.forward_heads(t, input(t, b.images), nn::vit_run{});
    return double(criterion(z.cls, z.dist, z_t, b.labels).total.value()[0]);
}

fs::path temp_dir(const std::string& name) {
    const fs::path d = fs::temp_directory_path() / ("tinymim_deit_test_" + std::to_string(::getpid())) / name;
    fs::remove_all(d);
    fs::create_directories(d);
    return d;
}

// Small models for the gradient check and training: 28 x 28 images, patch 7 (16 patches).
constexpr nn::vit_config small{.image = 28, .patch = 7, .channels = 1, .dim = 12, .depth = 2, .heads = 3};
template <class T>
using small_student = nn::vit<small.with_head(nn::pool::avg, 10).with_distill_token(), cpu, T>;
template <class T>
using small_teacher = nn::vit<small.with_head(nn::pool::avg, 10), cpu, T>;
}  // namespace

BOOST_AUTO_TEST_SUITE(deit)

BOOST_AUTO_TEST_CASE(inference_averages_the_two_heads_as_timm) {
    auto& f = tt::fixture("deit.safetensors");
    auto student = std::make_unique<nn::vit<golden_student>>();
    load_part(*student, "student.");
    auto images = tt::load<image_shape>(f, "images");
    tape<cpu> t;
    no_grad ng;
    auto z = student->forward(t, input(t, images));
    tt::check_close(f, "student_logits", z.data(), z.size(), 1e-5);
}

BOOST_AUTO_TEST_CASE(soft_distillation_matches_pytorch) { golden(distill::deit_mode::soft, 0.1f); }
BOOST_AUTO_TEST_CASE(hard_distillation_matches_pytorch) { golden(distill::deit_mode::hard, 0.0f); }

BOOST_AUTO_TEST_CASE(gradient_check_in_double) {
    for (const auto mode : {distill::deit_mode::soft, distill::deit_mode::hard}) {
        auto student = std::make_unique<small_student<double>>();
        student->init(counter_rng(3));
        // A head of N(0, 2e-5) would leave the check nothing to see: larger heads and a non-zero dist token.
        perturb(*student, 4, 0.3);
        const auto images = tt::randn<image_shape>(5, 3, 1, 28, 28);
        auto z_t = tt::randn<shape<dyn, 10>>(6, 3, 10);
        for (std::size_t i = 0; i < z_t.size(); ++i) z_t[i] *= 2;
        tensor<std::int32_t, shape<dyn>> labels({3});
        labels[0] = 1, labels[1] = 4, labels[2] = 9;
        distill::deit_criterion<cpu> criterion({.mode = mode, .alpha = 0.3, .tau = 2});
        auto rep =
            testing::check_parameter_gradients(*student,
                                               [&](tape<cpu>& t) {
                                                   auto z = student->forward_heads(t, input(t, images), nn::vit_run{});
                                                   return criterion(z.cls, z.dist, z_t, labels, 0.1).total;
                                               },
                                               {.max_coordinates = 16});
        BOOST_TEST(rep.ok, rep.message);
        BOOST_TEST(rep.checked > 100u);
    }
}

BOOST_AUTO_TEST_CASE(a_pretrained_encoder_loads_into_a_distillation_token_classifier) {
    const auto dir = temp_dir("load");
    auto encoder = std::make_unique<nn::vit<small>>();  // sin-cos position embedding, [1, 17, 12]
    encoder->init(counter_rng(7));
    io::save_weights(*encoder, dir / "encoder.safetensors");
    auto student = std::make_unique<small_student<float>>();  // its position embedding is [1, 18, 12]
    const auto rep = io::load_weights(*student, dir / "encoder.safetensors", io::load_options::as_classifier());
    BOOST_TEST(rep.summary().find("dist_token") != std::string::npos, rep.summary());
    BOOST_TEST(rep.summary().find("pos_embed: expected [1, 18, 12], found [1, 17, 12]") != std::string::npos,
               rep.summary());
    BOOST_TEST((encoder->patch_weight.value.to_vector() == student->patch_weight.value.to_vector()));
    // A learned position embedding of another shape is the model's own: refused.
    auto other = std::make_unique<nn::vit<learned_pos(small.with_head(nn::pool::avg, 10).with_distill_token())>>();
    BOOST_CHECK_EXCEPTION(
        (void)io::load_weights(*other, dir / "encoder.safetensors", io::load_options::as_classifier()), tinymim::error,
        [](const tinymim::error& e) {
            return std::string(e.what()).find("pos_embed: expected [1, 18, 12]") != std::string::npos;
        });
}

BOOST_AUTO_TEST_CASE(finetune_deit_trains_and_writes_a_student_that_reloads) {
    const auto dir = temp_dir("finetune");
    const auto train_set = tt::synthetic_images(64), test_set = tt::synthetic_images(32);
    auto teacher = std::make_unique<small_teacher<float>>();
    teacher->init(counter_rng(8));
    perturb(*teacher, 9, 0.3);
    auto teach = train::frozen_classifier(*teacher);
    for (const auto mode : {distill::deit_mode::soft, distill::deit_mode::hard}) {
        auto student = std::make_unique<small_student<float>>();
        student->init(counter_rng(10));
        train::task_options o;
        o.loop.out = dir;
        o.loop.name = mode == distill::deit_mode::soft ? "soft" : "hard";
        o.loop.epochs = 3;
        o.loop.lr = 1e-3;
        o.loop.warmup_epochs = 0;
        o.loop.plot = false;
        o.batch_size = 16;
        const distill::deit_options d{.mode = mode};
        const double before = loss_on(*student, teach, train_set, d);
        train::eval_result ev;
        const auto r = train::finetune_deit(*student, teach, train_set, test_set, o, d, &ev);
        BOOST_TEST_CONTEXT(o.loop.name) {
            BOOST_TEST(r.steps == 12u);
            const double after = loss_on(*student, teach, train_set, d);
            BOOST_TEST(after < before, "the loss went from " << before << " to " << after);
            std::ifstream csv(dir / (o.loop.name + "_metrics.csv"));
            std::string header;
            std::getline(csv, header);
            BOOST_TEST(header.find("loss,ce,distill") != std::string::npos, header);
            auto again = std::make_unique<small_student<float>>();
            (void)io::load_weights(*again, dir / (o.loop.name + ".safetensors"));  // strict: dist_token, head_dist
            BOOST_TEST(train::evaluate(*again, test_set).accuracy == ev.accuracy);
        }
    }
}

BOOST_AUTO_TEST_CASE(bad_options_and_shapes_are_named) {
    BOOST_CHECK_EXCEPTION(distill::deit_criterion<cpu>({.alpha = 1.5}), tinymim::error, [](const tinymim::error& e) {
        return std::string(e.what()).find("distillation weight 1.5 is outside [0, 1]") != std::string::npos;
    });
    BOOST_CHECK_EXCEPTION(distill::deit_criterion<cpu>({.tau = 0}), tinymim::error, [](const tinymim::error& e) {
        return std::string(e.what()).find("temperature 0 must be positive") != std::string::npos;
    });
    BOOST_CHECK_THROW((void)distill::deit_options::parse_mode("medium"), tinymim::error);
    auto student = std::make_unique<small_student<float>>();
    tensor<float, image_shape> images({2, 1, 28, 28});
    images.fill(0.5f);
    tensor<float, shape<dyn, 10>> z_t({3, 10});  // three rows for two images
    z_t.fill(0.f);
    tensor<std::int32_t, shape<dyn>> labels({2});
    labels[0] = labels[1] = 0;
    distill::deit_criterion<cpu> criterion({});
    tape<cpu> t;
    auto z = student->forward_heads(t, input(t, images), nn::vit_run{});
    BOOST_CHECK_EXCEPTION((void)criterion(z.cls, z.dist, z_t, labels), tinymim::error, [](const tinymim::error& e) {
        return std::string(e.what()).find("teacher's logits [3, 10] and the student's [2, 10] differ") !=
               std::string::npos;
    });
}

BOOST_AUTO_TEST_SUITE_END()
