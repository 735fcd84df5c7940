// The communicators a recipe function takes (train::task_options): dist::any_device_communicator views a
// device-memory communicator and forwards every collective; the kinds are checked — a CPU model's run refuses a
// device communicator, and a device communicator without the group's host one is refused — before any step,
// with a sentence naming the option. (A GPU model's run through dist::nccl: tests/dist/nccl_test.cpp.)
#include <boost/test/unit_test.hpp>

#include <filesystem>
#include <memory>
#include <string>

#include "../support/synthetic.hpp"
#include "tinymim/dist/single.hpp"
#include "tinymim/train/tasks.hpp"

using namespace tinymim;

namespace {
// A stand-in for dist::nccl that runs on the host: one rank, counting the collectives it is given.
struct counting_device_comm {
    static constexpr bool device_memory = true;
    int allreduces = 0, broadcasts = 0, barriers = 0;
    float last_first = 0;
    [[nodiscard]] int rank() const noexcept { return 0; }
    [[nodiscard]] int size() const noexcept { return 1; }
    void allreduce(float* p, std::size_t, dist::reduce_op) {
        ++allreduces;
        last_first = p[0];
    }
    void allreduce(double*, std::size_t, dist::reduce_op) { ++allreduces; }
    void allreduce(bf16*, std::size_t, dist::reduce_op) { ++allreduces; }
    void broadcast(void*, std::size_t, int) { ++broadcasts; }
    void barrier() { ++barriers; }
};
static_assert(dist::communicator<counting_device_comm> && dist::device_communicator<counting_device_comm>);

constexpr nn::vit_config enc{.image = 28, .patch = 7, .channels = 1, .dim = 12, .depth = 1, .heads = 3};
using classifier_t = nn::vit<enc.with_head(nn::pool::avg, 10)>;

std::string finetune_error(const train::task_options& o) {
    auto m = std::make_unique<classifier_t>();
    m->init(counter_rng(1));
    try {
        (void)train::finetune(*m, tt::synthetic_images(32), tt::synthetic_images(16), o);
    } catch (const error& e) {
        return e.what();
    }
    return "";
}

train::task_options options(const std::string& name) {
    train::task_options o;
    o.loop.out = std::filesystem::temp_directory_path() / ("tinymim_group_options_" + name);
    o.loop.name = "ft";
    o.loop.plot = false;
    o.batch_size = 16;
    return o;
}
}  // namespace

BOOST_AUTO_TEST_SUITE(group_options)

BOOST_AUTO_TEST_CASE(the_device_view_forwards_every_collective) {
    counting_device_comm c;
    const dist::any_device_communicator v(c);
    static_assert(dist::device_communicator<dist::any_device_communicator>);
    static_assert(!dist::device_communicator<dist::any_communicator>);
    float x[2] = {2.5f, 1.0f};
    double y = 0;
    v.allreduce(x, 2, dist::reduce_op::average);
    v.start_allreduce(&y, 1, dist::reduce_op::sum);  // no overlap in the stand-in: reduced at once
    v.progress();
    v.wait_all();
    v.broadcast(x, sizeof x, 0);
    v.barrier();
    BOOST_TEST(c.allreduces == 2);
    BOOST_TEST(c.last_first == 2.5f);
    BOOST_TEST(c.broadcasts == 1);
    BOOST_TEST(c.barriers == 1);
    BOOST_TEST(v.rank() == 0);
    BOOST_TEST(v.size() == 1);
}

BOOST_AUTO_TEST_CASE(a_cpu_model_refuses_a_device_communicator) {
    dist::single host;
    counting_device_comm device;
    auto o = options("cpu_device");
    o.comm.emplace(host);
    o.device_comm.emplace(device);
    const std::string why = finetune_error(o);
    BOOST_TEST(why.find("finetune: the model is in host memory") != std::string::npos, why);
    BOOST_TEST(why.find("task_options::device_comm") != std::string::npos, why);
    BOOST_TEST(device.allreduces + device.broadcasts == 0);  // refused before any collective
}

BOOST_AUTO_TEST_CASE(a_device_communicator_needs_the_host_one) {
    counting_device_comm device;
    auto o = options("device_alone");
    o.device_comm.emplace(device);
    const std::string why = finetune_error(o);
    BOOST_TEST(why.find("task_options::device_comm needs task_options::comm too") != std::string::npos, why);
}

BOOST_AUTO_TEST_CASE(without_a_device_communicator_a_cpu_run_trains) {
    dist::single host;
    auto o = options("cpu_host");
    o.comm.emplace(host);
    o.loop.epochs = 1;
    BOOST_TEST(finetune_error(o).empty());
}

BOOST_AUTO_TEST_SUITE_END()
