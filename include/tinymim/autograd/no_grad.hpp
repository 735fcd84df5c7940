// no_grad: an RAII guard under which ops record nothing on the tape (the teacher runs like this).
#pragma once

namespace tinymim {

namespace detail {
inline bool& grad_mode_flag() noexcept {
    thread_local bool enabled = true;
    return enabled;
}
}  // namespace detail

// Whether ops on this thread record backward nodes.
[[nodiscard]] inline bool grad_enabled() noexcept { return detail::grad_mode_flag(); }

class no_grad {
public:
    no_grad() noexcept : previous_(detail::grad_mode_flag()) { detail::grad_mode_flag() = false; }
    ~no_grad() { detail::grad_mode_flag() = previous_; }
    no_grad(const no_grad&) = delete;
    no_grad& operator=(const no_grad&) = delete;

private:
    bool previous_;
};

}  // namespace tinymim
