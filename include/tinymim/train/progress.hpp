// A progress bar for long loops: step, epoch, images/s, ETA, each loss term, lr. Redraws in place on a
// terminal; on a pipe or file it prints a line every `every` steps instead; with no stream (nullptr) it only
// counts (the ranks of a data-parallel run other than rank 0).
#pragma once

#include <chrono>
#include <cstdio>
#include <string>
#include <utility>
#include <vector>

#include <unistd.h>

namespace tinymim::train {

class progress {
public:
    progress(std::string what, std::size_t total_steps, std::size_t steps_per_epoch, std::size_t first_step = 0,
             std::FILE* out = stderr)
        : what_(std::move(what)),
          total_(total_steps),
          per_epoch_(steps_per_epoch),
          first_(first_step),
          out_(out),
          tty_(out != nullptr && ::isatty(::fileno(out)) != 0),
          start_(clock::now()) {
        every_ = std::max<std::size_t>(1, total_ / 20);
    }

    // After step `step` (0-based) processed `images` images.
    void update(std::size_t step, std::size_t images, double lr,
                const std::vector<std::pair<std::string, double>>& terms) {
        images_ += images;
        const double secs = std::chrono::duration<double>(clock::now() - start_).count();
        const double ips = secs > 0 ? double(images_) / secs : 0;
        const std::size_t done = step + 1 - first_, left = total_ - (step + 1);
        const double eta = done > 0 ? secs / double(done) * double(left) : 0;
        last_ips_ = ips;
        const bool last = step + 1 == total_;
        if (out_ == nullptr || (!tty_ && !last && (step + 1) % every_ != 0)) return;
        const int width = 24;
        const int fill = total_ ? int(double(step + 1) / double(total_) * width) : width;
        std::string bar(std::size_t(fill), '#');
        bar.resize(width, '.');
        std::string t;
        for (const auto& [k, v] : terms) {
            char b[64];
            std::snprintf(b, sizeof b, " %s %.4f", k.c_str(), v);
            t += b;
        }
        std::fprintf(out_, "%s%s [%s] step %zu/%zu epoch %zu %.0f img/s ETA %s lr %.2e%s%s", tty_ ? "\r\033[K" : "",
                     what_.c_str(), bar.c_str(), step + 1, total_, per_epoch_ ? step / per_epoch_ + 1 : 1, ips,
                     format_time(eta).c_str(), lr, t.c_str(), tty_ && !last ? "" : "\n");
        std::fflush(out_);
    }
    // Ends the line a terminal's bar is redrawn on, so that what follows starts on its own line.
    void end_line() {
        if (tty_) std::fputc('\n', out_);
    }
    [[nodiscard]] double images_per_second() const noexcept { return last_ips_; }
    [[nodiscard]] double seconds() const { return std::chrono::duration<double>(clock::now() - start_).count(); }

    static std::string format_time(double s) {
        char b[32];
        const long v = long(s + 0.5);
        if (v >= 3600)
            std::snprintf(b, sizeof b, "%ldh%02ldm", v / 3600, v / 60 % 60);
        else
            std::snprintf(b, sizeof b, "%ldm%02lds", v / 60, v % 60);
        return b;
    }

private:
    using clock = std::chrono::steady_clock;
    std::string what_;
    std::size_t total_, per_epoch_, first_;
    std::FILE* out_;
    bool tty_;
    clock::time_point start_;
    std::size_t images_ = 0, every_ = 1;
    double last_ips_ = 0;
};

}  // namespace tinymim::train
