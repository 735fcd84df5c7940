// libFuzzer target: the safetensors reader on arbitrary bytes — the header parsed, then every tensor read
// as float, double and int64 (the conversions the library offers). A tinymim::error is the expected answer to
// bad input; anything else (a crash, a sanitizer report, another exception) is a finding.
#include <cstdint>
#include <vector>

#include "input_file.hpp"
#include "tinymim/io/safetensors.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    const auto& p = fuzz::write_input("safetensors", data, size);
    try {
        tinymim::io::safetensors_reader r(p);
        for (const auto& t : r.tensors()) {
            if (t.numel() > (std::size_t(1) << 24)) continue;  // the reader checks sizes against the file
            try {
                (void)r.read<float>(t.name);
                (void)r.read<double>(t.name);
            } catch (const tinymim::error&) {}
            try {
                (void)r.read<std::int64_t>(t.name);
            } catch (const tinymim::error&) {}
        }
        (void)r.metadata();
    } catch (const tinymim::error&) {}
    return 0;
}
