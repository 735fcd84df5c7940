// Forward values checked against hand computations, float instantiations, and run-time errors.
#include <boost/test/unit_test.hpp>

#include <cmath>

#include "../support/common.hpp"
#include "tinymim/ops/drop_path.hpp"
#include "tinymim/ops/elementwise.hpp"
#include "tinymim/ops/linear.hpp"
#include "tinymim/ops/losses.hpp"
#include "tinymim/ops/matmul.hpp"
#include "tinymim/ops/tokens.hpp"

using namespace tinymim;

BOOST_AUTO_TEST_SUITE(forward)

BOOST_AUTO_TEST_CASE(matmul_float_by_hand) {
    tape<cpu> t;
    tensor<float, shape<2, 3>> a;
    tensor<float, shape<3, 2>> b;
    for (int i = 0; i < 6; ++i) a[i] = float(i + 1), b[i] = float(6 - i);
    auto c = ops::matmul(input(t, a), input(t, b));
    // [1 2 3; 4 5 6] x [6 5; 4 3; 2 1] = [20 14; 56 41]
    const float want[] = {20, 14, 56, 41};
    for (int i = 0; i < 4; ++i) BOOST_TEST(c.data()[i] == want[i]);
}

BOOST_AUTO_TEST_CASE(patchify_orders) {
    tape<cpu> t;
    tensor<float, shape<1, 2, 2, 2>> img;  // one 2x2 patch, 2 channels
    for (int i = 0; i < 8; ++i) img[i] = float(i);
    auto pf = ops::patchify<2>(input(t, img));
    auto pl = ops::patchify<2, ops::patch_order::channel_last>(input(t, img));
    const float first[] = {0, 1, 2, 3, 4, 5, 6, 7};  // (c, ky, kx)
    const float last[] = {0, 4, 1, 5, 2, 6, 3, 7};   // (ky, kx, c)
    for (int i = 0; i < 8; ++i) {
        BOOST_TEST(pf.data()[i] == first[i]);
        BOOST_TEST(pl.data()[i] == last[i]);
    }
}

BOOST_AUTO_TEST_CASE(drop_path_is_reproducible_and_unbiased) {
    tape<cpu> t;
    auto x = tt::randn<shape<dyn, 4>, float>(1, 1000, 4);
    const counter_rng rng(7);
    auto y1 = ops::drop_path(input(t, x), 0.25f, rng);
    auto y2 = ops::drop_path(input(t, x), 0.25f, rng);
    std::size_t dropped = 0;
    for (std::size_t b = 0; b < 1000; ++b) {
        BOOST_TEST(y1.data()[b * 4] == y2.data()[b * 4]);
        if (y1.data()[b * 4] == 0.0f)
            ++dropped;
        else
            BOOST_TEST(y1.data()[b * 4] == x[b * 4] / 0.75f, boost::test_tools::tolerance(1e-6f));
    }
    BOOST_TEST(dropped > 200u);
    BOOST_TEST(dropped < 300u);
    auto same = ops::drop_path(input(t, x), 0.25f, rng, /*training=*/false);
    BOOST_TEST(same.data() == x.data());
}

BOOST_AUTO_TEST_CASE(run_time_shape_errors_name_the_shapes) {
    tape<cpu> t;
    tensor<float, shape<dyn, 4>> a(make_extents<shape<dyn, 4>>(3, 4));
    tensor<float, shape<dyn, 4>> b(make_extents<shape<dyn, 4>>(2, 4));
    try {
        (void)ops::add(input(t, a), input(t, b));
        BOOST_FAIL("add of [3, 4] and [2, 4] must throw");
    } catch (const tinymim::error& e) {
        BOOST_TEST(std::string(e.what()).find("[3, 4]") != std::string::npos, e.what());
        BOOST_TEST(std::string(e.what()).find("[2, 4]") != std::string::npos, e.what());
    }
    tensor<std::int32_t, shape<3>> labels;
    labels[0] = 0, labels[1] = 9, labels[2] = 1;
    BOOST_CHECK_THROW((void)ops::cross_entropy(input(t, a), labels), tinymim::error);
    tensor<std::int32_t, shape<dyn, 1>> idx(make_extents<shape<dyn, 1>>(3, 1));
    idx[0] = 0, idx[1] = 7, idx[2] = 1;
    tensor<float, shape<dyn, 2, 2>> x(make_extents<shape<dyn, 2, 2>>(3, 2, 2));
    BOOST_CHECK_THROW((void)ops::gather_tokens(input(t, x), idx), tinymim::error);
    BOOST_CHECK_THROW((void)(extents<shape<dyn, 4>>({3, 5})), tinymim::error);
}

BOOST_AUTO_TEST_SUITE_END()
