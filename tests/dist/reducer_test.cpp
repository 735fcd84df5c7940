// dist::gradient_reducer in one process (dist::single; the two-rank means are in mpi_test.cpp): buckets in the
// reverse order of the parameters, each started once all its gradients are reported final and never before the
// one ahead of it; finish() starts the rest and writes every gradient back; a parameter without a gradient keeps
// none; attached to a ViT's tape, the buckets start during the backward and the gradients come out unchanged.
#include "../support/common.hpp"

#include <cstring>
#include <memory>
#include <vector>

#include "tinymim/dist/gradient_reducer.hpp"
#include "tinymim/dist/single.hpp"
#include "tinymim/io/weights.hpp"
#include "tinymim/nn/vit.hpp"
#include "tinymim/ops/losses.hpp"

using namespace tinymim;

namespace {
// Four parameters of 3 floats each (12 bytes): with 28-byte buckets two share a bucket, from the last one.
struct four_params {
    nn::parameter<shape<3>> p[4];
    [[nodiscard]] std::vector<nn::param_ref<float>> refs() {
        std::vector<nn::param_ref<float>> r;
        for (int i = 0; i < 4; ++i) r.push_back(p[i].ref("p" + std::to_string(i)));
        return r;
    }
};
}  // namespace

BOOST_AUTO_TEST_SUITE(gradient_reducer)

BOOST_AUTO_TEST_CASE(buckets_start_in_order_once_their_gradients_are_final) {
    four_params m;
    for (int i = 0; i < 4; ++i) {
        m.p[i].grad.fill(float(i + 1));
        m.p[i].has_grad = i != 1;  // p1 got no gradient
    }
    optim::adamw<float, cpu> opt(m.refs(), {});
    dist::single comm;
    dist::gradient_reducer<dist::single, float, cpu> r(comm, opt, {.bucket_bytes = 28});
    BOOST_TEST(r.bucket_count() == 2u);  // {p3, p2} then {p1, p0}
    r.gradient_final(m.p[1].grad.data());
    r.gradient_final(m.p[0].grad.data());
    BOOST_TEST(r.started() == 0u);  // the second bucket is complete but waits for the first
    r.gradient_final(m.p[3].grad.data());
    BOOST_TEST(r.started() == 0u);
    r.gradient_final(m.p[2].grad.data());
    BOOST_TEST(r.started() == 2u);
    r.gradient_final(m.p[2].grad.data());  // a second report changes nothing
    int unknown = 0;
    r.gradient_final(&unknown);  // nor does a gradient that is not the optimizer's
    r.finish();
    for (int i = 0; i < 4; ++i) BOOST_TEST(m.p[i].grad[0] == float(i + 1));
    BOOST_TEST(!m.p[1].has_grad);
    BOOST_TEST(m.p[0].has_grad);
    // The next backward starts afresh; finish() starts what no report started.
    BOOST_TEST(r.started() == 0u);
    r.gradient_final(m.p[3].grad.data());
    r.finish();
    BOOST_TEST(m.p[3].grad[2] == 4.0f);
}

BOOST_AUTO_TEST_CASE(one_large_parameter_is_a_bucket_of_its_own) {
    four_params m;
    optim::adamw<float, cpu> opt(m.refs(), {});
    dist::single comm;
    BOOST_TEST((dist::gradient_reducer<dist::single, float, cpu>(comm, opt, {.bucket_bytes = 4}).bucket_count() == 4u));
    BOOST_TEST((dist::gradient_reducer<dist::single, float, cpu>(comm, opt).bucket_count() == 1u));
}

BOOST_AUTO_TEST_CASE(on_a_vit_tape_buckets_start_during_the_backward) {
    constexpr nn::vit_config cfg{
        .image = 16, .patch = 4, .channels = 1, .dim = 24, .depth = 3, .heads = 3, .classes = 5, .head = nn::pool::cls};
    auto model = std::make_unique<nn::vit<cfg>>();
    model->init(counter_rng(4));
    optim::adamw<float, cpu> opt(io::collect(*model), {});
    const auto images = tt::randn<shape<dyn, 1, 16, 16>, float>(5, 4, 1, 16, 16);
    tensor<std::int32_t, shape<dyn>> labels({4});
    for (std::size_t i = 0; i < 4; ++i) labels[i] = std::int32_t(i);
    // Passes each report on, then notes how many buckets have started.
    struct watcher final : gradient_hook {
        dist::gradient_reducer<dist::single, float, cpu>* r = nullptr;
        std::vector<std::size_t> started;
        void gradient_final(const void* g) override {
            r->gradient_final(g);
            started.push_back(r->started());
        }
        void backward_begins(const void* const* g, std::size_t n) override { r->backward_begins(g, n); }
    } w;
    auto gradients = [&](dist::gradient_reducer<dist::single, float, cpu>* r, std::size_t* early) {
        tape<cpu> t;
        w.r = r;
        if (r != nullptr) t.set_gradient_hook(&w);
        auto logits = model->forward(t, input(t, images));
        ops::cross_entropy(logits, labels).backward();
        std::vector<float> g;
        if (r != nullptr) {
            *early = r->started();
            r->finish();
        }
        for (auto& s : opt.slots()) {
            g.insert(g.end(), s.param.grad, s.param.grad + s.param.size);
            *s.param.has_grad = false;
        }
        return g;
    };
    std::size_t early = 0;
    const auto plain = gradients(nullptr, &early);
    dist::single comm;
    dist::gradient_reducer<dist::single, float, cpu> r(comm, opt, {.bucket_bytes = 8192});
    const auto reduced = gradients(&r, &early);
    BOOST_TEST(r.bucket_count() > 3u);
    BOOST_TEST(early == r.bucket_count());  // every parameter was reported by the end of the backward
    // ... and the first buckets started while most reports were still to come.
    BOOST_REQUIRE(w.started.size() == opt.slots().size());
    BOOST_TEST(w.started[w.started.size() / 2] >= 1u);
    BOOST_TEST(w.started[w.started.size() / 2] < r.bucket_count());
    BOOST_TEST(plain == reduced, boost::test_tools::per_element());
}

BOOST_AUTO_TEST_SUITE_END()
