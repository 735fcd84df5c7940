// tinymim: MAE pre-training, TinyMIM distillation, fine-tuning and evaluation of Vision Transformers.
#include <cstdio>
#include <cstdlib>
#include <exception>
#include <memory>

#include <fcntl.h>
#include <unistd.h>

#include <tinymim/train/stop.hpp>
#if defined(TINYMIM_TOOL_MPI)
#include <tinymim/dist/mpi.hpp>
#endif

#include "cli.hpp"

#if defined(TINYMIM_TOOL_MPI)
namespace {
// Whether mpirun (OpenMPI's or a PMI launcher) started this process.
bool launched_by_mpi() {
    return std::getenv("OMPI_COMM_WORLD_SIZE") != nullptr || std::getenv("PMI_SIZE") != nullptr ||
           std::getenv("PMIX_RANK") != nullptr;
}
// The ranks other than 0 print nothing (rank 0 speaks for the group); their errors still reach `err`.
void quiet_unless_leader(int rank, int& err) {
    err = ::dup(STDERR_FILENO);
    if (rank == 0) return;
    const int null = ::open("/dev/null", O_WRONLY);
    ::dup2(null, STDOUT_FILENO);
    ::dup2(null, STDERR_FILENO);
    ::close(null);
}
}  // namespace
#endif

int main(int argc, char** argv) {
    const auto cl = tool::make_command_line();
    CLI11_PARSE(cl->app, argc, argv);
    // SIGTERM / SIGINT: the step in progress finishes, its checkpoint is written, and the exit status is
    // 128 + the signal, as a shell reports a job the signal ended; the same signal again ends it at once.
    const tinymim::train::stop_on_signals stop_guard;
#if defined(TINYMIM_TOOL_MPI)
    int err = STDERR_FILENO;
    // Under mpirun every rank runs the command as one data-parallel group; a rank that fails ends them all.
    std::unique_ptr<tinymim::dist::mpi> group;
    std::shared_ptr<void> gpu_group;  // with --device cuda: the NCCL communicator over `group`
    auto fail = [&](const char* what) -> int {
        if (!group || group->size() == 1) {
            std::fprintf(stderr, "tinymim: error: %s\n", what);
            return 1;
        }
        ::dup2(err, STDERR_FILENO);
        group->abort(what);  // prints the error with this rank's number
    };
#else
    auto fail = [](const char* what) {
        std::fprintf(stderr, "tinymim: error: %s\n", what);
        return 1;
    };
#endif
    try {
#if defined(TINYMIM_TOOL_MPI)
        if (launched_by_mpi()) {
            group = std::make_unique<tinymim::dist::mpi>();
            if (group->size() > 1) {
                cl->common.comm.emplace(*group);
                quiet_unless_leader(group->rank(), err);
#if defined(TINYMIM_TOOL_CUDA)
                if (cl->common.device == "cuda") gpu_group = tool::join_gpu_group(cl->common, group->local_rank());
#endif
            }
        }
#endif
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
            std::printf("finetune: %s top-1 %.2f%%, loss %.4f on %zu images\n", cl->common.holdout ? "holdout" : "test",
                        100 * r.accuracy, r.loss, r.images);
        } else if (*cl->eval_cmd) {
            const auto r = tool::run(cl->common, cl->eval);
            std::printf("eval: %stop-1 %.2f%%, loss %.4f on %zu images\n", cl->common.holdout ? "holdout " : "",
                        100 * r.accuracy, r.loss, r.images);
        } else if (*cl->embed_cmd) {
            tool::run(cl->common, cl->embed);
        } else if (*cl->bench_cmd) {
            if (cl->bench.what == "peak")
                tool::run_peak(cl->common, cl->bench);
            else
                tool::run(cl->common, cl->bench);
        } else if (*cl->demo_cmd) {
            tool::run_demo(cl->common, cl->demo);
        } else if (*cl->report_cmd) {
            tool::run_report(cl->report);
        }
    } catch (const tinymim::train::stopped& e) {
        std::fprintf(stderr, "tinymim: %s (--resume)\n", e.what());
        return e.signal() != 0 ? 128 + e.signal() : 1;
    } catch (const std::exception& e) {
        return fail(e.what());
    }
    return 0;
}
