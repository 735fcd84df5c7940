// Gradient checks (double, central differences, pre-seeded slots, poison mode) for the dense ops.
#include "../support/common.hpp"

#include <algorithm>
#include <cmath>
#include <vector>

#include "tinymim/ops/attention.hpp"
#include "tinymim/ops/elementwise.hpp"
#include "tinymim/ops/gelu.hpp"
#include "tinymim/ops/layer_norm.hpp"
#include "tinymim/ops/linear.hpp"
#include "tinymim/ops/losses.hpp"
#include "tinymim/ops/matmul.hpp"
#include "tinymim/ops/reduce.hpp"
#include "tinymim/ops/softmax.hpp"

using namespace tinymim;
using tt::randn;
using cpu_tape = tape<cpu>;

BOOST_AUTO_TEST_SUITE(gradients)

BOOST_AUTO_TEST_CASE(matmul_all_transposes_batched) {
    auto a = randn<shape<2, 3, 4>>(1);
    auto b = randn<shape<2, 4, 5>>(2);
    TT_CHECK_GRADIENTS([](cpu_tape&, auto x, auto y) { return ops::matmul(x, y, 0.5); }, a, b);
    auto at = randn<shape<2, 4, 3>>(3);
    TT_CHECK_GRADIENTS([](cpu_tape&, auto x, auto y) { return ops::matmul<true, false>(x, y); }, at, b);
    auto bt = randn<shape<2, 5, 4>>(4);
    TT_CHECK_GRADIENTS([](cpu_tape&, auto x, auto y) { return ops::matmul<false, true>(x, y); }, a, bt);
    TT_CHECK_GRADIENTS([](cpu_tape&, auto x, auto y) { return ops::matmul<true, true>(x, y); }, at, bt);
}

BOOST_AUTO_TEST_CASE(matmul_shared_matrix) {
    auto a = randn<shape<dyn, 3, 4>>(5, 2, 3, 4);
    auto w = randn<shape<4, 6>>(6);
    TT_CHECK_GRADIENTS([](cpu_tape&, auto x, auto y) { return ops::matmul(x, y); }, a, w);
    auto wt = randn<shape<6, 4>>(7);
    TT_CHECK_GRADIENTS([](cpu_tape&, auto x, auto y) { return ops::matmul<false, true>(x, y); }, a, wt);
    auto at = randn<shape<dyn, 4, 3>>(8, 2, 4, 3);
    TT_CHECK_GRADIENTS([](cpu_tape&, auto x, auto y) { return ops::matmul<true, false>(x, y); }, at, w);
    TT_CHECK_GRADIENTS([](cpu_tape&, auto x, auto y) { return ops::matmul<true, true>(x, y); }, at, wt);
}

BOOST_AUTO_TEST_CASE(linear_with_and_without_bias) {
    auto x = randn<shape<dyn, 3, 5>>(9, 2, 3, 5);
    auto w = randn<shape<4, 5>>(10);
    auto b = randn<shape<4>>(11);
    TT_CHECK_GRADIENTS([](cpu_tape&, auto xx, auto ww, auto bb) { return ops::linear(xx, ww, bb); }, x, w, b);
    TT_CHECK_GRADIENTS([](cpu_tape&, auto xx, auto ww) { return ops::linear(xx, ww); }, x, w);
}

BOOST_AUTO_TEST_CASE(add_sub_mul_scale_with_broadcasts) {
    auto x = randn<shape<dyn, 3, 4>>(12, 2, 3, 4);
    auto same = randn<shape<dyn, 3, 4>>(13, 2, 3, 4);
    auto pos = randn<shape<1, 3, 4>>(14);
    auto bias = randn<shape<4>>(15);
    TT_CHECK_GRADIENTS([](cpu_tape&, auto a, auto b) { return ops::add(a, b); }, x, same);
    TT_CHECK_GRADIENTS([](cpu_tape&, auto a, auto b) { return ops::add(a, b); }, x, pos);
    TT_CHECK_GRADIENTS([](cpu_tape&, auto a, auto b) { return ops::sub(a, b); }, x, bias);
    TT_CHECK_GRADIENTS([](cpu_tape&, auto a, auto b) { return ops::mul(a, b); }, x, same);
    TT_CHECK_GRADIENTS([](cpu_tape&, auto a, auto b) { return ops::mul(a, b); }, x, bias);
    TT_CHECK_GRADIENTS([](cpu_tape&, auto a) { return ops::scale(a, -1.5); }, x);
}

BOOST_AUTO_TEST_CASE(sum_and_mean) {
    auto x = randn<shape<2, 3, 4>>(16);
    TT_CHECK_GRADIENTS([](cpu_tape&, auto a) { return ops::sum<0>(a); }, x);
    TT_CHECK_GRADIENTS([](cpu_tape&, auto a) { return ops::mean<1>(a); }, x);
    TT_CHECK_GRADIENTS([](cpu_tape&, auto a) { return ops::sum<2>(a); }, x);
    TT_CHECK_GRADIENTS([](cpu_tape&, auto a) { return ops::mean(a); }, x);
    TT_CHECK_GRADIENTS([](cpu_tape&, auto a) { return ops::sum(a); }, x);
}

BOOST_AUTO_TEST_CASE(layer_norm_affine_and_plain) {
    auto x = randn<shape<dyn, 3, 8>>(17, 2, 3, 8);
    auto g = randn<shape<8>>(18);
    auto b = randn<shape<8>>(19);
    TT_CHECK_GRADIENTS([](cpu_tape&, auto a, auto gg, auto bb) { return ops::layer_norm(a, gg, bb, 1e-6); }, x, g, b);
    TT_CHECK_GRADIENTS([](cpu_tape&, auto a) { return ops::layer_norm(a, 1e-6); }, x);
}

