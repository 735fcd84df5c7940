// The tape: creation order, += accumulation, no_grad, detach, views, reset.
#include <boost/test/unit_test.hpp>

#include <cmath>
#include <vector>

#include "tinymim/autograd/grad_pool.hpp"
#include "tinymim/autograd/gradient_hook.hpp"
#include "tinymim/autograd/no_grad.hpp"
#include "tinymim/autograd/var.hpp"
#include "tinymim/ops/elementwise.hpp"
#include "tinymim/ops/reduce.hpp"

using namespace tinymim;

BOOST_AUTO_TEST_SUITE(autograd)

BOOST_AUTO_TEST_CASE(a_value_used_twice_accumulates_both_paths) {
    tape<cpu> t;
    tensor<double, shape<3>> x;
    x[0] = 1, x[1] = 2, x[2] = 3;
    auto v = leaf(t, x);
    auto y = ops::sum(ops::add(ops::mul(v, v), ops::scale(v, 3.0)));  // sum(x^2 + 3x)
    y.backward();
    for (int i = 0; i < 3; ++i) BOOST_TEST(v.grad()[i] == 2 * x[i] + 3);
    BOOST_TEST(y.data()[0] == 1 + 4 + 9 + 3 * 6);
}

BOOST_AUTO_TEST_CASE(no_grad_records_nothing) {
    tape<cpu> t;
    tensor<double, shape<3>> x;
    x.fill(1);
    auto v = leaf(t, x);
    const std::size_t before = t.node_count();
    {
        no_grad g;
        BOOST_TEST(!grad_enabled());
        auto y = ops::scale(v, 2.0);
        BOOST_TEST(!y.requires_grad());
    }
    BOOST_TEST(grad_enabled());
    BOOST_TEST(t.node_count() == before);
}

BOOST_AUTO_TEST_CASE(detach_stops_the_gradient) {
    tape<cpu> t;
    tensor<double, shape<2>> x;
    x.fill(3);
    auto v = leaf(t, x);
    auto y = ops::sum(ops::mul(v, v.detach()));  // d/dx = x (only one path)
    y.backward();
    BOOST_TEST(v.grad()[0] == 3.0);
}

BOOST_AUTO_TEST_CASE(views_share_the_gradient) {
    tape<cpu> t;
    tensor<double, shape<2, 3>> x;
    x.fill(1);
    auto v = leaf(t, x);
    auto flat = v.view_as(extents<shape<6>>{});
    auto y = ops::sum(ops::scale(flat, 4.0));
    y.backward();
    for (int i = 0; i < 6; ++i) BOOST_TEST(v.grad()[i] == 4.0);
    BOOST_CHECK_THROW((void)v.view_as(extents<shape<5>>{}), tinymim::error);
}

BOOST_AUTO_TEST_CASE(external_gradients_are_zeroed_once_then_accumulate) {
    tape<cpu> t;
    tensor<double, shape<2>> x, g;
    x.fill(1);
    g.fill(100);  // stale values from a previous step
    bool has = false;
    auto v = leaf(t, x, g, has);
    ops::sum(ops::scale(v, 2.0)).backward();
    BOOST_TEST(has);
    BOOST_TEST(g[0] == 2.0);
    t.reset();
    auto v2 = leaf(t, x, g, has);  // has == true: this step adds to the buffer
    ops::sum(ops::scale(v2, 5.0)).backward();
    BOOST_TEST(g[0] == 7.0);
}

namespace {
// Records each report with the gradient's values at that moment.
struct recorder final : gradient_hook {
    std::vector<const void*> order;
    std::vector<std::vector<double>> seen;
    void gradient_final(const void* grad) override {
        order.push_back(grad);
        const auto* g = static_cast<const double*>(grad);
        seen.emplace_back(g, g + 2);
    }
};
}  // namespace

BOOST_AUTO_TEST_CASE(a_gradient_hook_hears_each_parameter_once_when_its_gradient_is_final) {
    tape<cpu> t;
    recorder r;
    t.set_gradient_hook(&r);
    tensor<double, shape<2>> a, b, c, ga, gb, gc;
    a.fill(2);
    b.fill(3);
    c.fill(5);
    bool has_a = false, has_b = false, has_c = false;
    // y = sum(b * (a * a) + 0.5 * a): a is used twice (two leaves, two nodes) before b; c never reaches y.
    auto a1 = leaf(t, a, ga, has_a);
    auto h = ops::mul(a1, a1);
    auto cv = leaf(t, c, gc, has_c);
    auto b1 = leaf(t, b, gb, has_b);
    auto a2 = leaf(t, a, ga, has_a);
    auto y = ops::sum(ops::add(ops::mul(b1, h), ops::scale(a2, 0.5)));
    (void)cv;
    y.backward();
    // Latest first leaf first: b, then c (reached by no node), then a only below its first use.
    BOOST_REQUIRE(r.order.size() == 3);
    BOOST_TEST(r.order[0] == static_cast<const void*>(gb.data()));
    BOOST_TEST(r.order[1] == static_cast<const void*>(gc.data()));
    BOOST_TEST(r.order[2] == static_cast<const void*>(ga.data()));
    // What each report saw is the final gradient: dy/db = a^2 = 4, dy/da = 2ab + 0.5 = 12.5.
    BOOST_TEST(r.seen[0] == (std::vector<double>{4.0, 4.0}), boost::test_tools::per_element());
    BOOST_TEST(r.seen[2] == (std::vector<double>{12.5, 12.5}), boost::test_tools::per_element());
    BOOST_TEST(ga[0] == 12.5);
    BOOST_TEST(!has_c);
    // The next step reports again; a tape without a hook reports nothing.
    t.reset();
    auto b2 = leaf(t, b, gb, has_b);
    ops::sum(b2).backward();
    BOOST_TEST(r.order.size() == 4);
    t.set_gradient_hook(nullptr);
    t.reset();
    auto b3 = leaf(t, b, gb, has_b);
    ops::sum(b3).backward();
    BOOST_TEST(r.order.size() == 4);
}

