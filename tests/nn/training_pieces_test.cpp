// AdamW against PyTorch, parameter groups, layer decay, the warm-up + cosine schedule.
#include "../support/fixture.hpp"

#include "tinymim/nn/vit.hpp"
#include "tinymim/optim/adamw.hpp"
#include "tinymim/optim/schedule.hpp"

using namespace tinymim;

BOOST_AUTO_TEST_SUITE(training_pieces)

BOOST_AUTO_TEST_CASE(adamw_matches_pytorch_and_skips_untouched_parameters) {
    auto& f = tt::fixture("ops.safetensors");
    nn::parameter<shape<4, 3>, cpu, double> w;
    nn::parameter<shape<4>, cpu, double> b;
    w.value.copy_from(f.read<double>("adamw.w0"));
    b.value.copy_from(f.read<double>("adamw.b0"));
    std::vector<nn::param_ref<double>> refs = {w.ref("w"), b.ref("b")};
    optim::adamw<double> opt(refs, {.beta1 = 0.9, .beta2 = 0.95, .eps = 1e-8, .weight_decay = 0.05});
    for (int step = 0; step < 3; ++step) {
        w.grad.copy_from(f.read<double>("adamw.gw" + std::to_string(step)));
        w.has_grad = true;
        if (step != 1) {
            b.grad.copy_from(f.read<double>("adamw.gb" + std::to_string(step)));
            b.has_grad = true;
        }
        opt.step(0.01);
        BOOST_TEST(!w.has_grad);
    }
    tt::check_close(f, "adamw.w3", w.value.data(), 12, 1e-12);
    tt::check_close(f, "adamw.b3", b.value.data(), 4, 1e-12);
    BOOST_TEST(opt.step_counts()[1] == 2u);
}

BOOST_AUTO_TEST_CASE(gradient_clipping_scales_to_the_norm) {
    nn::parameter<shape<2>, cpu, double> p;
    p.value.fill(0);
    p.grad[0] = 3, p.grad[1] = 4;  // norm 5
    p.has_grad = true;
    optim::adamw<double> opt({p.ref("p")},
                             {.beta1 = 0.0, .beta2 = 0.0, .eps = 0, .weight_decay = 0, .clip_grad_norm = 1.0});
    const double norm = opt.step(1.0);
    BOOST_TEST(norm == 5.0);
    // beta = 0: the update is lr * g / |g| per entry: -1 each, whatever the clipping (Adam is scale-free) ...
    BOOST_TEST(p.value[0] == -1.0, boost::test_tools::tolerance(1e-9));
    // ... so check the clipped gradient reached the moments: m = g * (1 / 5).
    BOOST_TEST(opt.slots()[0].m[0] == 0.6, boost::test_tools::tolerance(1e-6));
}

BOOST_AUTO_TEST_CASE(weight_decay_mask_and_layer_decay_follow_mae) {
    constexpr nn::vit_config cfg{
        .image = 8, .patch = 4, .channels = 1, .dim = 8, .depth = 3, .heads = 2, .classes = 2, .head = nn::pool::avg};
    auto model = std::make_unique<nn::vit<cfg>>();
    std::map<std::string, nn::param_ref<float>> by_name;
    model->visit([&](nn::param_ref<float>& r) { by_name[r.name] = r; });
    BOOST_TEST(!optim::decays(by_name.at("cls_token")));
    BOOST_TEST(!optim::decays(by_name.at("blocks.0.norm1.weight")));
    BOOST_TEST(!optim::decays(by_name.at("blocks.1.attn.qkv.bias")));
    BOOST_TEST(optim::decays(by_name.at("blocks.1.attn.qkv.weight")));
    BOOST_TEST(optim::decays(by_name.at("patch_embed.proj.weight")));
    BOOST_TEST(!by_name.at("pos_embed").trainable());  // fixed sin-cos
    BOOST_TEST(optim::vit_layer_id(by_name.at("patch_embed.proj.weight"), 3) == 0u);
    BOOST_TEST(optim::vit_layer_id(by_name.at("blocks.2.mlp.fc1.weight"), 3) == 3u);
    BOOST_TEST(optim::vit_layer_id(by_name.at("head.weight"), 3) == 4u);
    BOOST_TEST(optim::layer_decay_scale(by_name.at("cls_token"), 3, 0.65) == std::pow(0.65, 4),
               boost::test_tools::tolerance(1e-12));
    BOOST_TEST(optim::layer_decay_scale(by_name.at("blocks.0.norm1.bias"), 3, 0.65) == std::pow(0.65, 3),
               boost::test_tools::tolerance(1e-12));
    BOOST_TEST(optim::layer_decay_scale(by_name.at("fc_norm.weight"), 3, 0.65) == 1.0);
}

BOOST_AUTO_TEST_CASE(warmup_then_half_cosine) {
    optim::warmup_cosine s{.base_lr = 1.0, .min_lr = 0.1, .warmup_steps = 10, .total_steps = 110};
    BOOST_TEST(s(0) == 0.0);
    BOOST_TEST(s(5) == 0.5);
    BOOST_TEST(s(10) == 1.0);
    BOOST_TEST(s(60) == 0.55, boost::test_tools::tolerance(1e-12));
    BOOST_TEST(s(110) == 0.1, boost::test_tools::tolerance(1e-12));
    BOOST_TEST(s(500) == 0.1, boost::test_tools::tolerance(1e-12));
}

BOOST_AUTO_TEST_SUITE_END()
