// Helpers shared by the op tests: random tensors and the gradient-check assertion.
#pragma once

#include <boost/test/unit_test.hpp>

#include <algorithm>
#include <cmath>
#include <vector>

#include "tinymim/core/random.hpp"
#include "tinymim/tensor/tensor.hpp"
#include "tinymim/testing/gradcheck.hpp"

namespace tt {

template <class S, class T = double, class... I>
tinymim::tensor<T, S> randn(std::uint64_t seed, I... sizes) {
    tinymim::tensor<T, S> t(tinymim::make_extents<S>(sizes...));
    tinymim::counter_rng r(seed);
    for (std::size_t i = 0; i < t.size(); ++i) t[i] = T(r.normal(i));
    return t;
}

template <class S, class T = double>
tinymim::tensor<T, S> randn(std::uint64_t seed) {
    tinymim::tensor<T, S> t;
    tinymim::counter_rng r(seed);
    for (std::size_t i = 0; i < t.size(); ++i) t[i] = T(r.normal(i));
    return t;
}

// A float tensor of the given extents with scale · N(0, 1) values (randn's values, scaled).
template <class S>
tinymim::tensor<float, S> randn_float(const tinymim::extents<S>& e, std::uint64_t seed, double scale = 1) {
    tinymim::tensor<float, S> t(e);
    tinymim::counter_rng r(seed);
    for (std::size_t i = 0; i < t.size(); ++i) t.data()[i] = float(scale * r.normal(i));
    return t;
}

// The largest |a[i] - b[i]| of two equally long vectors.
inline double max_abs_diff(const std::vector<double>& a, const std::vector<double>& b) {
    BOOST_REQUIRE(a.size() == b.size());
    double worst = 0;
    for (std::size_t i = 0; i < a.size(); ++i) worst = std::max(worst, std::abs(a[i] - b[i]));
    return worst;
}

#define TT_CHECK_GRADIENTS(...)                                       \
    do {                                                              \
        auto rep_ = ::tinymim::testing::check_gradients(__VA_ARGS__); \
        BOOST_TEST(rep_.ok, rep_.message);                            \
        BOOST_TEST(rep_.checked > 0u);                                \
    } while (false)

}  // namespace tt
