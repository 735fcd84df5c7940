// Stopping at a step boundary (train/stop.hpp): a SIGTERM or request_stop() during a step lets the step
// finish, writes the checkpoint of that step, throws train::stopped naming it, and a resume from that
// checkpoint ends exactly where the uninterrupted run ends.
#include <boost/test/unit_test.hpp>

#include <signal.h>
#include <unistd.h>

#include <cmath>
#include <filesystem>
#include <string>
#include <vector>

#include "tinymim/io/safetensors.hpp"
#include "tinymim/train/loop.hpp"
#include "tinymim/train/stop.hpp"

using namespace tinymim;
namespace fs = std::filesystem;

namespace {
fs::path fresh_dir(const std::string& name) {
    const fs::path d = fs::temp_directory_path() / ("tinymim_stop_test_" + std::to_string(::getpid())) / name;
    fs::remove_all(d);
    fs::create_directories(d);
    return d;
}

// A toy task: its state is one vector, each step a deterministic update of it, saved as a checkpoint.
struct toy {
    std::vector<double> x = std::vector<double>(5, 1.0);
    train::loop_result run(const fs::path& out, bool resume, std::size_t interrupt_at, bool by_signal) {
        train::loop_options o{
            .name = "toy", .epochs = 3, .lr = 0.1, .checkpoint_every = 4, .out = out, .resume = resume, .plot = false};
        auto step = [&](std::size_t epoch, std::size_t index, double lr) {
            const std::size_t s = epoch * 3 + index;
            for (std::size_t i = 0; i < x.size(); ++i) x[i] = x[i] * (1 - lr) + std::sin(double(s * 7 + i));
            if (s == interrupt_at) {
                if (by_signal)
                    ::raise(SIGTERM);  // delivered at once, in this thread: the step still finishes
                else
                    train::request_stop();
            }
            return train::step_output{.images = 1, .terms = {x[0]}};
        };
        auto save = [&](const fs::path& p, std::size_t done) {
            io::safetensors_writer w;
            w.add("x", {x.size()}, x.data());
            w.set_metadata("tinymim", R"({"step":)" + std::to_string(done) +
                                          R"(,"kind":"toy","model":"toy","seed":0,"optim_steps":[]})");
            w.write(p);
        };
        auto load = [&](const fs::path& p, const train::checkpoint_meta&) {
            x = io::safetensors_reader(p).read<double>("x");
        };
        return train::run_loop(o, 3, {"x0"}, step, save, load);
    }
};
}  // namespace

BOOST_AUTO_TEST_SUITE(stop)

BOOST_AUTO_TEST_CASE(sigterm_stops_at_the_step_boundary_with_a_checkpoint_and_resumes_exactly) {
    toy whole;
    (void)whole.run(fresh_dir("whole"), false, 99, false);
    const auto d = fresh_dir("cut");
    toy cut;
    {
        const train::stop_on_signals guard;
        try {
            (void)cut.run(d, false, 5, true);  // step 5 of 9 (0-based); checkpoints every 4 would be at 4 and 8
            BOOST_FAIL("the run did not stop");
        } catch (const train::stopped& e) {
            BOOST_TEST(e.step() == 6u);
            BOOST_TEST(e.signal() == SIGTERM);
            BOOST_TEST(std::string(e.what()).find("stopped by SIGTERM after step 6 of 9") != std::string::npos,
                       e.what());
        }
    }
    BOOST_TEST(!train::stop_requested());  // the request is consumed by the stop
    BOOST_TEST(train::read_checkpoint_meta(d / "toy.ckpt").step == 6u);
    struct sigaction now {};
    ::sigaction(SIGTERM, nullptr, &now);
    BOOST_TEST((now.sa_handler == SIG_DFL));  // the guard put the default back
    toy resumed;
    const auto r = resumed.run(d, true, 99, false);
    BOOST_TEST(r.resumed);
    BOOST_TEST(r.steps == 9u);
    BOOST_TEST(resumed.x == whole.x);  // bit for bit
}

BOOST_AUTO_TEST_CASE(request_stop_from_code_says_so_and_the_last_step_needs_no_stop) {
    const auto d = fresh_dir("request");
    toy t;
    try {
        (void)t.run(d, false, 3, false);
        BOOST_FAIL("the run did not stop");
    } catch (const train::stopped& e) {
        BOOST_TEST(e.step() == 4u);
        BOOST_TEST(e.signal() == 0);
        BOOST_TEST(std::string(e.what()).find("stopped on request after step 4 of 9") != std::string::npos);
    }
    // A request during the last step: the run ends normally, and the request stays for the next loop.
    toy last;
    const auto d2 = fresh_dir("last");
    const auto r = last.run(d2, false, 8, false);
    BOOST_TEST(r.steps == 9u);
    BOOST_TEST(train::stop_requested());
    train::clear_stop();
}

BOOST_AUTO_TEST_SUITE_END()
