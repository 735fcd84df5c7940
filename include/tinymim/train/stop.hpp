// Stopping a training run at the next step boundary: train::request_stop() (any thread, or a signal
// handler) makes run_loop write its checkpoint after the step in progress and throw train::stopped.
// stop_on_signals routes SIGTERM and SIGINT there (what a scheduler sends before it kills a job); the same
// signal a second time acts as it would without the guard (ends the process).
#pragma once

#include <signal.h>

#include <algorithm>
#include <atomic>
#include <cstddef>
#include <string>

#include "tinymim/core/error.hpp"

namespace tinymim::train {

namespace detail {
inline std::atomic<int>& stop_flag() {  // the signal asking to stop, or 0; -1: asked by request_stop()
    static std::atomic<int> flag{0};
    static_assert(std::atomic<int>::is_always_lock_free, "the stop flag is set from a signal handler");
    return flag;
}
inline void on_stop_signal(int sig) { stop_flag().store(sig, std::memory_order_relaxed); }
}  // namespace detail

inline void request_stop() { detail::stop_flag().store(-1, std::memory_order_relaxed); }
[[nodiscard]] inline bool stop_requested() { return detail::stop_flag().load(std::memory_order_relaxed) != 0; }
// The signal that asked (SIGTERM, SIGINT), or 0 when request_stop() did or nothing has.
[[nodiscard]] inline int stop_signal() { return std::max(0, detail::stop_flag().load(std::memory_order_relaxed)); }
inline void clear_stop() { detail::stop_flag().store(0, std::memory_order_relaxed); }

// Thrown by run_loop once the checkpoint of the step where it stopped is written.
class stopped : public tinymim::error {
public:
    stopped(const std::string& what, std::size_t step, int signal) : tinymim::error(what), step_(step), sig_(signal) {}
    [[nodiscard]] std::size_t step() const { return step_; }  // steps done, all in the checkpoint
    [[nodiscard]] int signal() const { return sig_; }         // 0 when request_stop() asked
private:
    std::size_t step_;
    int sig_;
};

// While alive: SIGTERM and SIGINT request a stop, each once (SA_RESETHAND restores the default action, so
// that signal a second time ends the process). The previous handlers come back on destruction.
class stop_on_signals {
public:
    stop_on_signals() {
        struct sigaction sa {};
        sa.sa_handler = detail::on_stop_signal;
        sigemptyset(&sa.sa_mask);
        sa.sa_flags = SA_RESTART | SA_RESETHAND;
        TINYMIM_CHECK(::sigaction(SIGTERM, &sa, &old_term_) == 0 && ::sigaction(SIGINT, &sa, &old_int_) == 0,
                      "stop_on_signals: sigaction failed");
    }
    stop_on_signals(const stop_on_signals&) = delete;
    stop_on_signals& operator=(const stop_on_signals&) = delete;
    ~stop_on_signals() {
        ::sigaction(SIGTERM, &old_term_, nullptr);
        ::sigaction(SIGINT, &old_int_, nullptr);
    }

private:
    using action = struct sigaction;
    action old_term_{}, old_int_{};
};

}  // namespace tinymim::train
