// DeiT logit distillation (Touvron et al. 2021) while fine-tuning: the student's class head learns the labels,
// its distillation head (a distillation token, nn::vit_config::distill_token) the teacher's logits.
//   soft: (1 - a) CE(z_cls, y) + a tau^2 KL(softmax(z_t / tau) || softmax(z_dist / tau))   (a = 0.1, tau = 3)
//   hard: (1 - a) CE(z_cls, y) + a CE(z_dist, argmax z_t)                                   (a = 0.5)
// The KL is averaged over the samples (the paper's formula; DeiT's code divides its sum by samples x classes).
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "tinymim/core/error.hpp"
#include "tinymim/ops/elementwise.hpp"
#include "tinymim/ops/losses.hpp"
#include "tinymim/ops/softmax.hpp"
#include "tinymim/tensor/row_argmax.hpp"

namespace tinymim::distill {

enum class deit_mode { soft, hard };

struct deit_options {
    deit_mode mode = deit_mode::hard;
    double alpha = -1;  // the distillation term's weight; < 0: the paper's (0.1 soft, 0.5 hard)
    double tau = 3;     // soft: the temperature of both distributions

    [[nodiscard]] double weight() const { return alpha >= 0 ? alpha : (mode == deit_mode::soft ? 0.1 : 0.5); }
    void check() const {
        TINYMIM_CHECK(alpha < 0 || alpha <= 1, "deit: the distillation weight ", alpha, " is outside [0, 1]");
        TINYMIM_CHECK(tau > 0, "deit: the temperature ", tau, " must be positive");
    }
    [[nodiscard]] static deit_mode parse_mode(const std::string& s) {
        if (s == "soft") return deit_mode::soft;
        if (s == "hard") return deit_mode::hard;
        throw error("deit: the distillation must be soft or hard, not '" + s + "'");
    }
};

// The loss and its two terms (each a scalar var of the student's tape).
template <class V>
struct deit_terms {
    V total, ce, distill;
};

// The criterion (as DeiT's DistillationLoss): it keeps the hard labels it derives from the teacher until its next
// call, since the backward reads them.
template <backend B>
class deit_criterion {
public:
    explicit deit_criterion(const deit_options& o) : o_(o) { o_.check(); }
    [[nodiscard]] const deit_options& options() const noexcept { return o_; }

    // z_cls, z_dist: the student's two heads ([B, K] vars); teacher: the teacher's logits [B, K] (a tensor, no
    // gradient); labels: [B] int32; smoothing: label smoothing of the class head's cross-entropy.
    template <element T, class S, class ST, class SL>
    [[nodiscard]] auto operator()(const var<T, S, B>& z_cls, const var<T, S, B>& z_dist,
                                  const tensor<T, ST, B>& teacher, const tensor<std::int32_t, SL, B>& labels,
                                  T smoothing = T(0)) {
        TINYMIM_CHECK(teacher.shape().all() == z_dist.shape().all(), "deit: the teacher's logits ",
                      teacher.shape().str(), " and the student's ", z_dist.shape().str(),
                      " differ (batch and classes must match)");
        auto& t = z_cls.get_tape();
        const T a = T(o_.weight());
        auto ce = ops::cross_entropy(z_cls, labels, smoothing);
        auto kd = o_.mode == deit_mode::soft ? soft(t, z_dist, teacher) : hard(z_dist, teacher);
        auto total = ops::add(ops::scale(ce, T(1) - a), ops::scale(kd, a));
        return deit_terms<decltype(total)>{total, ce, kd};
    }

private:
    template <element T, class S, class ST>
    auto soft(tape<B>& t, const var<T, S, B>& z_dist, const tensor<T, ST, B>& teacher) {
        const T tau = T(o_.tau);
        auto probs = ops::softmax(input(t, teacher), T(1) / tau);
        return ops::scale(ops::kl_divergence(probs, z_dist, tau), tau * tau);
    }
    template <element T, class S, class ST>
    auto hard(const var<T, S, B>& z_dist, const tensor<T, ST, B>& teacher) {
        const std::vector<std::int32_t> arg = row_argmax(teacher);
        if (hard_.size() != arg.size()) hard_ = tensor<std::int32_t, shape<dyn>, B>({arg.size()});
        hard_.copy_from(arg);
        return ops::cross_entropy(z_dist, hard_);
    }

    deit_options o_;
    tensor<std::int32_t, shape<dyn>, B> hard_;  // argmax of the teacher's logits, read by the backward
};

}  // namespace tinymim::distill