BOOST_AUTO_TEST_CASE(gelu_softmax_log_softmax) {
    auto x = randn<shape<3, 7>>(20);
    TT_CHECK_GRADIENTS([](cpu_tape&, auto a) { return ops::gelu(a); }, x);
    TT_CHECK_GRADIENTS([](cpu_tape&, auto a) { return ops::softmax(a); }, x);
    TT_CHECK_GRADIENTS([](cpu_tape&, auto a) { return ops::softmax(a, 0.7); }, x);
    TT_CHECK_GRADIENTS([](cpu_tape&, auto a) { return ops::log_softmax(a); }, x);
    TT_CHECK_GRADIENTS([](cpu_tape&, auto a) { return ops::log_softmax(a, 2.0); }, x);
}

BOOST_AUTO_TEST_CASE(attention_output_and_probabilities) {
    auto q = randn<shape<dyn, 2, 5, 4>>(21, 2, 2, 5, 4);
    auto k = randn<shape<dyn, 2, 5, 4>>(22, 2, 2, 5, 4);
    auto v = randn<shape<dyn, 2, 5, 4>>(23, 2, 2, 5, 4);
    TT_CHECK_GRADIENTS([](cpu_tape&, auto a, auto b, auto c) { return ops::attention(a, b, c).out; }, q, k, v);
    TT_CHECK_GRADIENTS([](cpu_tape&, auto a, auto b, auto c) { return ops::attention(a, b, c).probs; }, q, k, v);
}

BOOST_AUTO_TEST_CASE(head_split_and_merge) {
    auto x = randn<shape<dyn, 5, 12>>(24, 2, 5, 12);  // a fused qkv of width 3 x 4
    TT_CHECK_GRADIENTS([](cpu_tape&, auto a) { return ops::split_heads<3>(a, 2, 1); }, x);
    auto h = randn<shape<dyn, dyn, 5, 2>>(25, 2, 3, 5, 2);
    TT_CHECK_GRADIENTS([](cpu_tape&, auto a) { return ops::merge_heads<6>(a); }, h);
}

BOOST_AUTO_TEST_CASE(losses) {
    auto a = randn<shape<4, 6>>(26);
    auto b = randn<shape<4, 6>>(27);
    TT_CHECK_GRADIENTS([](cpu_tape&, auto x, auto y) { return ops::mse(x, y); }, a, b);
    TT_CHECK_GRADIENTS([](cpu_tape&, auto x, auto y) { return ops::smooth_l1(x, y, 2.0); }, a, b);
    TT_CHECK_GRADIENTS([](cpu_tape&, auto x, auto y) { return ops::smooth_l1(x, y, 0.5); }, a, b);
    TT_CHECK_GRADIENTS([](cpu_tape&, auto x, auto y) { return ops::cosine(x, y); }, a, b);
    // KL: teacher probabilities from a softmax, so both sides are differentiable here.
    TT_CHECK_GRADIENTS([](cpu_tape&, auto t, auto z) { return ops::kl_divergence(ops::softmax(t), z); }, a, b);
    TT_CHECK_GRADIENTS([](cpu_tape&, auto t, auto z) { return ops::kl_divergence(ops::softmax(t), z, 2.0); }, a, b);
    tensor<std::int32_t, shape<4>> labels;
    for (int i = 0; i < 4; ++i) labels[i] = (i * 5) % 6;
    TT_CHECK_GRADIENTS([&](cpu_tape&, auto z) { return ops::cross_entropy(z, labels); }, a);
    TT_CHECK_GRADIENTS([&](cpu_tape&, auto z) { return ops::cross_entropy(z, labels, 0.1); }, a);
}

BOOST_AUTO_TEST_CASE(a_wrong_gradient_is_caught) {
    // The checker itself must fail on a wrong backward: scale by 2 forward, but pretend 3 backward.
    auto x = randn<shape<3>>(28);
    auto rep = testing::check_gradients(
        [](cpu_tape& t, auto a) {
            auto y = make_output<double>(t, a.shape(), a.requires_grad());
            for (std::size_t i = 0; i < a.size(); ++i) y.data()[i] = 2 * a.data()[i];
            if (y.requires_grad()) {
                auto *sa = a.get_slot(), *sy = y.get_slot();
                t.record(sy, [=](cpu_tape& tt) {
                    for (std::size_t i = 0; i < sa->size; ++i) tt.grad(sa)[i] += 3 * sy->grad()[i];
                });
            }
            return y;
        },
        x);
    BOOST_TEST(!rep.ok);
    // ... and on a backward that overwrites instead of accumulating.
    auto rep2 = testing::check_gradients(
        [](cpu_tape& t, auto a) {
            auto y = make_output<double>(t, a.shape(), a.requires_grad());
            for (std::size_t i = 0; i < a.size(); ++i) y.data()[i] = 2 * a.data()[i];
            if (y.requires_grad()) {
                auto *sa = a.get_slot(), *sy = y.get_slot();
                t.record(sy, [=](cpu_tape& tt) {
                    for (std::size_t i = 0; i < sa->size; ++i) tt.grad(sa)[i] = 2 * sy->grad()[i];
                });
            }
            return y;
        },
        x);
    BOOST_TEST(!rep2.ok);
    // ... and on a forward that leaves an entry unwritten (poison mode).
    auto rep3 = testing::check_gradients(
        [](cpu_tape& t, auto a) {
            auto y = make_output<double>(t, a.shape(), a.requires_grad());
            for (std::size_t i = 1; i < a.size(); ++i) y.data()[i] = a.data()[i];
            return y;
        },
        x);
    BOOST_TEST(!rep3.ok);
}

BOOST_AUTO_TEST_SUITE_END()
