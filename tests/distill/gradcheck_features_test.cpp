// Gradient checks in double of whole pairings: feature and CLS targets, and mixed terms, with each shipped loss.
#include "common.hpp"

using namespace dt;

BOOST_AUTO_TEST_SUITE(distill_gradients)

BOOST_AUTO_TEST_CASE(feature_cls_and_mixed_targets) {
    using T = teacher_t<double>;
    using S = student_t<double>;
    using K2 = d::teacher_block<2>;
    using last = d::last_block;
    gradcheck_pairing<d::pairing<T, S, d::block_output, d::smooth_l1, K2, last>>();
    gradcheck_pairing<d::pairing<T, S, d::attention_output, d::mse, K2, last>>();
    gradcheck_pairing<d::pairing<T, S, d::mlp_output, d::cosine, K2, last>>();
    gradcheck_pairing<
        d::pairing<T, S, d::targets<d::q_features, d::k_features, d::v_features>, d::smooth_l1, K2, last>>();
    gradcheck_pairing<d::pairing<T, S, d::cls_token, d::kl_divergence, K2, last>>();
    gradcheck_pairing<
        d::pairing<T, S, d::terms<d::term<d::qk, d::kl_divergence>, d::term<d::block_output, d::smooth_l1>>,
                   d::per_term, K2, last>>();
}

BOOST_AUTO_TEST_SUITE_END()
