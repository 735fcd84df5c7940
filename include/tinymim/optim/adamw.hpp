// AdamW with per-parameter weight decay and lr scale, optional gradient-norm clipping, and state that
// saves with a checkpoint. Parameters that received no gradient in a step are left untouched
// (their moments and step count too), as PyTorch does for parameters whose .grad is None.
#pragma once

#include <cmath>
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "tinymim/backend/kernels.hpp"
#include "tinymim/nn/parameter.hpp"
#include "tinymim/optim/param_groups.hpp"
#include "tinymim/tensor/tensor.hpp"

namespace tinymim::optim {

struct adamw_options {
    double beta1 = 0.9;
    double beta2 = 0.999;
    double eps = 1e-8;
    double weight_decay = 0.05;
    double clip_grad_norm = 0;  // 0: no clipping; else the global L2 norm is clipped to this
    double layer_decay = 1.0;   // < 1: layer-wise lr decay for a ViT of `depth` blocks
    std::size_t depth = 0;
};

template <element T, backend B = cpu>
class adamw {
public:
    struct slot {
        nn::param_ref<T> param;
        tensor<T, shape<dyn>, B> m, v;
        std::uint64_t steps = 0;
        double weight_decay = 0, lr_scale = 1;
    };

    adamw(std::vector<nn::param_ref<T>> params, const adamw_options& opt) : opt_(opt) {
        for (auto& p : params) {
            if (!p.trainable()) continue;
            slot s;
            s.param = p;
            s.m = tensor<T, shape<dyn>, B>({p.size});
            s.v = tensor<T, shape<dyn>, B>({p.size});
            s.m.fill(T(0));
            s.v.fill(T(0));
            s.weight_decay = decays(p) ? opt.weight_decay : 0.0;
            s.lr_scale = opt.layer_decay < 1.0 ? layer_decay_scale(p, opt.depth, opt.layer_decay) : 1.0;
            slots_.push_back(std::move(s));
        }
    }

    // Applies one update at learning rate lr to every parameter touched since the last step, then
    // marks them untouched. Returns the global gradient norm (before clipping).
    double step(double lr) {
        double sq = 0;
        for (auto& s : slots_)
            if (*s.param.has_grad) sq += backends::sum_squares(B{}, s.param.size, s.param.grad);
        const double norm = std::sqrt(sq);
        double scale = 1;
        if (opt_.clip_grad_norm > 0 && norm > opt_.clip_grad_norm) scale = opt_.clip_grad_norm / (norm + 1e-6);
        for (auto& s : slots_) {
            if (!*s.param.has_grad) continue;
            ++s.steps;
            const double bc1 = 1 - std::pow(opt_.beta1, double(s.steps));
            const double bc2 = 1 - std::pow(opt_.beta2, double(s.steps));
            backends::adamw_update(B{}, s.param.size, s.param.value, s.param.grad, s.m.data(), s.v.data(),
                                   lr * s.lr_scale, opt_.beta1, opt_.beta2, opt_.eps, s.weight_decay, bc1, bc2, scale);
            *s.param.has_grad = false;
        }
        return norm;
    }

    // Forgets the gradients of this step without updating (a skipped step).
    void zero_grad() {
        for (auto& s : slots_) *s.param.has_grad = false;
    }

    [[nodiscard]] std::vector<slot>& slots() noexcept { return slots_; }
    [[nodiscard]] const adamw_options& options() const noexcept { return opt_; }

    // Visits the optimizer state as named tensors ("<param>.exp_avg", "<param>.exp_avg_sq") plus the
    // step counts, for checkpoints. `steps_host` receives/gives one count per slot.
    template <class F>
    void visit_state(F&& f) {
        for (auto& s : slots_) {
            for (auto* t : {&s.m, &s.v}) {
                nn::param_ref<T> r;
                r.name = s.param.name + (t == &s.m ? ".exp_avg" : ".exp_avg_sq");
                r.shape = s.param.shape;
                r.value = t->data();
                r.size = t->size();
                r.to_host = &B::copy_to_host;
                r.from_host = &B::copy_from_host;
                f(r);
            }
        }
    }
    [[nodiscard]] std::vector<std::uint64_t> step_counts() const {
        std::vector<std::uint64_t> c;
        for (auto& s : slots_) c.push_back(s.steps);
        return c;
    }
    void set_step_counts(const std::vector<std::uint64_t>& c) {
        TINYMIM_CHECK(c.size() == slots_.size(), "adamw: ", c.size(), " step counts for ", slots_.size(),
                      " parameters");
        for (std::size_t i = 0; i < c.size(); ++i) slots_[i].steps = c[i];
    }

private:
    adamw_options opt_;
    std::vector<slot> slots_;
};

}  // namespace tinymim::optim
