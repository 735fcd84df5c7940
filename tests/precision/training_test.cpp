// Training in bf16_mixed tracks float training from the same seed: 300 TinyMIM distillation steps and 300
// fine-tuning steps on the same synthetic batches, the final loss (the mean of the last 30 steps, so that one
// batch's noise does not decide) within 2 % of the float run's. The gradient checks stay in double: nothing
// here touches them.
#include <boost/test/unit_test.hpp>

#include <cmath>
#include <memory>

#include "tinymim/core/random.hpp"
#include "tinymim/distill/distiller.hpp"
#include "tinymim/io/weights.hpp"
#include "tinymim/nn/vit.hpp"
#include "tinymim/ops/losses.hpp"
#include "tinymim/optim/adamw.hpp"

using namespace tinymim;
namespace d = tinymim::distill;

namespace {
constexpr std::size_t steps = 300, tail = 30, batch = 32;

// A learnable task: ten fixed random templates (one per class) under fresh noise each step.
struct synthetic_batches {
    tensor<float, shape<10, 1, 28, 28>> templates{extents<shape<10, 1, 28, 28>>({10, 1, 28, 28})};
    synthetic_batches() {
        const counter_rng r(17);
        for (std::size_t i = 0; i < templates.size(); ++i) templates.data()[i] = float(r.normal(i));
    }
    void fill(std::size_t step, tensor<float, shape<dyn, 1, 28, 28>>& images,
              tensor<std::int32_t, shape<dyn>>& labels) const {
        const counter_rng r = counter_rng(99).fork(step);
        constexpr std::size_t pixels = 28 * 28;
        for (std::size_t b = 0; b < batch; ++b) {
            const auto c = std::size_t(r.uniform(b) * 10) % 10;
            labels.data()[b] = std::int32_t(c);
            for (std::size_t p = 0; p < pixels; ++p)
                images.data()[b * pixels + p] =
                    0.6f * templates.data()[c * pixels + p] + float(r.fork(1).normal(b * pixels + p));
        }
    }
};

double tail_mean(const std::vector<double>& losses) {
    double s = 0;
    for (std::size_t i = losses.size() - tail; i < losses.size(); ++i) s += losses[i];
    return s / double(tail);
}

constexpr nn::vit_config tcfg{.image = 28, .patch = 4, .channels = 1, .dim = 48, .depth = 3, .heads = 3};
constexpr nn::vit_config scfg{.image = 28, .patch = 4, .channels = 1, .dim = 24, .depth = 2, .heads = 3};
constexpr nn::vit_config ccfg{
    .image = 28, .patch = 4, .channels = 1, .dim = 24, .depth = 2, .heads = 3, .classes = 10, .head = nn::pool::avg};

template <class Prec>
std::vector<double> distill_run() {
    using teacher_t = nn::vit<tcfg, cpu, float, Prec>;
    using student_t = nn::vit<scfg, cpu, float, Prec>;
    using P = d::pairing<teacher_t, student_t, d::relations<d::qk, d::vv>, d::kl_divergence>;
    auto teacher = std::make_unique<teacher_t>();
    auto student = std::make_unique<student_t>();
    teacher->init(counter_rng(1));
    student->init(counter_rng(2));
    d::distiller<P> dist(*teacher, *student, {.drop_path = 0.1, .seed = 3});
    const synthetic_batches data;
    tensor<float, shape<dyn, 1, 28, 28>> images({batch, 1, 28, 28});
    tensor<std::int32_t, shape<dyn>> labels({batch});
    std::vector<double> losses;
    for (std::size_t s = 0; s < steps; ++s) {
        data.fill(s, images, labels);
        losses.push_back(dist.step(images, 1e-3).total);
    }
    return losses;
}

template <class Prec>
std::vector<double> finetune_run() {
    using model_t = nn::vit<ccfg, cpu, float, Prec>;
    auto model = std::make_unique<model_t>();
    model->init(counter_rng(4));
    optim::adamw<float> opt(io::collect(*model), {.beta1 = 0.9, .beta2 = 0.999, .weight_decay = 0.05});
    const synthetic_batches data;
    tensor<float, shape<dyn, 1, 28, 28>> images({batch, 1, 28, 28});
    tensor<std::int32_t, shape<dyn>> labels({batch});
    std::vector<double> losses;
    tape<cpu> t;
    for (std::size_t s = 0; s < steps; ++s) {
        data.fill(s, images, labels);
        t.reset();
        nn::vit_run run;
        run.training = true;
        run.drop_path = 0.1;
        run.rng = counter_rng(5).fork(s);
        auto loss = ops::cross_entropy(model->forward(t, input(t, images), run), labels, 0.1f);
        losses.push_back(double(loss.data()[0]));
        loss.backward();
        opt.step(5e-4);
    }
    return losses;
}

void tracks(const char* what, const std::vector<double>& f32, const std::vector<double>& b16) {
    const double a = tail_mean(f32), b = tail_mean(b16), first = f32.front();
    BOOST_TEST_MESSAGE(what << ": first loss " << first << ", final fp32 " << a << ", bf16 " << b << " ("
                            << 100 * std::abs(b - a) / a << " % apart)");
    BOOST_TEST(a < 0.8 * first, what << ": the float run did not learn (" << first << " -> " << a << ")");
    BOOST_TEST(std::abs(b - a) <= 0.02 * a, what << ": bf16 final loss " << b << " vs fp32 " << a);
    BOOST_TEST(b16 != f32, what << ": the bf16 run is the float run step for step: no bf16 ran");
}
}  // namespace

BOOST_AUTO_TEST_SUITE(bf16_training)

BOOST_AUTO_TEST_CASE(distillation_300_steps_tracks_fp32) {
    tracks("distillation", distill_run<fp32>(), distill_run<bf16_mixed>());
}

BOOST_AUTO_TEST_CASE(finetuning_300_steps_tracks_fp32) {
    tracks("fine-tuning", finetune_run<fp32>(), finetune_run<bf16_mixed>());
}

BOOST_AUTO_TEST_SUITE_END()
