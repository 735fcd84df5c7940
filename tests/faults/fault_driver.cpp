// The training process tests/faults/faults_test.sh injects faults into: MAE pre-training of a small model
// on synthetic images through train::pretrain_mae, checkpointing every 2 steps, stopping cleanly on
// SIGTERM / SIGINT as the tinymim tool does (exit status 128 + the signal).
//   fault_driver train <out> <epochs> [--resume]   run (or resume) to <epochs> epochs of 8 steps
//   fault_driver check <checkpoint>                load a checkpoint into the model and its optimizer
#include <cstdio>
#include <cstring>
#include <exception>
#include <memory>
#include <random>
#include <string>

#include "tinymim/nn/mae.hpp"
#include "tinymim/train/stop.hpp"
#include "tinymim/train/tasks.hpp"

namespace {
using namespace tinymim;
constexpr nn::vit_config encoder_cfg{.image = 28, .patch = 7, .channels = 1, .dim = 24, .depth = 2, .heads = 2};
constexpr nn::mae_decoder_config decoder_cfg{.dim = 16, .depth = 1, .heads = 2};
using mae_t = nn::mae<encoder_cfg, decoder_cfg>;

data::image_dataset synthetic(std::size_t n) {
    data::image_dataset d;
    d.channels = 1;
    d.height = d.width = 28;
    d.pixels.resize(n * 28 * 28);
    d.labels.assign(n, 0);
    std::mt19937 g(5);
    for (auto& p : d.pixels) p = std::uint8_t(g() % 256);
    d.mean = {0.5f};
    d.std = {0.25f};
    return d;
}

int usage() {
    std::fprintf(stderr, "usage: fault_driver train <out> <epochs> [--resume] | fault_driver check <checkpoint>\n");
    return 2;
}
}  // namespace

int main(int argc, char** argv) {
    if (argc < 3) return usage();
    const std::string what = argv[1];
    auto m = std::make_unique<mae_t>();
    m->init(counter_rng(3));
    try {
        if (what == "check") {
            const auto meta = train::read_checkpoint_meta(argv[2]);
            optim::adamw<float> opt(io::collect(*m), {});
            train::detail::load_model_checkpoint(argv[2], meta, *m, opt);
            std::printf("checkpoint %s: step %zu, loaded\n", argv[2], meta.step);
            return 0;
        }
        if (what != "train" || argc < 4) return usage();
        const bool resume = argc > 4 && std::strcmp(argv[4], "--resume") == 0;
        train::task_options o;
        o.loop = {.name = "mae",
                  .epochs = std::size_t(std::stoul(argv[3])),
                  .lr = 1e-3,
                  .warmup_epochs = 1,
                  .checkpoint_every = 2,
                  .log_every = 1,
                  .out = argv[2],
                  .resume = resume,
                  .seed = 11,
                  .plot = false};
        o.batch_size = 32;
        const train::stop_on_signals guard;
        const auto r = train::pretrain_mae(*m, synthetic(256), o);
        std::printf("trained: %zu steps\n", r.steps);
        return 0;
    } catch (const train::stopped& e) {
        std::fprintf(stderr, "fault_driver: %s\n", e.what());
        return e.signal() != 0 ? 128 + e.signal() : 1;
    } catch (const std::exception& e) {
        std::fprintf(stderr, "fault_driver: error: %s\n", e.what());
        return 1;
    }
}
