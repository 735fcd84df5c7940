// fused::attention_qkv: gradient checks in double, and equality with its reference (split heads,
// attention, merged heads).
#include "../support/common.hpp"

#include <algorithm>
#include <cmath>
#include <vector>

#include "tinymim/fused/attention_qkv.hpp"
#include "tinymim/ops/elementwise.hpp"
#include "tinymim/ops/reduce.hpp"

using namespace tinymim;
using tt::randn;
using cpu_tape = tape<cpu>;

BOOST_AUTO_TEST_SUITE(attention_qkv)

BOOST_AUTO_TEST_CASE(attention_on_a_fused_qkv_projection) {
    auto x = randn<shape<dyn, 5, 24>>(41, 2, 5, 24);  // q | k | v of width 8: 2 heads of 4
    // out alone (no probability gradient), probs alone (no output gradient), and both at once
    TT_CHECK_GRADIENTS([](cpu_tape&, auto a) { return fused::attention_qkv(a, 2, 0.7).out; }, x);
    TT_CHECK_GRADIENTS([](cpu_tape&, auto a) { return fused::attention_qkv(a, 2, 0.7).probs; }, x);
    TT_CHECK_GRADIENTS(
        [](cpu_tape&, auto a) {
            auto r = fused::attention_qkv(a, 4, 0.5);
            return ops::add(ops::sum(ops::mul(r.out, r.out)), ops::sum(ops::mul(r.probs, r.probs)));
        },
        x);
}

BOOST_AUTO_TEST_CASE(fused_qkv_attention_equals_split_attention_merge) {
    const auto x = randn<shape<dyn, 7, 36>>(42, 3, 7, 36);  // width 12, 3 heads of 4
    const auto w_out = randn<shape<dyn, 7, 12>>(43, 3, 7, 12);
    const auto w_probs = randn<shape<dyn, dyn, 7, 7>>(44, 3, 3, 7, 7);
    auto run = [&](bool fast) {
        tape<cpu> t;
        auto v = leaf(t, x);
        auto wo = input(t, w_out);
        auto wp = input(t, w_probs);
        var<double, shape<dyn, 7, 12>> out;
        var<double, shape<dyn, dyn, 7, 7>> probs;
        if (fast) {
            auto r = fused::attention_qkv(v, 3, 0.5);
            out = r.out, probs = r.probs;
        } else {
            auto r = fused::attention_qkv.reference(v, 3, 0.5);  // split_heads, attention, merge_heads
            out = r.out, probs = r.probs;
        }
        ops::add(ops::sum(ops::mul(out, wo)), ops::sum(ops::mul(probs, wp))).backward();
        std::vector<double> all(out.data(), out.data() + out.size());
        all.insert(all.end(), probs.data(), probs.data() + probs.size());
        all.insert(all.end(), v.grad(), v.grad() + v.size());
        return all;
    };
    const auto a = run(true), b = run(false);
    BOOST_REQUIRE(a.size() == b.size());
    double worst = 0;
    for (std::size_t i = 0; i < a.size(); ++i) worst = std::max(worst, std::abs(a[i] - b[i]));
    BOOST_TEST(worst < 1e-12);
}

BOOST_AUTO_TEST_SUITE_END()
