// tinymim: MAE pre-training, TinyMIM distillation, fine-tuning and evaluation of Vision Transformers.
#include <cstdio>
#include <exception>

#include <tinymim/train/stop.hpp>

#include "cli.hpp"

int main(int argc, char** argv) {
    const auto cl = tool::make_command_line();
    CLI11_PARSE(cl->app, argc, argv);
    // SIGTERM / SIGINT: the step in progress finishes, its checkpoint is written, and the exit status is
    // 128 + the signal, as a shell reports a job the signal ended; the same signal again ends it at once.
    const tinymim::train::stop_on_signals stop_guard;
    try {
        if (*cl->pretrain_cmd) {
            const auto r = tool::run(cl->common, cl->pretrain);
            std::printf("pretrain: %zu steps, final loss %.4f, %.1f images/s\n", r.steps, r.last_loss,
                        r.images_per_second);
        } else if (*cl->distill_cmd) {
            const auto r = tool::run(cl->common, cl->distill);
            std::printf("distill: %zu steps, final loss %.4f, %.1f images/s\n", r.steps, r.last_loss,
                        r.images_per_second);
        } else if (*cl->finetune_cmd) {
            const auto r = tool::run(cl->common, cl->finetune);
            std::printf("finetune: test top-1 %.2f%%, loss %.4f on %zu images\n", 100 * r.accuracy, r.loss, r.images);
        } else if (*cl->eval_cmd) {
            const auto r = tool::run(cl->common, cl->eval);
            std::printf("eval: top-1 %.2f%%, loss %.4f on %zu images\n", 100 * r.accuracy, r.loss, r.images);
        } else if (*cl->embed_cmd) {
            tool::run(cl->common, cl->embed);
        } else if (*cl->bench_cmd) {
            if (cl->bench.what == "peak")
                tool::run_peak(cl->common, cl->bench);
            else
                tool::run(cl->common, cl->bench);
        } else if (*cl->demo_cmd) {
            tool::run_demo(cl->common, cl->demo);
        }
    } catch (const tinymim::train::stopped& e) {
        std::fprintf(stderr, "tinymim: %s (--resume)\n", e.what());
        return e.signal() != 0 ? 128 + e.signal() : 1;
    } catch (const std::exception& e) {
        std::fprintf(stderr, "tinymim: error: %s\n", e.what());
        return 1;
    }
    return 0;
}
