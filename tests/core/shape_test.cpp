// Shapes: static extents, dyn extents, compile-time derivations, run-time checks.
#include <boost/test/unit_test.hpp>

#include <type_traits>

#include "tinymim/core/shape.hpp"
#include "tinymim/tensor/shape_ops.hpp"
#include "tinymim/tensor/tensor.hpp"

using namespace tinymim;

// Compile-time facts (a failure here is a compile error).
static_assert(shape<dyn, 50, 192>::rank == 3);
static_assert(shape<dyn, 50, 192>::num_dyn == 1);
static_assert(shape<2, 3>::is_static && shape<2, 3>::static_product() == 6);
static_assert(sizeof(extents<shape<4, 50, 192>>) == 1, "static extents cost no storage");
static_assert(sizeof(extents<shape<dyn, 50, 192>>) == sizeof(std::size_t));
static_assert(std::is_same_v<shape_ops::split_heads_t<shape<dyn, 50, 192>, 3>, shape<dyn, 3, 50, 64>>);
static_assert(std::is_same_v<shape_ops::merge_heads_t<shape<dyn, 3, 50, 64>>, shape<dyn, 50, 192>>);
static_assert(std::is_same_v<shape_ops::matmul_t<shape<dyn, 3, 50, 64>, shape<dyn, 3, 50, 64>, false, true>,
                             shape<dyn, 3, 50, 50>>);
static_assert(std::is_same_v<shape_ops::replace_last_t<shape<dyn, 50, 192>, 576>, shape<dyn, 50, 576>>);
static_assert(std::is_same_v<shape_ops::remove_axis_t<shape<dyn, 50, 192>, 1>, shape<dyn, 192>>);
static_assert(std::is_same_v<shape_ops::permute_t<shape<dyn, 50, 3, 64>, 0, 2, 1, 3>, shape<dyn, 3, 50, 64>>);
static_assert(shape_ops::reshapeable<shape<4, 50, 192>, shape<200, 192>>() &&
              !shape_ops::reshapeable<shape<4, 50, 192>, shape<200, 191>>());
static_assert(std::is_same_v<shape_ops::reshape_t<shape<dyn, 50, 192>, shape<dyn, 9600>>, shape<dyn, 9600>>);
static_assert(shapes_compatible<shape<dyn, 4>, shape<3, 4>>() && !shapes_compatible<shape<2, 4>, shape<3, 4>>());
static_assert(std::is_same_v<common_shape_t<shape<dyn, 4>, shape<3, dyn>>, shape<3, 4>>);

BOOST_AUTO_TEST_SUITE(shapes)

BOOST_AUTO_TEST_CASE(extents_hold_dynamic_values) {
    extents<shape<dyn, 50, dyn>> e({8, 50, 192});
    BOOST_TEST(e[0] == 8u);
    BOOST_TEST(e[1] == 50u);
    BOOST_TEST(e[2] == 192u);
    BOOST_TEST(e.size() == 8u * 50u * 192u);
    BOOST_TEST(e.str() == "[8, 50, 192]");
}

BOOST_AUTO_TEST_CASE(static_extent_mismatch_is_a_clear_error) {
    try {
        extents<shape<dyn, 50, 192>> e({8, 49, 192});
        BOOST_FAIL("expected tinymim::error");
    } catch (const tinymim::error& err) {
        const std::string m = err.what();
        BOOST_TEST(m.find("extent 1 must be 50, found 49") != std::string::npos, m);
    }
}

BOOST_AUTO_TEST_CASE(tensors_own_heap_storage_and_move) {
    tensor<float, shape<dyn, 3>> a(make_extents<shape<dyn, 3>>(4, 3));
    BOOST_TEST(a.size() == 12u);
    a.fill(2.5f);
    const float* p = a.data();
    tensor<float, shape<dyn, 3>> b = std::move(a);
    BOOST_TEST(b.data() == p);
    BOOST_TEST(a.data() == nullptr);
    auto c = b.clone();
    BOOST_TEST(c.data() != b.data());
    BOOST_TEST(c[11] == 2.5f);
    tensor<double, shape<2, 2>> s;  // static: allocated at once
    BOOST_TEST(s.size() == 4u);
    BOOST_CHECK_THROW(b.copy_from(std::vector<float>(5)), tinymim::error);
}

BOOST_AUTO_TEST_SUITE_END()
