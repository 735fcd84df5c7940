// The training loop shared by every task: schedule, progress bar, metrics CSV, NaN/Inf guard, atomic
// checkpoints, exact resume, and a clean stop at a step boundary when asked (stop.hpp). A task supplies how to do one
// step and how to save / restore itself.
#pragma once

#include <cmath>
#include <cstddef>
#include <filesystem>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "tinymim/core/error.hpp"
#include "tinymim/io/writable_folder.hpp"
#include "tinymim/optim/schedule.hpp"
#include "tinymim/train/checkpoint.hpp"
#include "tinymim/train/metrics.hpp"
#include "tinymim/train/progress.hpp"
#include "tinymim/train/stop.hpp"

namespace tinymim::train {

struct loop_options {
    std::string name = "train";  // shown on the progress bar; file stem of the outputs
    std::size_t epochs = 1;
    std::size_t steps_per_epoch = 0;  // 0: the loader's batches per epoch
    double lr = 1e-3, min_lr = 0;
    double warmup_epochs = 0;
    std::size_t checkpoint_every = 0;    // steps between checkpoints (0: at each epoch end)
    std::size_t log_every = 10;          // steps between CSV rows
    std::filesystem::path out = "runs";  // directory for checkpoint, metrics, plots
    bool resume = false;                 // continue from <out>/<name>.ckpt when it exists
    std::uint64_t seed = 0;
    bool plot = true;
    std::size_t stop_after = 0;  // stop (with a checkpoint) after this many steps of this call (0: run to the end)
    bool leader = true;          // writes checkpoints, metrics, plots and the progress bar (data-parallel: rank 0)
    // Data-parallel runs: this rank's wish to stop after a step -> the group's decision, the same on every rank
    // (a collective, called after every step), so all ranks stop after the same step. Empty: this process decides.
    std::function<bool(bool)> agree_stop;
};

struct loop_result {
    std::size_t steps = 0;
    double last_loss = 0;
    double images_per_second = 0;
    double seconds = 0;
    bool resumed = false;
};

// step(epoch, index, lr) -> {images, loss terms (term 0 is the total)}.
struct step_output {
    std::size_t images = 0;
    std::vector<double> terms;
};

template <class Step, class Save, class Load>
loop_result run_loop(const loop_options& o, std::size_t batches_per_epoch, const std::vector<std::string>& term_names,
                     Step&& step, Save&& save, Load&& load,
                     const std::function<void(std::size_t epoch)>& on_epoch = {}) {
    if (o.leader) {
        std::filesystem::create_directories(o.out);
        io::check_writable_folder(o.out);  // a read-only or full folder fails here, not at the first checkpoint
    }
    const std::size_t spe = o.steps_per_epoch ? std::min(o.steps_per_epoch, batches_per_epoch) : batches_per_epoch;
    const std::size_t total = spe * o.epochs;
    TINYMIM_CHECK(total > 0, o.name, ": nothing to do (", o.epochs, " epochs of ", spe, " steps)");
    const auto ckpt = o.out / (o.name + ".ckpt");
    loop_result res;
    std::size_t start = 0;
    if (o.resume && std::filesystem::exists(ckpt)) {
        const auto meta = read_checkpoint_meta(ckpt);
        load(ckpt, meta);
        start = meta.step;
        res.resumed = true;
        if (o.leader) std::fprintf(stderr, "%s: resumed from %s at step %zu\n", o.name.c_str(), ckpt.c_str(), start);
    }
    optim::warmup_cosine sched{.base_lr = o.lr,
                               .min_lr = o.min_lr,
                               .warmup_steps = std::size_t(std::llround(o.warmup_epochs * double(spe))),
                               .total_steps = total};
    std::vector<std::string> cols = {"step", "epoch", "lr", "images_per_s"};
    for (const auto& t : term_names) cols.push_back(t);
    std::optional<csv_log> log;
    if (o.leader) log.emplace(o.out / (o.name + "_metrics.csv"), cols, res.resumed);
    progress bar(o.name, total, spe, start, o.leader ? stderr : nullptr);
    const std::size_t end = o.stop_after ? std::min(total, start + o.stop_after) : total;
    for (std::size_t s = start; s < end; ++s) {
        const double lr = sched(s);
        const step_output r = step(s / spe, s % spe, lr);
        for (std::size_t i = 0; i < r.terms.size(); ++i)
            TINYMIM_CHECK(std::isfinite(r.terms[i]), o.name, ": the loss term '", term_names[i], "' is ", r.terms[i],
                          " at step ", s, "; the run stops here, and the last checkpoint (", ckpt.string(),
                          ") is left as it was");
        std::vector<std::pair<std::string, double>> shown;
        for (std::size_t i = 0; i < r.terms.size(); ++i) shown.emplace_back(term_names[i], r.terms[i]);
        bar.update(s, r.images, lr, shown);
        res.last_loss = r.terms.empty() ? 0 : r.terms[0];
        if ((s + 1) % o.log_every == 0 || s + 1 == total) {
            std::vector<double> row = {double(s + 1), double(s) / double(spe), lr, bar.images_per_second()};
            row.insert(row.end(), r.terms.begin(), r.terms.end());
            if (log) log->row(row);
        }
        const bool epoch_end = (s + 1) % spe == 0;
        if (epoch_end && on_epoch) on_epoch(s / spe);
        const bool saved = (o.checkpoint_every ? (s + 1) % o.checkpoint_every == 0 : epoch_end) || s + 1 == end;
        if (saved && o.leader) save(ckpt, s + 1);
        bool stop = stop_requested();
        if (o.agree_stop) stop = o.agree_stop(stop);  // every rank, every step: the collectives stay matched
        if (stop && s + 1 < end) {
            if (!saved && o.leader) save(ckpt, s + 1);
            const bool asked_here = stop_requested();
            const int sig = stop_signal();
            clear_stop();
            bar.end_line();
            throw stopped(o.name + ": stopped " +
                              (!asked_here      ? "because another rank was asked to"
                               : sig == SIGTERM ? "by SIGTERM"
                               : sig == SIGINT  ? "by SIGINT"
                                                : "on request") +
                              " after step " + std::to_string(s + 1) + " of " + std::to_string(total) + "; " +
                              ckpt.string() + " holds it, and resuming from it continues exactly",
                          s + 1, sig);
        }
    }
    res.steps = end;
    res.images_per_second = bar.images_per_second();
    res.seconds = bar.seconds();
    if (o.plot && log && !term_names.empty())
        plot_csv(log->path(), o.out / (o.name + "_loss.png"), o.name + ": training loss", "step", term_names, "loss");
    return res;
}

}  // namespace tinymim::train
