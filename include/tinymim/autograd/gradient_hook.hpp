// gradient_hook: told during a backward the moment a parameter's gradient is final, so that work on it (a
// data-parallel allreduce, dist/gradient_reducer.hpp) can start while the backward goes on with earlier layers.
#pragma once

#include <cstddef>

namespace tinymim {

class gradient_hook {
public:
    // `grad` is the parameter's gradient buffer (the one its leaf was made with): no node that has not yet run
    // writes it in this backward. Called once per parameter and backward, on the thread that runs the backward,
    // between two nodes; parameters that got no gradient are reported too (their has_grad flag says so).
    virtual void gradient_final(const void* grad) = 0;
    // Before the first report of a backward: the gradient buffers of every parameter it may write. Any other
    // parameter gets no gradient in this backward (one the forward never used), so its gradient is final now.
    virtual void backward_begins(const void* const* grads, std::size_t n) {
        (void)grads;
        (void)n;
    }

protected:
    gradient_hook() = default;
    gradient_hook(const gradient_hook&) = default;
    gradient_hook& operator=(const gradient_hook&) = default;
    ~gradient_hook() = default;
};

}  // namespace tinymim
