// libFuzzer target: the IDX reader (gzip or plain, as Fashion-MNIST ships) on arbitrary bytes. A
// tinymim::error is the expected answer to bad input; anything else is a finding.
#include <cstdint>

#include "input_file.hpp"
#include "tinymim/io/idx.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    const auto& p = fuzz::write_input("idx", data, size);
    try {
        const auto a = tinymim::io::read_idx(p);
        std::size_t n = 1;
        for (auto d : a.dims) n *= d;
        if (n != a.data.size()) __builtin_trap();  // the reader's promise: dims describe the data
    } catch (const tinymim::error&) {}
    return 0;
}
