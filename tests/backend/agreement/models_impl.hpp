// Whole-model agreement cases (ViT, MAE, distillation with AdamW), templated over the backend.
#pragma once

#include "cases_impl.hpp"

#include <tinymim/distill/dmae.hpp>

namespace tinymim_test {

// Weights are listed with the key third of every qkv bias as its own key_bias_prefix entry (see
// agreement.hpp); gradients stay whole (the key bias's noise is far below the tensor's largest entry).
template <class Model>
void add_params(case_result& r, Model& m, bool grads) {
    m.visit([&](nn::param_ref<float>& p) {
        if (grads && !p.trainable()) return;
        std::vector<float> h(p.size);
        const float* src = grads ? p.grad : p.value;
        if (grads && !*p.has_grad)
            std::fill(h.begin(), h.end(), 0.0f);
        else
            p.to_host(h.data(), src, p.size * sizeof(float));
        const bool qkv_bias = p.name.ends_with("attn.qkv.bias");
        if (grads || !qkv_bias) {
            r.names.push_back((grads ? "grad " : "weight ") + p.name);
            r.arrays.emplace_back(h.begin(), h.end());
            return;
        }
        const std::size_t d = h.size() / 3;
        r.names.push_back("weight " + p.name + " [query and value thirds]");
        r.arrays.emplace_back(h.begin(), h.begin() + std::ptrdiff_t(d));
        r.arrays.back().insert(r.arrays.back().end(), h.begin() + std::ptrdiff_t(2 * d), h.end());
        std::string key_name(
            key_bias_prefix);  // appended, not chained +: GCC 12 warns falsely (-Wrestrict) on the chain
        key_name.append(p.name).append(" [key third]");
        r.names.push_back(std::move(key_name));
        r.arrays.emplace_back(h.begin() + std::ptrdiff_t(d), h.begin() + std::ptrdiff_t(2 * d));
    });
}

template <class B, class S>
tensor<float, S, B> random_images(const extents<S>& e, std::uint64_t seed) {
    std::vector<float> h(e.size());
    counter_rng r(seed);
    for (std::size_t i = 0; i < h.size(); ++i) h[i] = float(r.normal(i));
    tensor<float, S, B> x(e);
    x.copy_from(h);
    return x;
}

// A ViT training step (forward, label-smoothed cross-entropy, backward) in precision Prec.
template <class B, class Prec>
case_result vit_train_step() {
    case_result r;
    auto scalar = [](const auto& v) {
        float x = 0;
        B::copy_to_host(&x, v.data(), sizeof x);
        return std::vector<double>{double(x)};
    };
    constexpr nn::vit_config cfg{.image = 28,
                                 .patch = 4,
                                 .channels = 1,
                                 .dim = 96,
                                 .depth = 6,
                                 .heads = 3,
                                 .classes = 10,
                                 .head = nn::pool::avg};
    using M = nn::vit<cfg, B, float, Prec>;
    auto m = std::make_unique<M>();
    m->init(counter_rng(1));
    auto img = random_images<B>(extents<typename M::image_shape>({8, 1, 28, 28}), 2);
    std::vector<std::int32_t> labels{0, 1, 2, 3, 4, 5, 6, 7};
    tensor<std::int32_t, shape<dyn>, B> lab({8});
    lab.copy_from(labels);
    tape<B> t;
    auto logits = m->forward(t, input(t, img), {.training = true, .drop_path = 0.1, .rng = counter_rng(3)});
    auto loss = ops::cross_entropy(logits, lab, 0.1f);
    r.names.push_back("loss");
    r.arrays.push_back(scalar(loss));
    r.names.push_back("logits");
    r.arrays.push_back(harness<B>::host(logits.data(), logits.size()));
    loss.backward();
    add_params(r, *m, true);
    return r;
}

template <class B>
case_result run_model_case(const std::string& name) {
    case_result r;
    auto scalar = [](const auto& v) {
        float x = 0;
        B::copy_to_host(&x, v.data(), sizeof x);
        return std::vector<double>{double(x)};
    };
    if (name == "vit_fm_tiny_train_step") return vit_train_step<B, fp32>();
    if (name == "vit_fm_tiny_train_step_bf16") return vit_train_step<B, bf16_mixed>();
    if (name == "mae_fm_tiny_loss") {
        using M = nn::mae<nn::fm_tiny, nn::mae_decoder_fm, B>;
        auto m = std::make_unique<M>();
        m->init(counter_rng(4));
        auto img = random_images<B>(extents<shape<dyn, 1, 28, 28>>({6, 1, 28, 28}), 5);
        auto mask = nn::mae_mask<B, float>::random(6, 49, 0.75, counter_rng(6));
        tape<B> t;
        auto o = m->forward(t, input(t, img), mask);
        r.names.push_back("loss");
        r.arrays.push_back(scalar(o.loss));
        r.names.push_back("pred");
        r.arrays.push_back(harness<B>::host(o.pred.data(), o.pred.size()));
        o.loss.backward();
        add_params(r, *m, true);
        return r;
    }
    if (name == "dmae_fm_small_to_tiny_loss") {  // DMAE: the student MAE's loss + L1 to teacher block 4
        using Te = nn::vit<nn::fm_small, B>;
        using M = nn::mae<nn::fm_tiny, nn::mae_decoder_fm, B>;
        auto te = std::make_unique<Te>();
        auto m = std::make_unique<M>();
        te->init(counter_rng(11));
        m->init(counter_rng(12));
        tinymim::distill::dmae<Te, M> dm(*te, *m, {.teacher_block = 4, .seed = 13});
        auto img = random_images<B>(extents<shape<dyn, 1, 28, 28>>({6, 1, 28, 28}), 14);
        auto mask = nn::mae_mask<B, float>::random(6, 49, 0.75, counter_rng(15));
        tape<B> t;
        auto l = dm.loss(t, img, mask, false);
        r.names.push_back("mae loss");
        r.arrays.push_back(scalar(l.mae));
        r.names.push_back("feature loss");
        r.arrays.push_back(scalar(l.feature));
        l.total.backward();
        add_params(r, *m, true);
        return r;
    }
    if (name == "distill_fm_small_to_tiny_two_steps") {
        namespace d = tinymim::distill;
        using Te = nn::vit<nn::fm_small, B>;
        using St = nn::vit<nn::fm_tiny, B>;
        auto te = std::make_unique<Te>();
        auto st = std::make_unique<St>();
        te->init(counter_rng(7));
        st->init(counter_rng(8));
        using pairing =
            d::pairing<Te, St, d::relations<d::qk, d::vv>, d::kl_divergence, d::teacher_block<4>, d::last_block>;
        d::distiller<pairing> dist(*te, *st, {.drop_path = 0.1, .seed = 9});
        auto img = random_images<B>(extents<typename St::image_shape>({8, 1, 28, 28}), 10);
        std::vector<double> losses;
        for (int s = 0; s < distill_case_steps; ++s) {
            const auto res = dist.step(img, distill_case_lr);
            losses.push_back(res.total);
            losses.push_back(res.grad_norm);
        }
        r.names.push_back("losses and gradient norms");
        r.arrays.push_back(losses);
        add_params(r, *st, false);
        return r;
    }
    TINYMIM_CHECK(false, "no model case named ", name);
    return r;
}

}  // namespace tinymim_test
