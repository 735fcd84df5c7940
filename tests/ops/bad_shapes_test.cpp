// Every public op given dynamic extents that do not fit: a tinymim::error that names the op and both
// shapes, never a crash or a result. (Extents the compiler can see are static_asserts: tests/compile_fail/.)
#include <boost/test/unit_test.hpp>

#include <functional>
#include <initializer_list>
#include <string>

#include "../support/common.hpp"
#include "tinymim/fused/layer_norm_linear.hpp"
#include "tinymim/ops/attention.hpp"
#include "tinymim/ops/elementwise.hpp"
#include "tinymim/ops/layer_norm.hpp"
#include "tinymim/ops/linear.hpp"
#include "tinymim/ops/losses.hpp"
#include "tinymim/ops/matmul.hpp"
#include "tinymim/ops/samples.hpp"
#include "tinymim/ops/tokens.hpp"

using namespace tinymim;

namespace {
template <class S, class... I>
tensor<float, S> zeros(I... sizes) {
    return tensor<float, S>(make_extents<S>(std::size_t(sizes)...));
}

// f must throw a tinymim::error whose message holds every fragment (the op's name, the shapes).
void refuses(const char* what, const std::function<void()>& f, std::initializer_list<const char*> fragments) {
    try {
        f();
        BOOST_ERROR(what << ": no error");
    } catch (const tinymim::error& e) {
        const std::string m = e.what();
        for (const char* frag : fragments)
            BOOST_TEST(m.find(frag) != std::string::npos, what << ": the message lacks '" << frag << "': " << m);
    }
}
using S2 = shape<dyn, dyn>;
using S3 = shape<dyn, dyn, dyn>;
using S4 = shape<dyn, dyn, dyn, dyn>;
using V = shape<dyn>;
}  // namespace

BOOST_AUTO_TEST_SUITE(bad_shapes)

BOOST_AUTO_TEST_CASE(elementwise_and_losses) {
    tape<cpu> t;
    auto a = zeros<S2>(3, 4), b = zeros<S2>(2, 4), c = zeros<S2>(3, 5);
    refuses("add", [&] { (void)ops::add(input(t, a), input(t, b)); }, {"add", "[3, 4]", "[2, 4]"});
    refuses("sub", [&] { (void)ops::sub(input(t, a), input(t, c)); }, {"sub", "[3, 4]", "[3, 5]"});
    refuses("mul", [&] { (void)ops::mul(input(t, a), input(t, b)); }, {"mul", "[3, 4]", "[2, 4]"});
    refuses("mse", [&] { (void)ops::mse(input(t, a), input(t, c)); }, {"mse", "[3, 4]", "[3, 5]"});
    refuses("smooth_l1", [&] { (void)ops::smooth_l1(input(t, a), input(t, b)); }, {"smooth_l1", "[3, 4]", "[2, 4]"});
    refuses("cosine", [&] { (void)ops::cosine(input(t, a), input(t, c)); }, {"cosine", "[3, 4]", "[3, 5]"});
    refuses("kl_divergence", [&] { (void)ops::kl_divergence(input(t, a), input(t, b), 1.0f); },
            {"kl_divergence", "[3, 4]", "[2, 4]"});
    tensor<std::int32_t, shape<dyn>> labels(make_extents<shape<dyn>>(2));
    refuses("cross_entropy", [&] { (void)ops::cross_entropy(input(t, a), labels); },
            {"cross_entropy", "[3, 4]", "[2]"});
}

BOOST_AUTO_TEST_CASE(matmul_linear_and_layer_norm) {
    tape<cpu> t;
    auto a = zeros<S2>(3, 4), b = zeros<S2>(5, 6);
    refuses("matmul", [&] { (void)ops::matmul(input(t, a), input(t, b)); }, {"matmul", "[3, 4]", "[5, 6]"});
    auto a3 = zeros<S3>(2, 3, 4), b3 = zeros<S3>(3, 4, 5);
    refuses("matmul batch", [&] { (void)ops::matmul(input(t, a3), input(t, b3)); },
            {"matmul", "[2, 3, 4]", "[3, 4, 5]"});
    auto w = zeros<S2>(6, 5);
    auto bias = zeros<V>(7), gamma = zeros<V>(5), gamma4 = zeros<V>(4);
    refuses("linear", [&] { (void)ops::linear(input(t, a), input(t, w)); }, {"linear", "[3, 4]", "[6, 5]"});
    auto x5 = zeros<S2>(3, 5);
    refuses("linear bias", [&] { (void)ops::linear(input(t, x5), input(t, w), input(t, bias)); },
            {"linear", "[7]", "[6, 5]"});
    refuses("linear bf16", [&] { (void)ops::linear(input(t, a), input(t, w), bf16_mixed{}); },
            {"linear", "[3, 4]", "[6, 5]"});
    refuses("layer_norm", [&] { (void)ops::layer_norm(input(t, a), input(t, gamma), input(t, gamma), 1e-6f); },
            {"layer_norm", "[5]", "[3, 4]"});
    auto w4 = zeros<S2>(6, 4);
    refuses("layer_norm_linear",
            [&] {
                (void)fused::layer_norm_linear(input(t, a), input(t, gamma), input(t, gamma), 1e-6f, input(t, w),
                                               input(t, bias));
            },
            {"layer_norm_linear", "[3, 4]", "[6, 5]"});
    refuses("layer_norm_linear bias",
            [&] {
                (void)fused::layer_norm_linear(input(t, a), input(t, gamma4), input(t, gamma4), 1e-6f, input(t, w4),
                                               input(t, bias));
            },
            {"layer_norm_linear", "[7]", "[6, 4]"});
}

BOOST_AUTO_TEST_CASE(tokens_heads_attention_and_samples) {
    tape<cpu> t;
    auto a = zeros<S3>(2, 3, 4), b = zeros<S3>(2, 1, 5), c = zeros<S3>(3, 1, 4);
    refuses("concat_tokens width", [&] { (void)ops::concat_tokens(input(t, a), input(t, b)); },
            {"concat_tokens", "[2, 3, 4]", "[2, 1, 5]"});
    refuses("concat_tokens batch", [&] { (void)ops::concat_tokens(input(t, a), input(t, c)); },
            {"concat_tokens", "[2, 3, 4]", "[3, 1, 4]"});
    tensor<std::int32_t, shape<dyn, dyn>> idx(make_extents<shape<dyn, dyn>>(3, 2));
    refuses("gather_tokens", [&] { (void)ops::gather_tokens(input(t, a), idx); },
            {"gather_tokens", "[3, 2]", "[2, 3, 4]"});
    refuses("split_heads", [&] { (void)ops::split_heads(input(t, a), 3); }, {"split_heads", "4", "3 heads"});
    auto q = zeros<S4>(2, 2, 3, 4), k = zeros<S4>(2, 2, 5, 4);
    refuses("attention", [&] { (void)ops::attention(input(t, q), input(t, k), input(t, q), 0.5f); },
            {"attention", "[2, 2, 3, 4]", "[2, 2, 5, 4]"});
    ops::sample_runs runs(3);
    runs.add(0);
    refuses("take_samples", [&] { (void)ops::take_samples(input(t, a), runs); }, {"take_samples", "3", "[2, 3, 4]"});
}

BOOST_AUTO_TEST_SUITE_END()
