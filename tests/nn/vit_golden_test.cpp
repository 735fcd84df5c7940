// ViT and MAE against timm / PyTorch (tests/reference/make_model_fixtures.py): features, logits, loss and
// the gradient of every parameter. Tolerances: values 1e-5, gradients 1e-4 (max-norm relative error).
#include "../support/fixture.hpp"
#include "../support/golden_configs.hpp"

#include "tinymim/io/weights.hpp"
#include "tinymim/nn/mae.hpp"
#include "tinymim/nn/vit.hpp"
#include "tinymim/ops/losses.hpp"

using namespace tinymim;

namespace {
constexpr nn::vit_config rgb_cfg{.image = 32,
                                 .patch = 8,
                                 .channels = 3,
                                 .dim = 64,
                                 .depth = 2,
                                 .heads = 4,
                                 .classes = 10,
                                 .head = nn::pool::avg,
                                 .pos = nn::pos_embed_kind::learned};
constexpr nn::vit_config fm_cfg = tt::vit_fm_cfg;
constexpr nn::vit_config mae_enc{.image = 28, .patch = 4, .channels = 1, .dim = 48, .depth = 2, .heads = 3};
constexpr nn::mae_decoder_config mae_dec{.dim = 32, .depth = 1, .heads = 4};

template <class Model>
void check_grads(io::safetensors_reader& f, Model& m) {
    std::size_t n = 0;
    m.visit([&](nn::param_ref<float>& r) {
        if (!r.trainable()) return;
        const std::string key = "grad." + r.name;
        if (f.find(key) == nullptr) return;  // a parameter PyTorch did not reach either
        BOOST_TEST_CONTEXT(key) {
            BOOST_TEST(*r.has_grad);
            tt::check_close(f, key, r.grad, r.size, 1e-4);
        }
        ++n;
    });
    BOOST_TEST(n > 10u);
}

template <nn::vit_config Cfg>
void vit_golden(const std::string& file, std::size_t batch) {
    auto& f = tt::fixture(file);
    auto model = std::make_unique<nn::vit<Cfg>>();
    const auto rep = io::load_weights(*model, f.path(), io::load_options::non_strict());
    BOOST_TEST(rep.missing.empty(), rep.summary());
    BOOST_TEST(rep.mismatched.empty(), rep.summary());
    using model_t = nn::vit<Cfg>;
    auto images = tt::load<typename model_t::image_shape>(f, "input.images");
    auto labels = tt::load<shape<dyn>, std::int32_t>(f, "input.labels");
    BOOST_REQUIRE_EQUAL(images.extent(0), batch);
    tape<cpu> t;
    t.set_poison(true);
    auto feats = model->forward_features(t, input(t, images));
    tt::check_close(f, "out.features", feats.data(), feats.size(), 1e-5);
    auto logits = model->forward_head(t, feats);
    tt::check_close(f, "out.logits", logits.data(), logits.size(), 1e-5);
    auto loss = ops::cross_entropy(logits, labels);
    tt::check_close(f, "out.loss", loss.data(), 1, 1e-5);
    loss.backward();
    check_grads(f, *model);
}
}  // namespace

BOOST_AUTO_TEST_SUITE(golden_timm)

BOOST_AUTO_TEST_CASE(vit_rgb_avg_pool_learned_pos) { vit_golden<rgb_cfg>("vit_rgb.safetensors", 3); }

BOOST_AUTO_TEST_CASE(vit_fashion_mnist_cls_head_sincos) { vit_golden<fm_cfg>("vit_fm.safetensors", 4); }

BOOST_AUTO_TEST_CASE(mae_loss_and_gradients_for_a_fixed_mask) {
    auto& f = tt::fixture("mae_fm.safetensors");
    using mae_t = nn::mae<mae_enc, mae_dec>;
    auto model = std::make_unique<mae_t>();
    const auto rep = io::load_weights(*model, f.path(), io::load_options::non_strict());
    BOOST_TEST(rep.missing.empty(), rep.summary());
    BOOST_TEST(rep.mismatched.empty(), rep.summary());
    auto images = tt::load<mae_t::image_shape>(f, "input.images");
    const auto noise = f.read<double>("input.noise");
    auto mask = nn::mae_mask<>::from_noise(noise, 2, 49, 0.75);
    BOOST_TEST(mask.keep == 12u);
    tt::check_close(f, "out.mask", mask.mask.data(), mask.mask.size(), 0.0);
    tape<cpu> t;
    t.set_poison(true);
    auto out = model->forward(t, input(t, images), mask);
    tt::check_close(f, "out.pred", out.pred.data(), out.pred.size(), 1e-5);
    tt::check_close(f, "out.loss", out.loss.data(), 1, 1e-5);
    out.loss.backward();
    check_grads(f, *model);
}

BOOST_AUTO_TEST_SUITE_END()
