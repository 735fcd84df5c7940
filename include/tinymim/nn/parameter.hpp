// parameter<S, B, T>: a trainable tensor with its gradient buffer; param_ref: its type-erased view
// (name, PyTorch shape, pointers) for weights files and optimizers.
#pragma once

#include <cstddef>
#include <functional>
#include <string>
#include <vector>

#include "tinymim/autograd/var.hpp"
#include "tinymim/tensor/tensor.hpp"

namespace tinymim::nn {

// A view of one named tensor of a model, independent of its static shape and backend.
template <element T>
struct param_ref {
    std::string name;                // timm / MAE state-dict name
    std::vector<std::size_t> shape;  // the PyTorch shape (e.g. [D, C, p, p] for the patch embedding)
    T* value = nullptr;              // backend memory
    T* grad = nullptr;               // null for buffers that are not trained (fixed position embeddings)
    bool* has_grad = nullptr;        // set when a backward wrote grad in this step
    std::size_t size = 0;
    bool one_dimensional = false;  // biases, norms, and (by name) tokens: no weight decay
    void (*to_host)(void* dst, const void* src, std::size_t bytes) = nullptr;
    void (*from_host)(void* dst, const void* src, std::size_t bytes) = nullptr;
    [[nodiscard]] bool trainable() const noexcept { return grad != nullptr; }
};

template <element T>
using param_visitor = std::function<void(param_ref<T>&)>;

// A trainable tensor. `on(tape)` makes the var a forward pass uses; its gradient accumulates into
// `grad` (zeroed on the first touch of a step; `has_grad` tells the optimizer it was touched).
template <class S, backend B = cpu, element T = float>
struct parameter {
    tensor<T, S, B> value;
    tensor<T, S, B> grad;
    bool has_grad = false;

    parameter() = default;
    explicit parameter(const extents<S>& e) : value(e), grad(e) {}

    [[nodiscard]] var<T, S, B> on(tape<B>& t) { return leaf(t, value, grad, has_grad); }

    [[nodiscard]] param_ref<T> ref(std::string name, std::vector<std::size_t> torch_shape = {}) {
        param_ref<T> r;
        r.name = std::move(name);
        if (torch_shape.empty()) {
            const auto all = value.shape().all();
            torch_shape.assign(all.begin(), all.end());
        }
        r.shape = std::move(torch_shape);
        r.value = value.data();
        r.grad = grad.data();
        r.has_grad = &has_grad;
        r.size = value.size();
        r.one_dimensional = S::rank == 1;
        r.to_host = &B::copy_to_host;
        r.from_host = &B::copy_from_host;
        return r;
    }
};

// A named tensor that is saved and loaded but not trained (a fixed sin-cos position embedding).
template <element T, class S, backend B>
[[nodiscard]] param_ref<T> buffer_ref(tensor<T, S, B>& t, std::string name, std::vector<std::size_t> torch_shape = {}) {
    param_ref<T> r;
    r.name = std::move(name);
    if (torch_shape.empty()) {
        const auto all = t.shape().all();
        torch_shape.assign(all.begin(), all.end());
    }
    r.shape = std::move(torch_shape);
    r.value = t.data();
    r.size = t.size();
    r.to_host = &B::copy_to_host;
    r.from_host = &B::copy_from_host;
    return r;
}

}  // namespace tinymim::nn