BOOST_AUTO_TEST_CASE(backward_needs_a_differentiable_value) {
    tape<cpu> t;
    tensor<double, shape<2>> x;
    x.fill(1);
    auto y = ops::sum(input(t, x));
    BOOST_CHECK_THROW(y.backward(), tinymim::error);
}

BOOST_AUTO_TEST_CASE(intermediate_gradients_are_freed_unless_retained) {
    tensor<double, shape<3>> x;
    x[0] = 1, x[1] = -2, x[2] = 0.5;
    for (const bool retain : {false, true}) {
        tape<cpu> t;
        t.retain_grads(retain);
        auto v = leaf(t, x);
        auto a = ops::scale(v, 2.0);
        auto b = ops::mul(a, a);  // 4x^2
        auto y = ops::sum(b);
        y.backward();
        for (int i = 0; i < 3; ++i) BOOST_TEST(v.grad()[i] == 8 * x[i]);  // leaves always keep theirs
        if (retain) {
            BOOST_REQUIRE(a.grad() != nullptr);
            for (int i = 0; i < 3; ++i) BOOST_TEST(a.grad()[i] == 4 * x[i]);  // d(a^2)/da = 2a
        } else {
            BOOST_TEST(a.grad() == nullptr);
            BOOST_TEST(b.grad() == nullptr);
        }
    }
}

BOOST_AUTO_TEST_CASE(a_chain_holds_few_gradients_at_once) {
    // 20 scalings of a 1000-value vector: every intermediate gradient alive at once would be 20 buffers;
    // freed during backward, the pool needs two (the one being read and the one being written).
    constexpr std::size_t n = 1000;
    tensor<float, shape<n>> x;
    x.fill(1);
    tape<cpu> t;
    auto run = [&] {
        auto v = leaf(t, x);
        auto h = v;
        for (int i = 0; i < 20; ++i) h = ops::scale(h, 1.1f);
        ops::sum(h).backward();
        return v.grad()[0];
    };
    const float g = run();
    BOOST_TEST(g == std::pow(1.1f, 20.0f), boost::test_tools::tolerance(1e-5f));
    BOOST_TEST(t.gradient_bytes() <= 3 * n * sizeof(float) + 64);
    const std::size_t allocations = t.arena_allocations();
    t.reset();
    BOOST_TEST(run() == g);
    BOOST_TEST(t.arena_allocations() == allocations);  // the second step reuses every buffer
}

// The gradient pool hands out an exact fit when it has one, else the smallest free buffer at most half
// as large again (sizes that vary between steps, as a drop path's kept samples do, reuse the larger
// buffers), else allocates; a buffer given back keeps its own size.
BOOST_AUTO_TEST_CASE(the_gradient_pool_reuses_buffers_that_fit) {
    grad_pool<cpu> pool;
    void* a = pool.acquire(1000);
    void* b = pool.acquire(1200);
    BOOST_TEST(pool.allocations() == 2u);
    pool.release(a, 1000);
    pool.release(b, 1200);
    BOOST_TEST(pool.acquire(1200) == b);  // exact
    void* c = pool.acquire(800);          // the 1000-byte buffer: 1.25 times as large
    BOOST_TEST(c == a);
    pool.release(c, 800);  // given back as the 1000-byte buffer it is
    BOOST_TEST(pool.acquire(1000) == a);
    BOOST_TEST(pool.allocations() == 2u);
    void* d = pool.acquire(600);  // nothing free fits
    BOOST_TEST(pool.allocations() == 3u);
    BOOST_TEST(d != a);
    BOOST_TEST(d != b);
    pool.release(b, 1200);
    void* e = pool.acquire(700);  // 1200 > 1.5 × 700: a new buffer
    BOOST_TEST(e != b);
    BOOST_TEST(pool.allocations() == 4u);
    BOOST_TEST(pool.capacity() == 1000u + 1200u + 600u + 700u);
}

BOOST_AUTO_TEST_SUITE_END()
