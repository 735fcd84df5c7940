// distill::dmae<Teacher, StudentMae>: DMAE-style masked feature distillation (Bai et al. 2022). The student is
// an MAE and keeps its own loss; a second term pulls its encoder's features towards a frozen teacher's:
//
//   L = L_MAE + alpha * mean | proj(F_s) - F_t^k |       over the visible patch tokens
//
// F_s is the student encoder's last block output (before its norm), F_t^k the teacher's block-k output;
// the teacher sees the same visible patches (one mask for both), runs under no_grad and stops at block k;
// proj is a learned linear map from the student's width to the teacher's (trained with the student, saved
// as "projection.*"). The class token is in both sequences but not in the term: the method aligns patch
// features.
#pragma once

#include <cmath>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <optional>
#include <span>
#include <vector>

#include "tinymim/autograd/no_grad.hpp"
#include "tinymim/core/random.hpp"
#include "tinymim/distill/trainable_view.hpp"
#include "tinymim/nn/linear.hpp"
#include "tinymim/nn/mae.hpp"
#include "tinymim/nn/traceable.hpp"
#include "tinymim/ops/elementwise.hpp"
#include "tinymim/ops/reduce.hpp"
#include "tinymim/ops/tokens.hpp"
#include "tinymim/ops/unary.hpp"
#include "tinymim/optim/adamw.hpp"

namespace tinymim::distill {

struct dmae_options {
    std::size_t teacher_block = 0;  // k, 1-based (0: the teacher's last block)
    double alpha = 1.0;             // weight of the feature term
    double mask_ratio = 0.75;
    double drop_path = 0;  // the student encoder's (MAE pre-training uses none)
    optim::adamw_options adamw{.beta1 = 0.9, .beta2 = 0.95, .eps = 1e-8, .weight_decay = 0.05};
    std::uint64_t seed = 0;
};

template <class Teacher, class StudentMae>
class dmae {
    static_assert(nn::traceable_model<Teacher>, "dmae: the teacher is not a traceable_model (nn/traceable.hpp)");

public:
    using teacher_type = Teacher;
    using student_type = StudentMae;
    using T = typename StudentMae::value_type;
    using B = typename StudentMae::backend_type;
    using value_type = T;
    using backend_type = B;
    using image_tensor = tensor<T, typename StudentMae::image_shape, B>;
    static constexpr std::size_t Dt = Teacher::D, Ds = StudentMae::D, P = StudentMae::P;
    static_assert(std::is_same_v<typename Teacher::backend_type, B> && std::is_same_v<typename Teacher::value_type, T>,
                  "dmae: teacher and student must live on one backend with one element type");
    static_assert(Teacher::config.image == StudentMae::encoder_type::config.image &&
                      Teacher::config.patch == StudentMae::encoder_type::config.patch &&
                      Teacher::config.channels == StudentMae::encoder_type::config.channels,
                  "dmae: teacher and student must cut the images into the same patches (image size, patch size, "
                  "channels)");
    static_assert(Teacher::config.class_token, "dmae: the teacher needs a class token (as the student's MAE encoder)");

    struct loss_vars {
        var<T, shape<>, B> total, mae, feature;
    };
    struct step_result {
        double total = 0, mae = 0, feature = 0, grad_norm = 0;
    };

    dmae(Teacher& teacher, StudentMae& student, dmae_options opt = {})
        : teacher_(teacher), student_(student), opt_(opt), rng_(opt.seed) {
        TINYMIM_CHECK(opt_.teacher_block <= Teacher::depth, "dmae: teacher block ", opt_.teacher_block,
                      " is past the teacher's last block (", Teacher::depth, ")");
        TINYMIM_CHECK(std::isfinite(opt_.alpha) && opt_.alpha >= 0, "dmae: alpha ", opt_.alpha,
                      " must be finite and not negative");
        projection_.init_xavier(counter_rng(opt_.seed).fork(77));
        std::vector<nn::param_ref<T>> params;
        visit_trainable([&](nn::param_ref<T>& r) { params.push_back(r); });
        optimizer_.emplace(std::move(params), opt_.adamw);
    }

    [[nodiscard]] std::size_t teacher_block() const noexcept {
        return opt_.teacher_block != 0 ? opt_.teacher_block : Teacher::depth;
    }

