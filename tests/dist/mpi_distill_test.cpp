// Data-parallel TinyMIM distillation on the ranks mpirun starts (CTest: two): each rank runs its half of a
// global batch of 16 for 20 steps, with drop path (drawn per sample, keyed by the position in the global
// batch) and masked input (MAE masks, likewise); every rank then holds what one process with the whole
// batch computes — the same losses and student weights within 1e-12 (max-norm relative) in double and
// 1e-5 in float (the keys' biases aside, see below). The one-process run is computed on every rank, without
// a communicator.
#include <boost/test/unit_test.hpp>

#include <algorithm>
#include <cmath>
#include <memory>
#include <vector>

#include "../support/common.hpp"
#include "tinymim/dist/data_parallel.hpp"
#include "tinymim/distill/distiller.hpp"
#include "tinymim/nn/vit.hpp"
#include "world.hpp"

using namespace tinymim;
namespace d = tinymim::distill;

namespace {
using tt::world;

constexpr nn::vit_config t_cfg{.image = 16, .patch = 4, .channels = 1, .dim = 24, .depth = 3, .heads = 3};
constexpr nn::vit_config s_cfg{.image = 16, .patch = 4, .channels = 1, .dim = 12, .depth = 2, .heads = 3};
constexpr std::size_t global = 16, steps = 20;

double max_norm(const std::vector<double>& v) {
    double m = 0;
    for (double x : v) m = std::max(m, std::abs(x));
    return m;
}

// The losses of every step and the student's weights after them, from `global` images a step, of which
// this run trains images [first, first + count) (all of them without a communicator).
template <class T, class Input>
std::pair<std::vector<double>, std::vector<double>> run(dist::mpi* comm) {
    using P = d::pairing<nn::vit<t_cfg, cpu, T>, nn::vit<s_cfg, cpu, T>, d::relations<d::qk, d::vv>, d::kl_divergence,
                         d::teacher_block<2>, d::last_block, Input>;
    auto teacher = std::make_unique<nn::vit<t_cfg, cpu, T>>();
    auto student = std::make_unique<nn::vit<s_cfg, cpu, T>>();
    teacher->init(counter_rng(21));
    student->init(counter_rng(comm != nullptr ? 22 + std::uint64_t(comm->rank()) : 22));  // rank 0's wins
    d::distiller<P> dist(*teacher, *student, {.drop_path = 0.3, .mask_ratio = 0.5, .seed = 3});
    std::size_t first = 0, count = global;
    if (comm != nullptr) {
        dist::make_data_parallel(dist, *comm, global, {.bucket_bytes = 4096});  // several buckets
        count = global / std::size_t(comm->size());
        first = std::size_t(comm->rank()) * count;
    }
    std::vector<double> losses;
    for (std::size_t s = 0; s < steps; ++s) {
        const auto all = tt::randn<shape<dyn, 1, 16, 16>, T>(100 + s, global, 1, 16, 16);
        tensor<T, shape<dyn, 1, 16, 16>> mine({count, 1, 16, 16});
        std::copy(all.data() + first * 256, all.data() + (first + count) * 256, mine.data());
        const auto r = dist.step(mine, 1e-3);
        losses.push_back(r.total);
        for (double t : r.terms) losses.push_back(t);
    }
    std::vector<double> weights;
    student->visit([&](nn::param_ref<T>& p) {
        // The key's bias (the middle third of qkv.bias) gets a zero gradient in exact arithmetic —
        // softmax(q·(k + b)) = softmax(q·k) row by row —, so all it ever gets is rounding noise, which AdamW
        // scales to steps of up to lr whatever its size: it is left out of the comparison.
        const bool qkv_bias = p.name.size() > 13 && p.name.compare(p.name.size() - 13, 13, "attn.qkv.bias") == 0;
        for (std::size_t i = 0; i < p.size; ++i)
            if (!qkv_bias || i < p.size / 3 || i >= 2 * p.size / 3) weights.push_back(double(p.value[i]));
    });
    return {losses, weights};
}

template <class T, class Input>
void same_as_one_process(double tolerance) {
    const auto [one_losses, one_weights] = run<T, Input>(nullptr);
    const auto [losses, weights] = run<T, Input>(&world());
    auto rel = [](const std::vector<double>& a, const std::vector<double>& b) {
        BOOST_REQUIRE(a.size() == b.size());
        double e = 0;
        for (std::size_t i = 0; i < a.size(); ++i) e = std::max(e, std::abs(a[i] - b[i]));
        return e / std::max(max_norm(b), 1e-300);
    };
    const double dl = rel(losses, one_losses), dw = rel(weights, one_weights);

    BOOST_TEST_MESSAGE("rank " << world().rank() << ": losses " << dl << ", weights " << dw << " from one process");
    BOOST_TEST(dl <= tolerance);
    BOOST_TEST(dw <= tolerance);
    // The run did train: the weights moved from their initial values.
    BOOST_TEST(one_losses.front() != one_losses[one_losses.size() - 3]);
}
}  // namespace

BOOST_AUTO_TEST_SUITE(dist_mpi_distill)

BOOST_AUTO_TEST_CASE(two_ranks_equal_one_process_in_double) {
    same_as_one_process<double, d::raw_input>(1e-12);
    same_as_one_process<double, d::masked_input>(1e-12);
}

BOOST_AUTO_TEST_CASE(two_ranks_equal_one_process_in_float) { same_as_one_process<float, d::raw_input>(1e-5); }

BOOST_AUTO_TEST_SUITE_END()
