// The recipe functions data-parallel (train::task_options::comm) on the ranks mpirun starts (CTest: two): MAE
// pre-training, DMAE distillation and fine-tuning (drop path, random crops and masks drawn per global sample) over a
// global batch of 16 for 20 steps end with the weights one process with the whole batch reaches, within 1e-5 (max-norm
// relative, float); a two-rank fine-tuning stopped mid-epoch and resumed ends bit for bit where an
// uninterrupted one does, also when the stop was asked of one rank only (every rank stops after the same step); ranks
// that differ in a setting stop before the first step, every one of them.
#include <boost/test/unit_test.hpp>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include <unistd.h>

#include "../support/synthetic.hpp"
#include "tinymim/train/tasks.hpp"
#include "world.hpp"

using namespace tinymim;
namespace fs = std::filesystem;

namespace {
using tt::world;

constexpr nn::vit_config enc{.image = 28, .patch = 7, .channels = 1, .dim = 12, .depth = 2, .heads = 3};
constexpr nn::mae_decoder_config dec{.dim = 8, .depth = 1, .heads = 2};
using mae_t = nn::mae<enc, dec>;
using classifier_t = nn::vit<enc.with_head(nn::pool::avg, 10)>;
using teacher_t = nn::vit<nn::vit_config{.image = 28, .patch = 7, .channels = 1, .dim = 16, .depth = 2, .heads = 2}>;

// A folder every rank names alike (rank 0's process id, broadcast), emptied by rank 0.
fs::path shared_dir(const std::string& name) {
    int pid = int(::getpid());
    world().broadcast(&pid, sizeof pid, 0);
    const fs::path d = fs::temp_directory_path() / ("tinymim_mpi_tasks_" + std::to_string(pid)) / name;
    if (world().rank() == 0) {
        fs::remove_all(d);
        fs::create_directories(d);
    }
    world().barrier();
    return d;
}

train::task_options options(const fs::path& out, bool group) {
    train::task_options o;
    o.loop.out = out;
    o.loop.epochs = 2;
    o.loop.lr = 1e-3;
    o.loop.plot = false;
    o.loop.seed = 5;
    o.batch_size = 16;
    o.drop_path = 0.2;
    if (group) o.comm.emplace(world());
    return o;
}

// Every weight, the key biases aside: their true gradient is zero (softmax(q·(k + b)) = softmax(q·k)), so all
// they get is rounding noise, which AdamW scales to steps of up to lr whatever its size.
template <class M>
std::vector<double> weights(M& m) {
    std::vector<double> w;
    m.visit([&](nn::param_ref<float>& p) {
        const bool qkv_bias = p.name.size() > 13 && p.name.compare(p.name.size() - 13, 13, "attn.qkv.bias") == 0;
        for (std::size_t i = 0; i < p.size; ++i)
            if (!qkv_bias || i < p.size / 3 || i >= 2 * p.size / 3) w.push_back(double(p.value[i]));
    });
    return w;
}

double relative(const std::vector<double>& a, const std::vector<double>& b) {
    BOOST_REQUIRE(a.size() == b.size());
    double e = 0, n = 0;
    for (std::size_t i = 0; i < a.size(); ++i) {
        e = std::max(e, std::abs(a[i] - b[i]));
        n = std::max(n, std::abs(b[i]));
    }
    return e / n;
}

// One process with the whole batch (on every rank, in a folder of its own) against the group.
template <class M, class Run>
void same_as_one_process(const std::string& name, Run&& run) {
    const auto data = tt::synthetic_images(160);
    const fs::path one = shared_dir(name + "_one") / std::to_string(world().rank());
    auto a = std::make_unique<M>(), b = std::make_unique<M>();
    a->init(counter_rng(7));
    b->init(counter_rng(7 + std::uint64_t(world().rank())));  // rank 0's weights reach every rank
    const auto ra = run(*a, data, options(one, false));
    const auto rb = run(*b, data, options(shared_dir(name + "_group"), true));
    BOOST_TEST(ra.steps == 20u);
    BOOST_TEST(rb.steps == 20u);
    const double dw = relative(weights(*b), weights(*a));
    BOOST_TEST_MESSAGE(name << ", rank " << world().rank() << ": weights " << dw << " from one process, last loss "
                            << rb.last_loss << " against " << ra.last_loss);
    BOOST_TEST(dw <= 1e-5);
    BOOST_TEST(std::abs(rb.last_loss - ra.last_loss) <= 1e-5 * std::abs(ra.last_loss));
    auto init = std::make_unique<M>();
    init->init(counter_rng(7));
    BOOST_TEST(relative(weights(*a), weights(*init)) > 1e-3);  // it trained
}
}  // namespace

BOOST_AUTO_TEST_SUITE(dist_mpi_tasks)

BOOST_AUTO_TEST_CASE(mae_pretraining_on_two_ranks_equals_one_process) {
    same_as_one_process<mae_t>("pretrain", [](mae_t& m, const data::image_dataset& d, train::task_options o) {
        o.loop.name = "pretrain";
        return train::pretrain_mae(m, d, o);
    });
}

