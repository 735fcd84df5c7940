// IDX files (MNIST, Fashion-MNIST), plain or gzip'd, read through zlib.
#pragma once

#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

#include <zlib.h>

#include "tinymim/core/error.hpp"

namespace tinymim::io {

struct idx_array {
    std::vector<std::uint32_t> dims;  // e.g. [60000, 28, 28] for images, [60000] for labels
    std::vector<std::uint8_t> data;
};

// Reads an unsigned-byte IDX file (magic 0x00000801 labels, 0x00000803 images; any rank 1-4).
// Checks the magic, the dimensions and that the data is exactly as long as they say.
[[nodiscard]] inline idx_array read_idx(const std::filesystem::path& path) {
    auto fail = [&](const std::string& what) { throw tinymim::error("IDX file '" + path.string() + "': " + what); };
    if (!std::filesystem::exists(path)) fail("not found");
    gzFile f = gzopen(path.c_str(), "rb");  // reads plain files too
    if (f == nullptr) fail("cannot open");
    std::vector<std::uint8_t> bytes;
    {
        std::uint8_t buf[1 << 16];
        for (;;) {
            const int n = gzread(f, buf, sizeof buf);
            if (n < 0) {
                int err = 0;
                const std::string msg = gzerror(f, &err);
                gzclose(f);
                fail("corrupt compressed data: " + msg);
            }
            if (n == 0) break;
            bytes.insert(bytes.end(), buf, buf + n);
        }
        const int rc = gzclose(f);
        if (rc != Z_OK) fail("corrupt or truncated gzip stream (zlib error " + std::to_string(rc) + ")");
    }
    if (bytes.size() < 4) fail("truncated: " + std::to_string(bytes.size()) + " bytes, too short for the magic number");
    if (bytes[0] != 0 || bytes[1] != 0) fail("bad magic number: the first two bytes must be zero");
    if (bytes[2] != 0x08)
        fail("unsupported element type 0x" + std::to_string(bytes[2]) + " (only unsigned bytes, 0x08)");
    const std::size_t rank = bytes[3];
    if (rank < 1 || rank > 4) fail("unsupported rank " + std::to_string(rank));
    if (bytes.size() < 4 + 4 * rank) fail("truncated inside the dimensions");
    idx_array a;
    std::size_t n = 1;
    for (std::size_t i = 0; i < rank; ++i) {
        const std::uint8_t* p = bytes.data() + 4 + 4 * i;
        const std::uint32_t d = std::uint32_t(p[0]) << 24 | std::uint32_t(p[1]) << 16 | std::uint32_t(p[2]) << 8 | p[3];
        a.dims.push_back(d);
        n *= d;
    }
    const std::size_t have = bytes.size() - 4 - 4 * rank;
    if (have != n)
        fail("the dimensions call for " + std::to_string(n) + " bytes of data but the file has " +
             std::to_string(have) + (have < n ? " (truncated)" : " (trailing bytes)"));
    a.data.assign(bytes.begin() + std::ptrdiff_t(4 + 4 * rank), bytes.end());
    return a;
}

}  // namespace tinymim::io
