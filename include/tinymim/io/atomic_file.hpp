// write_file_atomically: a file appears whole or not at all (temp file, fsync, rename, fsync dir).
#pragma once

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <functional>
#include <string>

#include <fcntl.h>
#include <unistd.h>

#include "tinymim/core/error.hpp"

namespace tinymim::io {

// Writes through `emit`, which is called with a sink (pointer, size) as often as it likes. A crash
// or kill at any moment leaves the previous file at `path` intact; a failure throws and removes the temp.
inline void write_file_atomically(
    const std::filesystem::path& path,
    const std::function<void(const std::function<void(const void*, std::size_t)>&)>& emit) {
    const std::filesystem::path dir = path.has_parent_path() ? path.parent_path() : std::filesystem::path(".");
    std::string tmp_name(1, '.');  // (built by append: GCC 12 warns falsely on "." + string)
    tmp_name.append(path.filename().string()).append(".tmp.").append(std::to_string(::getpid()));
    const std::string tmp = (dir / tmp_name).string();
    const int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    TINYMIM_CHECK(fd >= 0, "cannot create '", tmp, "': ", std::strerror(errno));
    auto fail = [&](const std::string& what) {
        const int e = errno;
        ::close(fd);
        ::unlink(tmp.c_str());
        throw tinymim::error("writing '" + path.string() + "': " + what + ": " + std::strerror(e));
    };
    auto sink = [&](const void* p, std::size_t n) {
        const char* c = static_cast<const char*>(p);
        while (n > 0) {
            const ssize_t w = ::write(fd, c, n);
            if (w < 0) {
                if (errno == EINTR) continue;
                fail("write failed");
            }
            c += w;
            n -= std::size_t(w);
        }
    };
    try {
        emit(sink);
    } catch (...) {
        ::close(fd);
        ::unlink(tmp.c_str());
        throw;
    }
    if (::fsync(fd) != 0) fail("fsync failed");
    if (::close(fd) != 0) {
        ::unlink(tmp.c_str());
        throw tinymim::error("writing '" + path.string() + "': close failed: " + std::strerror(errno));
    }
    if (::rename(tmp.c_str(), path.c_str()) != 0) {
        const int e = errno;
        ::unlink(tmp.c_str());
        throw tinymim::error("cannot rename '" + tmp + "' to '" + path.string() + "': " + std::strerror(e));
    }
    const int dfd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dfd >= 0) {
        ::fsync(dfd);
        ::close(dfd);
    }
}

}  // namespace tinymim::io
