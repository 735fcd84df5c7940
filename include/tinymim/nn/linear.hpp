// nn::linear<In, Out>: weight [Out, In] and bias [Out], as torch.nn.Linear; its products in precision P.
#pragma once

#include <string>

#include "tinymim/nn/init.hpp"
#include "tinymim/nn/parameter.hpp"
#include "tinymim/ops/layer_norm.hpp"
#include "tinymim/ops/linear.hpp"

namespace tinymim::nn {

template <std::size_t In, std::size_t Out, backend B = cpu, element T = float, precision_policy P = fp32>
struct linear {
    static_assert(In > 0 && Out > 0, "nn::linear: feature counts must be positive");
    static_assert(precision_fits<P, T>, "nn::linear: bf16_mixed keeps float master weights (element float)");
    parameter<shape<Out, In>, B, T> weight;
    parameter<shape<Out>, B, T> bias;

    template <class S>
    [[nodiscard]] auto operator()(tape<B>& t, const var<T, S, B>& x) {
        return ops::linear(x, weight.on(t), bias.on(t), P{});
    }
    void init_xavier(const counter_rng& rng) {
        init::xavier_uniform(weight.value, In, Out, rng);
        bias.value.fill(T(0));
    }
    template <class F>
    void visit(const std::string& prefix, F&& f) {
        auto w = weight.ref(prefix + ".weight");
        auto b = bias.ref(prefix + ".bias");
        f(w);
        f(b);
    }
};

// nn::layer_norm<D>: weight (gamma) and bias (beta) [D], eps a run-time member (1e-6 for ViTs).
template <std::size_t D, backend B = cpu, element T = float>
struct layer_norm {
    parameter<shape<D>, B, T> weight;
    parameter<shape<D>, B, T> bias;
    T eps = T(1e-6);

    template <class S>
    [[nodiscard]] auto operator()(tape<B>& t, const var<T, S, B>& x) {
        return ops::layer_norm(x, weight.on(t), bias.on(t), eps);
    }
    void init() {
        weight.value.fill(T(1));
        bias.value.fill(T(0));
    }
    template <class F>
    void visit(const std::string& prefix, F&& f) {
        auto w = weight.ref(prefix + ".weight");
        auto b = bias.ref(prefix + ".bias");
        f(w);
        f(b);
    }
};

}  // namespace tinymim::nn
