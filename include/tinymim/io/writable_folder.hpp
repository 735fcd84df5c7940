// check_writable_folder: whether an output folder takes files at all, asked before work starts, so that a
// read-only or full folder is an error before the first step rather than at the first checkpoint.
#pragma once

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <string>

#include <fcntl.h>
#include <unistd.h>

#include "tinymim/core/error.hpp"

namespace tinymim::io {

// Throws, naming the folder and the reason, unless a file can be created, written and removed in `dir`.
inline void check_writable_folder(const std::filesystem::path& dir) {
    const std::string probe = (dir / (".tinymim_write_probe." + std::to_string(::getpid()))).string();
    const int fd = ::open(probe.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    TINYMIM_CHECK(fd >= 0, "the output folder '", dir.string(), "' is not writable: ", std::strerror(errno));
    const char byte = 0;
    const bool wrote = ::write(fd, &byte, 1) == 1;
    const int e = errno;
    ::close(fd);
    ::unlink(probe.c_str());
    TINYMIM_CHECK(wrote, "the output folder '", dir.string(), "' is not writable: ", std::strerror(e));
}

}  // namespace tinymim::io
