// Golden tests: float32 values and gradients against PyTorch (tests/reference/make_op_fixtures.py).
// Tolerances: relative error <= 1e-5 for values, <= 1e-4 for gradients.
#include "../support/fixture.hpp"

#include "tinymim/ops/attention.hpp"
#include "tinymim/ops/gelu.hpp"
#include "tinymim/ops/layer_norm.hpp"
#include "tinymim/ops/losses.hpp"
#include "tinymim/ops/softmax.hpp"

using namespace tinymim;
using tt::check_close;
using tt::load;

namespace {
constexpr double value_tol = 1e-5, grad_tol = 1e-4;

// Runs y = fn(vars...) on float fixtures name.x0.., seeds backward with name.r, checks y and the dx's.
template <class... S, class Fn>
void golden(const std::string& name, Fn fn) {
    auto& f = tt::fixture("ops.safetensors");
    tape<cpu> t;
    t.set_poison(true);
    [&]<std::size_t... I>(std::index_sequence<I...>) {
        auto xs = std::make_tuple(load<S>(f, name + ".x" + std::to_string(I))...);
        auto vs = std::make_tuple(leaf(t, std::get<I>(xs))...);
        auto y = fn(std::get<I>(vs)...);
        check_close(f, name + ".y", y.data(), y.size(), value_tol);
        const auto r = f.read<float>(name + ".r");
        BOOST_REQUIRE_EQUAL(r.size(), y.size());
        y.backward(r.data());
        (check_close(f, name + ".dx" + std::to_string(I), std::get<I>(vs).grad(), std::get<I>(vs).size(), grad_tol),
         ...);
    }
    (std::index_sequence_for<S...>{});
}
}  // namespace

BOOST_AUTO_TEST_SUITE(golden_pytorch)

BOOST_AUTO_TEST_CASE(layer_norm) {
    golden<shape<dyn, 7, 48>, shape<48>, shape<48>>(
        "layer_norm", [](auto x, auto g, auto b) { return ops::layer_norm(x, g, b, 1e-6f); });
    golden<shape<dyn, 7, 48>>("layer_norm_plain", [](auto x) { return ops::layer_norm(x, 1e-6f); });
}
BOOST_AUTO_TEST_CASE(gelu) {
    golden<shape<3, 50>>("gelu", [](auto x) { return ops::gelu(x); });
}
BOOST_AUTO_TEST_CASE(softmax_and_log_softmax) {
    golden<shape<dyn, 2, 9, 9>>("softmax", [](auto x) { return ops::softmax(x); });
    golden<shape<6, 10>>("log_softmax", [](auto x) { return ops::log_softmax(x); });
}
BOOST_AUTO_TEST_CASE(attention) {
    using S = shape<dyn, 3, 17, 8>;
    golden<S, S, S>("attention", [](auto q, auto k, auto v) { return ops::attention(q, k, v).out; });
    golden<S, S>("attention_probs", [](auto q, auto k) { return ops::attention(q, k, k).probs; });
}
BOOST_AUTO_TEST_CASE(losses) {
    auto& f = tt::fixture("ops.safetensors");
    auto labels = load<shape<8>, std::int32_t>(f, "cross_entropy.labels");
    golden<shape<8, 10>>("cross_entropy", [&](auto z) { return ops::cross_entropy(z, labels, 0.1f); });
    golden<shape<8, 10>>("cross_entropy_plain", [&](auto z) { return ops::cross_entropy(z, labels); });
    golden<shape<5, 12>, shape<5, 12>>("mse", [](auto a, auto b) { return ops::mse(a, b); });
    golden<shape<5, 12>, shape<5, 12>>("smooth_l1", [](auto a, auto b) { return ops::smooth_l1(a, b, 2.0f); });
    using R = shape<dyn, 3, 9, 9>;
    golden<R, R>("kl", [](auto t, auto z) { return ops::kl_divergence(t, z); });
    golden<shape<6, 16>, shape<6, 16>>("cosine", [](auto a, auto b) { return ops::cosine(a, b); });
}

BOOST_AUTO_TEST_SUITE_END()