BOOST_AUTO_TEST_CASE(finetuning_on_two_ranks_equals_one_process) {
    same_as_one_process<classifier_t>("finetune",
                                      [](classifier_t& m, const data::image_dataset& d, train::task_options o) {
                                          o.loop.name = "finetune";
                                          return train::finetune(m, d, tt::synthetic_images(32), o);
                                      });
}

BOOST_AUTO_TEST_CASE(dmae_distillation_on_two_ranks_equals_one_process) {
    same_as_one_process<mae_t>("dmae", [](mae_t& m, const data::image_dataset& d, train::task_options o) {
        auto teacher = std::make_unique<teacher_t>();
        teacher->init(counter_rng(3));
        distill::dmae<teacher_t, mae_t> dm(*teacher, m, {.teacher_block = 1, .drop_path = 0.2, .seed = 4});
        o.loop.name = "dmae";
        return train::distill_dmae(dm, d, o);
    });
}

// The weights of an uninterrupted two-rank fine-tuning (2 epochs of 10 steps) and, for the interrupted runs, a
// model initialised alike and the options of a run of their own in `parts`.
struct resume_case {
    data::image_dataset data = tt::synthetic_images(160), test = tt::synthetic_images(32);
    std::vector<double> whole;
    std::unique_ptr<classifier_t> parts = std::make_unique<classifier_t>();
    train::task_options o;
    explicit resume_case(const std::string& name) {
        auto m = std::make_unique<classifier_t>();
        m->init(counter_rng(9));
        parts->init(counter_rng(9));
        o = options(shared_dir(name + "_whole"), true);
        o.loop.name = "ft";
        (void)train::finetune(*m, data, test, o);
        whole = weights(*m);
        o = options(shared_dir(name + "_parts"), true);
        o.loop.name = "ft";
    }
};

BOOST_AUTO_TEST_CASE(two_ranks_resume_mid_epoch_exactly) {
    resume_case c("resume");
    auto& o = c.o;
    const auto& data = c.data;
    const auto& test = c.test;
    auto& parts = c.parts;
    o.loop.stop_after = 7;  // mid-epoch: 10 steps an epoch
    const auto first = train::finetune(*parts, data, test, o);
    BOOST_TEST(first.steps == 7u);
    auto again = std::make_unique<classifier_t>();
    again->init(counter_rng(99));  // everything comes from the checkpoint
    o.loop.stop_after = 0;
    o.loop.resume = true;
    const auto second = train::finetune(*again, data, test, o);
    BOOST_TEST(second.resumed);
    BOOST_TEST((weights(*again) == c.whole));
}

BOOST_AUTO_TEST_CASE(a_stop_asked_of_one_rank_stops_every_rank_after_the_same_step) {
    resume_case c("agreed");
    auto& o = c.o;
    const auto& data = c.data;
    const auto& test = c.test;
    if (world().rank() == 1) train::request_stop();  // as a signal would, on rank 1 alone
    try {
        (void)train::finetune(*c.parts, data, test, o);
        BOOST_FAIL("rank " << world().rank() << " ran on after a stop was asked");
    } catch (const train::stopped& e) {
        BOOST_TEST(e.step() == 1u);  // both ranks: after the first step
        const std::string why = e.what();
        BOOST_TEST(why.find(world().rank() == 1 ? "stopped on request" : "because another rank was asked to") !=
                       std::string::npos,
                   why);
    }
    BOOST_TEST(!train::stop_requested());
    world().barrier();
    auto again = std::make_unique<classifier_t>();
    again->init(counter_rng(99));
    o.loop.resume = true;  // from rank 0's checkpoint of step 1, on both ranks
    (void)train::finetune(*again, data, test, o);
    BOOST_TEST((weights(*again) == c.whole));
}

BOOST_AUTO_TEST_CASE(ranks_that_differ_in_a_setting_stop_before_the_first_step) {
    const auto data = tt::synthetic_images(world().rank() == 0 ? 160 : 144);
    auto m = std::make_unique<classifier_t>();
    auto o = options(shared_dir("differ"), true);
    o.loop.seed = 5 + std::uint64_t(world().rank());
    try {
        (void)train::finetune(*m, data, tt::synthetic_images(32), o);
        BOOST_FAIL("the ranks ran with different settings");
    } catch (const tinymim::error& e) {
        const std::string what = e.what();
        BOOST_TEST(what.find("ranks differ in seed (rank " + std::to_string(world().rank())) != std::string::npos,
                   what);
        BOOST_TEST(what.find("training images") != std::string::npos, what);
        BOOST_TEST(what.find("global batch") == std::string::npos, what);
    }
    BOOST_TEST(!fs::exists(o.loop.out / "train_metrics.csv"));
}

BOOST_AUTO_TEST_SUITE_END()