    // Both terms for one batch under a given mask (records on t; the caller runs backward).
    [[nodiscard]] loss_vars loss(tape<B>& t, const image_tensor& images, const nn::mae_mask<B, T>& mask,
                                 bool training = true) {
        auto x = input(t, images);
        auto teacher_features = [&] {
            no_grad ng;
            auto tokens = teacher_.prepend_cls(t, ops::gather_tokens(teacher_.embed(t, x), mask.ids_keep));
            nn::vit_run run;
            run.stop_block = teacher_block();
            using S = typename decltype(tokens)::shape_type;
            return teacher_.run_blocks(t, tokens, run, std::span<const nn::trace_request<T, S, B>>());
        }();
        nn::vit_run srun;
        srun.training = training;
        srun.drop_path = opt_.drop_path;
        srun.rng = rng_.fork(step_).from_sample(first_sample_).fork(1);
        auto out = student_.forward(t, x, mask, srun);
        auto diff =
            ops::sub(projection_(t, ops::slice_tokens<1>(out.features)), ops::slice_tokens<1>(teacher_features));
        loss_vars l;
        l.mae = out.loss;
        l.feature = ops::mean(ops::abs(diff));
        l.total = ops::add(l.mae, ops::scale(l.feature, T(opt_.alpha)));
        return l;
    }

    // One step: a fresh mask (keyed by the step), both terms, backward, AdamW.
    step_result step(const image_tensor& images, double lr) {
        const auto mask = nn::mae_mask<B, T>::random(images.extent(0), P, opt_.mask_ratio,
                                                     rng_.fork(step_).from_sample(first_sample_).fork(7));
        tape_.reset();
        auto l = loss(tape_, images, mask, true);
        step_result r = values(l);
        TINYMIM_CHECK(std::isfinite(r.total), "dmae: the loss is ", r.total, " at step ", step_, " (MAE ", r.mae,
                      ", feature ", r.feature, ")");
        l.total.backward();
        if (sync_) sync_(*optimizer_, r);
        r.grad_norm = optimizer_->step(lr);
        ++step_;
        return r;
    }

    // A data-parallel run, as distiller::data_parallel: this rank's batches start at sample `first_sample` of
    // each global batch (masks and drop path draw per global sample), `hook` hears during the backward which
    // gradients are final, and `sync` runs between the backward and the update.
    using sync_fn = std::function<void(optim::adamw<T, B>&, step_result&)>;
    void data_parallel(std::size_t first_sample, sync_fn sync, gradient_hook* hook = nullptr) {
        first_sample_ = first_sample;
        sync_ = std::move(sync);
        tape_.set_gradient_hook(hook);
    }

    // The student MAE and the projection (what the optimizer trains), by name.
    template <class F>
    void visit_trainable(F&& f) {
        student_.visit(f);
        projection_.visit("projection", f);
    }
    [[nodiscard]] trainable_view<dmae> trainable() { return {this}; }
    // The trainer's own parameters (saved with its checkpoints).
    template <class F>
    void visit(F&& f) {
        projection_.visit("projection", f);
    }

    [[nodiscard]] optim::adamw<T, B>& optimizer() { return *optimizer_; }
    [[nodiscard]] StudentMae& student() noexcept { return student_; }
    [[nodiscard]] Teacher& teacher() noexcept { return teacher_; }
    [[nodiscard]] std::size_t steps() const noexcept { return step_; }
    void set_steps(std::size_t s) noexcept { step_ = s; }
    [[nodiscard]] const dmae_options& options() const noexcept { return opt_; }

private:
    step_result values(const loss_vars& l) const {
        auto read = [](const var<T, shape<>, B>& v) {
            T h;
            B::copy_to_host(&h, v.data(), sizeof(T));
            return double(h);
        };
        return {read(l.total), read(l.mae), read(l.feature), 0};
    }

    Teacher& teacher_;
    StudentMae& student_;
    dmae_options opt_;
    counter_rng rng_;
    std::size_t step_ = 0;
    std::size_t first_sample_ = 0;
    sync_fn sync_;
    tape<B> tape_;
    nn::linear<Ds, Dt, B, T, typename StudentMae::precision_type> projection_;
    std::optional<optim::adamw<T, B>> optimizer_;
};

}  // namespace tinymim::distill
