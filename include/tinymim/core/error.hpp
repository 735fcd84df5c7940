// tinymim::error and TINYMIM_CHECK: the one way the library reports bad run-time input.
#pragma once

#include <sstream>    // message building
#include <stdexcept>  // std::runtime_error
#include <string>

namespace tinymim {

// Every run-time failure the library detects (bad shapes, bad files, bad arguments) is a
// tinymim::error whose what() is a sentence naming the problem.
class error : public std::runtime_error {
public:
    using std::runtime_error::runtime_error;
};

namespace detail {
template <class... Parts>
[[nodiscard]] std::string concat(const Parts&... parts) {
    std::ostringstream os;
    (os << ... << parts);
    return os.str();
}
}  // namespace detail

// Throws tinymim::error with the streamed parts when cond is false.
// Usage: TINYMIM_CHECK(n == m, "linear: expected ", n, " features, found ", m);
#define TINYMIM_CHECK(cond, ...)                                            \
    do {                                                                    \
        if (!(cond)) [[unlikely]]                                           \
            throw ::tinymim::error(::tinymim::detail::concat(__VA_ARGS__)); \
    } while (false)

}  // namespace tinymim
