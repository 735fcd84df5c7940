// An LD_PRELOAD library that makes the file system fail on purpose, for tests/faults/faults_test.sh:
//   TINYMIM_FAULT=enospc|eio   write() to a matching file fails with ENOSPC / EIO once TINYMIM_FAULT_AFTER
//                              bytes (default 0) have been written to matching files
//   TINYMIM_FAULT=eio_fsync    fsync() of a matching file fails with EIO
//   TINYMIM_FAULT=erofs        opening a matching path for writing fails with EROFS (a read-only folder;
//                              root ignores permission bits, so chmod cannot make one in CI)
// A file matches when its path contains TINYMIM_FAULT_MATCH. Each injected failure is counted on stderr.
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>
#include <unistd.h>

namespace {
const char* env(const char* name) {
    const char* v = getenv(name);
    return v != nullptr ? v : "";
}
bool path_matches(const char* path) {
    const char* m = env("TINYMIM_FAULT_MATCH");
    return path != nullptr && *m != 0 && strstr(path, m) != nullptr;
}
bool fd_matches(int fd) {
    char link[64], path[4096];
    snprintf(link, sizeof link, "/proc/self/fd/%d", fd);
    const ssize_t n = readlink(link, path, sizeof path - 1);
    if (n <= 0) return false;
    path[n] = 0;
    return path_matches(path);
}
bool fault_is(const char* what) { return strcmp(env("TINYMIM_FAULT"), what) == 0; }
void note(const char* call, const char* what) {
    static const bool quiet = *env("TINYMIM_FAULT_QUIET") != 0;
    if (!quiet) {
        static const char prefix[] = "[fault_shim] ";
        (void)!::write(2, prefix, sizeof prefix - 1);
        (void)!::write(2, call, strlen(call));
        (void)!::write(2, ": ", 2);
        (void)!::write(2, what, strlen(what));
        (void)!::write(2, "\n", 1);
    }
}
bool opens_for_writing(int flags) { return (flags & (O_WRONLY | O_RDWR | O_CREAT | O_TRUNC | O_APPEND)) != 0; }
bool mode_writes(const char* mode) { return mode != nullptr && strpbrk(mode, "wa+") != nullptr; }
template <class F>
F next(const char* name) {
    return reinterpret_cast<F>(dlsym(RTLD_NEXT, name));
}
unsigned long long written = 0;

using open_fn = int (*)(const char*, int, ...);
using fopen_fn = FILE* (*)(const char*, const char*);
int open_with(open_fn real, const char* call, const char* path, int flags, mode_t mode) {
    if (fault_is("erofs") && opens_for_writing(flags) && path_matches(path)) {
        note(call, "EROFS");
        errno = EROFS;
        return -1;
    }
    return real(path, flags, mode);
}
fopen_fn next_fopen(const char* name) { return next<fopen_fn>(name); }
FILE* fopen_with(fopen_fn real, const char* call, const char* path, const char* mode) {
    if (fault_is("erofs") && mode_writes(mode) && path_matches(path)) {
        note(call, "EROFS");
        errno = EROFS;
        return nullptr;
    }
    return real(path, mode);
}
}  // namespace

extern "C" {

ssize_t write(int fd, const void* buf, size_t n) {
    static auto real = next<ssize_t (*)(int, const void*, size_t)>("write");
    if ((fault_is("enospc") || fault_is("eio")) && fd > 2 && fd_matches(fd)) {
        const unsigned long long after = strtoull(env("TINYMIM_FAULT_AFTER"), nullptr, 10);
        if (written + n > after) {
            const bool nospace = fault_is("enospc");
            note("write", nospace ? "ENOSPC" : "EIO");
            errno = nospace ? ENOSPC : EIO;
            return -1;
        }
        written += n;
    }
    return real(fd, buf, n);
}

int fsync(int fd) {
    static auto real = next<int (*)(int)>("fsync");
    if (fault_is("eio_fsync") && fd_matches(fd)) {
        note("fsync", "EIO");
        errno = EIO;
        return -1;
    }
    return real(fd);
}

int open(const char* path, int flags, ...) {
    static auto real = next<open_fn>("open");
    va_list ap;
    va_start(ap, flags);
    const mode_t mode = (flags & O_CREAT) != 0 ? mode_t(va_arg(ap, int)) : 0;
    va_end(ap);
    return open_with(real, "open", path, flags, mode);
}
int open64(const char* path, int flags, ...) {
    static auto real = next<open_fn>("open64");
    va_list ap;
    va_start(ap, flags);
    const mode_t mode = (flags & O_CREAT) != 0 ? mode_t(va_arg(ap, int)) : 0;
    va_end(ap);
    return open_with(real, "open64", path, flags, mode);
}
FILE* fopen(const char* path, const char* mode) { return fopen_with(next_fopen("fopen"), "fopen", path, mode); }
FILE* fopen64(const char* path, const char* mode) { return fopen_with(next_fopen("fopen64"), "fopen64", path, mode); }
int mkdir(const char* path, mode_t mode) {
    static auto real = next<int (*)(const char*, mode_t)>("mkdir");
    if (fault_is("erofs") && path_matches(path)) {
        note("mkdir", "EROFS");
        errno = EROFS;
        return -1;
    }
    return real(path, mode);
}

}  // extern "C"
