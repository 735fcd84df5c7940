// Gradient checks for the token ops (CLS concatenation, slicing, gather, patchify) and drop path.
#include "../support/common.hpp"

#include "tinymim/ops/drop_path.hpp"
#include "tinymim/ops/tokens.hpp"

using namespace tinymim;
using tt::randn;
using cpu_tape = tape<cpu>;

BOOST_AUTO_TEST_SUITE(gradients_tokens)

BOOST_AUTO_TEST_CASE(prepend_shared_cls_and_append_tokens) {
    auto cls = randn<shape<1, 1, 4>>(1);
    auto x = randn<shape<dyn, 3, 4>>(2, 2, 3, 4);
    TT_CHECK_GRADIENTS([](cpu_tape&, auto c, auto a) { return ops::concat_tokens(c, a); }, cls, x);
    auto y = randn<shape<dyn, 2, 4>>(3, 2, 2, 4);
    TT_CHECK_GRADIENTS([](cpu_tape&, auto a, auto b) { return ops::concat_tokens(a, b); }, x, y);
}

BOOST_AUTO_TEST_CASE(slice_tokens) {
    auto x = randn<shape<dyn, 5, 3>>(4, 2, 5, 3);
    TT_CHECK_GRADIENTS([](cpu_tape&, auto a) { return ops::slice_tokens<1>(a); }, x);
    TT_CHECK_GRADIENTS([](cpu_tape&, auto a) { return ops::slice_tokens<1, 2>(a); }, x);
}

BOOST_AUTO_TEST_CASE(gather_with_repeated_indices) {
    auto x = randn<shape<dyn, 5, 3>>(5, 2, 5, 3);
    tensor<std::int32_t, shape<dyn, 4>> idx(make_extents<shape<dyn, 4>>(2, 4));
    const std::int32_t v[] = {4, 0, 2, 2, 1, 3, 3, 0};
    for (int i = 0; i < 8; ++i) idx[i] = v[i];
    TT_CHECK_GRADIENTS([&](cpu_tape&, auto a) { return ops::gather_tokens(a, idx); }, x);
}

BOOST_AUTO_TEST_CASE(patchify_both_orders_and_unpatchify) {
    auto img = randn<shape<dyn, 2, 4, 6>>(6, 2, 2, 4, 6);
    TT_CHECK_GRADIENTS([](cpu_tape&, auto a) { return ops::patchify<2>(a); }, img);
    TT_CHECK_GRADIENTS([](cpu_tape&, auto a) { return ops::patchify<2, ops::patch_order::channel_last>(a); }, img);
    auto p = randn<shape<dyn, 6, 8>>(7, 2, 6, 8);
    TT_CHECK_GRADIENTS([](cpu_tape&, auto a) { return ops::unpatchify<2, 4, 6, 2>(a); }, p);
}

BOOST_AUTO_TEST_CASE(drop_path_seeded) {
    auto x = randn<shape<dyn, 3, 2>>(8, 16, 3, 2);
    const counter_rng rng(42);
    TT_CHECK_GRADIENTS([&](cpu_tape&, auto a) { return ops::drop_path(a, 0.5, rng); }, x);
}

BOOST_AUTO_TEST_SUITE_END()
