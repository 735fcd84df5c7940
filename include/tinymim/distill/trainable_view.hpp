// distill::trainable_view<Trainer>: a trainer's trained parameters (its student's and its own) seen as one model
// with visit(f), for gradient checks and io::save_weights.
#pragma once

namespace tinymim::distill {

template <class Trainer>
struct trainable_view {
    Trainer* self;
    using value_type = typename Trainer::value_type;
    using backend_type = typename Trainer::backend_type;
    template <class F>
    void visit(F&& f) {
        self->visit_trainable(f);
    }
};

}  // namespace tinymim::distill
