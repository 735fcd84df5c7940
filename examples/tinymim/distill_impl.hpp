// tinymim distill: TinyMIM distillation. The run-time choices (--target, --input) select one of the
// pairing types instantiated here; --teacher-block is a run-time tap.
#pragma once

#include "commands.hpp"
#include "models.hpp"

namespace tool {

namespace distill_detail {
namespace d = tinymim::distill;

template <class Pairing>
train::loop_result distill_with(const common_options& c, const distill_args& a) {
    using teacher_t = typename Pairing::teacher_type;
    using student_t = typename Pairing::student_type;
    constexpr nn::vit_config SC = student_t::config;
    const auto train_set = load_split(c, "train", SC.channels, SC.image);
    auto teacher = std::make_unique<teacher_t>();
    auto student = std::make_unique<student_t>();
    student->init(counter_rng(c.seed));
    TINYMIM_CHECK(!a.teacher_weights.empty(),
                  "distill: --teacher-weights FILE is required (an MAE-pre-trained teacher)");
    // The teacher is the file's encoder: an MAE file's decoder, or a classifier's head, is left out.
    const auto rep = io::load_weights(*teacher, a.teacher_weights, io::load_options::as_encoder());
    std::fprintf(stderr, "teacher %s: %s\n", a.teacher_weights.c_str(), rep.summary().c_str());
    d::distill_options dop;
    dop.drop_path = a.drop_path;
    dop.mask_ratio = a.mask_ratio;
    dop.teacher_block = a.teacher_block;
    dop.seed = c.seed;
    dop.adamw.weight_decay = a.weight_decay;
    d::distiller<Pairing> dist(*teacher, *student, dop);
    train::task_options o;
    o.loop = {.name = a.name,
              .epochs = a.epochs,
              .steps_per_epoch = a.steps_per_epoch,
              .lr = a.blr * double(a.batch) / 256.0,
              .warmup_epochs = a.warmup_epochs,
              .out = c.out,
              .resume = c.resume,
              .seed = c.seed,
              .plot = !c.quiet_plots};
    o.batch_size = a.batch;
    o.jitter = a.jitter;
    o.crop_scale_min = a.crop_scale_min;
    std::fprintf(stderr,
                 "distill: %s -> %s, target %s, teacher block %zu, %s input, %zu images, batch %zu, lr %.2e, %s\n",
                 a.teacher.c_str(), a.student.c_str(), a.target.c_str(), dist.teacher_tap(), a.input.c_str(),
                 train_set.size(), a.batch, o.loop.lr, teacher_t::precision_type::name);
    return train::distill(dist, train_set, o);
}

// Every (target, input) for a teacher-student pair.
template <class B, class P, nn::vit_config TC, nn::vit_config SC, bool AllPolicies>
train::loop_result distill_pair(const common_options& c, const distill_args& a) {
    using T = nn::vit<TC, B, float, P>;
    using S = nn::vit<SC, B, float, P>;
    const bool masked = a.input == "masked";
    TINYMIM_CHECK(masked || a.input == "raw", "distill: --input must be raw or masked, not '", a.input, "'");
    if (a.target == "relation") {
        if (!masked) return distill_with<d::pairing<T, S, d::relations<d::qk, d::vv>, d::kl_divergence>>(c, a);
        if constexpr (AllPolicies)
            return distill_with<d::pairing<T, S, d::relations<d::qk, d::vv>, d::kl_divergence, d::last_block,
                                           d::last_block, d::masked_input>>(c, a);
    }
    if constexpr (AllPolicies) {
        if (a.target == "feature") {
            if (!masked) return distill_with<d::pairing<T, S, d::block_output, d::smooth_l1>>(c, a);
            return distill_with<
                d::pairing<T, S, d::block_output, d::smooth_l1, d::last_block, d::last_block, d::masked_input>>(c, a);
        }
        if (a.target == "cls") {
            if (!masked) return distill_with<d::pairing<T, S, d::cls_token, d::kl_divergence>>(c, a);
            return distill_with<
                d::pairing<T, S, d::cls_token, d::kl_divergence, d::last_block, d::last_block, d::masked_input>>(c, a);
        }
        throw tinymim::error("distill: --target must be relation, feature or cls, not '" + a.target + "'");
    }
    throw tinymim::error("distill: the tool instantiates only relation distillation from raw input for " + a.teacher +
                         " -> " + a.student + "; other policies: write the pairing in C++ (see docs/policies.md)");
}
}  // namespace distill_detail

template <class B, class P>
distill_args::result run_on(const common_options& c, const distill_args& a) {
    using namespace distill_detail;
    const std::string pair = a.teacher + ">" + a.student;
    if (pair == "fm-small>fm-tiny") return distill_pair<B, P, nn::fm_small, nn::fm_tiny, true>(c, a);
    if (pair == "fm-base>fm-small") return distill_pair<B, P, nn::fm_base, nn::fm_small, true>(c, a);
    if (pair == "fm-base>fm-tiny") return distill_pair<B, P, nn::fm_base, nn::fm_tiny, true>(c, a);
    if (pair == "vit-small>vit-tiny") return distill_pair<B, P, nn::vit_small, nn::vit_tiny, false>(c, a);
    if (pair == "vit-base>vit-small") return distill_pair<B, P, nn::vit_base, nn::vit_small, false>(c, a);
    if (pair == "vit-large>vit-base") return distill_pair<B, P, nn::vit_large, nn::vit_base, false>(c, a);
    throw tinymim::error("distill: the pairing " + a.teacher + " -> " + a.student +
                         " is not instantiated in the tool; available: fm-small -> fm-tiny, fm-base -> fm-small, "
                         "fm-base -> fm-tiny, vit-small -> vit-tiny, vit-base -> vit-small, vit-large -> vit-base");
}

}  // namespace tool
