// var<T, Shape, Backend>: a value on a tape, with its gradient found through the tape.
#pragma once

#include <cstddef>

#include "tinymim/autograd/tape.hpp"
#include "tinymim/core/shape.hpp"
#include "tinymim/tensor/tensor.hpp"

namespace tinymim {

// A handle (three words): the tape, the value's slot, the run-time extents. Valid until the
// tape's reset(). Reshaped views share the slot (and so the gradient) of their source.
template <element T, class S, backend B = cpu>
class var {
public:
    using value_type = T;
    using shape_type = S;
    using backend_type = B;
    static constexpr std::size_t rank = S::rank;

    var() = default;
    var(tape<B>* t, slot<T>* s, const extents<S>& e) : tape_(t), slot_(s), ext_(e) {}

    [[nodiscard]] T* data() const noexcept { return slot_->value; }
    [[nodiscard]] T* grad() const noexcept { return slot_->grad(); }  // null when no gradient reached it
    [[nodiscard]] const extents<S>& shape() const noexcept { return ext_; }
    [[nodiscard]] std::size_t extent(std::size_t i) const { return ext_[i]; }
    [[nodiscard]] std::size_t size() const noexcept { return slot_->size; }
    [[nodiscard]] bool requires_grad() const noexcept { return slot_->requires_grad; }
    [[nodiscard]] tape<B>& get_tape() const noexcept { return *tape_; }
    [[nodiscard]] slot<T>* get_slot() const noexcept { return slot_; }

    // The same value, cut off from the graph: no gradient flows through it.
    [[nodiscard]] var detach() const { return var(tape_, tape_->wrap(slot_->value, slot_->size, false), ext_); }

    // The same buffer seen with another shape of equal size; gradients flow through unchanged.
    template <class S2>
    [[nodiscard]] var<T, S2, B> view_as(const extents<S2>& e) const {
        TINYMIM_CHECK(e.size() == size(), "view: cannot view a tensor of shape ", ext_.str(), " (", size(),
                      " values) as ", e.str(), " (", e.size(), " values)");
        return var<T, S2, B>(tape_, slot_, e);
    }

    // Copies the value out into an owning tensor.
    [[nodiscard]] tensor<T, S, B> value() const {
        tensor<T, S, B> t(ext_);
        B::copy(t.data(), slot_->value, size() * sizeof(T));
        return t;
    }

    // Runs backward from this value (ones as the seed, or a seed buffer of size() values).
    void backward(const T* seed = nullptr) const { tape_->backward(slot_, seed); }

private:
    tape<B>* tape_ = nullptr;
    slot<T>* slot_ = nullptr;
    extents<S> ext_{};
};

template <class V>
inline constexpr bool is_var_v = false;
template <class T, class S, class B>
inline constexpr bool is_var_v<var<T, S, B>> = true;

// A var of any element type, shape and backend.
template <class V>
concept any_var = is_var_v<V>;

// A value the tape reads but never differentiates (the tensor must outlive the step).
template <element T, class S, backend B>
[[nodiscard]] var<T, S, B> input(tape<B>& t, const tensor<T, S, B>& x) {
    return var<T, S, B>(&t, t.wrap(const_cast<T*>(x.data()), x.size(), false), x.shape());
}

// A leaf that wants a gradient; the gradient lives in the tape's arena (read it with .grad()).
template <element T, class S, backend B>
[[nodiscard]] var<T, S, B> leaf(tape<B>& t, const tensor<T, S, B>& x) {
    return var<T, S, B>(&t, t.wrap(const_cast<T*>(x.data()), x.size(), grad_enabled()), x.shape());
}

// A leaf whose gradient accumulates into an outside buffer. `has_grad` false: the buffer is
// zeroed on first touch; true: gradients add to what is there.
template <element T, class S, backend B>
[[nodiscard]] var<T, S, B> leaf(tape<B>& t, const tensor<T, S, B>& x, tensor<T, S, B>& grad, bool& has_grad) {
    TINYMIM_CHECK(grad.size() == x.size(), "leaf: gradient buffer has ", grad.size(), " values, value has ", x.size());
    return var<T, S, B>(&t, t.wrap(const_cast<T*>(x.data()), x.size(), grad_enabled(), grad.data(), &has_grad),
                        x.shape());
}

// A new output var of the given extents, needing a gradient when any input does (and grad mode is on).
template <element T, class S, backend B>
[[nodiscard]] var<T, S, B> make_output(tape<B>& t, const extents<S>& e, bool any_input_requires_grad) {
    return var<T, S, B>(&t, t.template make_slot<T>(e.size(), any_input_requires_grad && grad_enabled()), e);
}

}  // namespace tinymim
