// The readers under fuzzing take paths: each input is written to one file in /dev/shm (or the temporary
// folder) per process, rewritten for every run.
#pragma once

#include <unistd.h>

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <string>

namespace fuzz {

inline const std::filesystem::path& input_path(const char* stem) {
    static const std::filesystem::path p = [&] {
        const std::filesystem::path shm = "/dev/shm";
        const auto dir = std::filesystem::is_directory(shm) ? shm : std::filesystem::temp_directory_path();
        return dir / (std::string("tinymim_fuzz_") + stem + "_" + std::to_string(::getpid()));
    }();
    return p;
}

inline const std::filesystem::path& write_input(const char* stem, const std::uint8_t* data, std::size_t size) {
    const auto& p = input_path(stem);
    std::ofstream(p, std::ios::binary | std::ios::trunc)
        .write(reinterpret_cast<const char*>(data), std::streamsize(size));
    return p;
}

}  // namespace fuzz
