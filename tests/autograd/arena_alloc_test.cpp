// A steady-state training step allocates nothing: no operator new, no new arena block.
#include <boost/test/unit_test.hpp>

#include <atomic>
#include <cstdlib>
#include <new>

#include "tinymim/autograd/gradient_hook.hpp"
#include "tinymim/core/random.hpp"
#include "tinymim/ops/attention.hpp"
#include "tinymim/ops/gelu.hpp"
#include "tinymim/ops/layer_norm.hpp"
#include "tinymim/ops/linear.hpp"
#include "tinymim/ops/losses.hpp"
#include "tinymim/ops/tokens.hpp"

// Counting replacements of the global operator new/delete (GCC cannot see they pair up).
#pragma GCC diagnostic ignored "-Wmismatched-new-delete"
namespace {
std::atomic<std::size_t> g_news{0};
}
void* operator new(std::size_t n) {
    ++g_news;
    if (void* p = std::malloc(n == 0 ? 1 : n)) return p;
    throw std::bad_alloc();
}
// The nothrow forms too: a library's nothrow allocation must pair with the delete replaced here.
void* operator new(std::size_t n, const std::nothrow_t&) noexcept {
    ++g_news;
    return std::malloc(n == 0 ? 1 : n);
}
void operator delete(void* p) noexcept { std::free(p); }
void operator delete(void* p, std::size_t) noexcept { std::free(p); }
void operator delete(void* p, const std::nothrow_t&) noexcept { std::free(p); }

using namespace tinymim;

namespace {
// Counts reports; it allocates nothing itself, so what the counter sees is the tape's own.
struct counting_hook final : gradient_hook {
    std::size_t reports = 0;
    void gradient_final(const void*) override { ++reports; }
};
}  // namespace

BOOST_AUTO_TEST_SUITE(arena)

BOOST_AUTO_TEST_CASE(steady_state_step_allocates_nothing) {
    constexpr std::size_t D = 16;
    tensor<float, shape<dyn, 5, D>> x(make_extents<shape<dyn, 5, D>>(4, 5, D));
    tensor<float, shape<3 * D, D>> w, gw;
    tensor<float, shape<3 * D>> b, gb;
    tensor<float, shape<D>> gamma, beta, gg, gbeta;
    tensor<std::int32_t, shape<dyn>> labels(make_extents<shape<dyn>>(20));
    counter_rng r(1);
    for (auto& v : x) v = float(r.next_normal());
    for (auto& v : w) v = float(0.1 * r.next_normal());
    b.fill(0), gamma.fill(1), beta.fill(0);
    for (std::size_t i = 0; i < 20; ++i) labels[i] = std::int32_t(i % D);
    bool hw = false, hb = false, hg = false, hbeta = false;

    tape<cpu> t(1024);  // deliberately small: the first steps must grow it
    auto step = [&] {
        hw = hb = hg = hbeta = false;
        auto xin = input(t, x);
        auto h = ops::layer_norm(xin, leaf(t, gamma, gg, hg), leaf(t, beta, gbeta, hbeta), 1e-6f);
        auto qkv = ops::linear(h, leaf(t, w, gw, hw), leaf(t, b, gb, hb));
        auto q = ops::split_heads<3>(qkv, 2, 0), k = ops::split_heads<3>(qkv, 2, 1), v = ops::split_heads<3>(qkv, 2, 2);
        auto o = ops::merge_heads<D>(ops::attention(q, k, v).out);
        auto logits = ops::gelu(o).view_as(extents<shape<dyn, D>>({20, D}));
        auto loss = ops::cross_entropy(logits, labels);
        loss.backward();
        t.reset();
    };
    step();
    step();
    const std::size_t news = g_news.load(), blocks = t.arena_allocations();
    for (int i = 0; i < 5; ++i) step();
    BOOST_TEST(g_news.load() - news == 0u);
    BOOST_TEST(t.arena_allocations() - blocks == 0u);
    BOOST_TEST(hw);
    BOOST_TEST(t.activation_bytes() > 0u);

    // With a gradient hook (data-parallel training) a steady step allocates nothing either.
    counting_hook hook;
    t.set_gradient_hook(&hook);
    step();
    const std::size_t hooked_news = g_news.load();
    for (int i = 0; i < 5; ++i) step();
    BOOST_TEST(g_news.load() - hooked_news == 0u);
    BOOST_TEST(hook.reports == 6u * 4u);  // four parameters, six steps
    t.set_gradient_hook(nullptr);
}

BOOST_AUTO_TEST_SUITE_END()
