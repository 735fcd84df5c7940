// Gradient checks in double of whole pairings: relation targets (softmax and raw), both inputs, with each shipped loss.
#include "common.hpp"

using namespace dt;

BOOST_AUTO_TEST_SUITE(distill_gradients)

BOOST_AUTO_TEST_CASE(relation_targets) {
    using T = teacher_t<double>;
    using S = student_t<double>;
    using K2 = d::teacher_block<2>;
    using last = d::last_block;
    gradcheck_pairing<d::pairing<T, S, d::relations<d::qk, d::vv>, d::kl_divergence, K2, last>>();
    gradcheck_pairing<d::pairing<T, S, d::relations<d::qq, d::kk>, d::kl_divergence, K2, last>>();
    gradcheck_pairing<d::pairing<T, S, d::without_softmax<d::qk>, d::mse, K2, last>>();
    gradcheck_pairing<d::pairing<T, S, d::without_softmax<d::vv>, d::smooth_l1, K2, last>>();
    gradcheck_pairing<d::pairing<T, S, d::relations<d::qk, d::vv>, d::kl_divergence, K2, last, d::masked_input>>();
}

BOOST_AUTO_TEST_SUITE_END()
