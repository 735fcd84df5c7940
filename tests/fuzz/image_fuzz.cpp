// libFuzzer target: io::decode_image (libpng's simplified API, TurboJPEG) on arbitrary bytes, to RGB and to
// grey. A tinymim::error is the expected answer to bad input; a decoded image must hold exactly
// height * width * channels bytes within the reader's size limit.
#include <cstdint>
#include <cstdlib>

#include "tinymim/io/decode_image.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    for (std::size_t channels : {3u, 1u}) {
        try {
            const auto im = tinymim::io::decode_image(data, size, channels, "fuzz input");
            if (im.channels != channels || im.pixels.size() != im.height * im.width * channels || im.height == 0 ||
                im.width == 0 || im.height * im.width > tinymim::io::detail::max_image_pixels)
                std::abort();
        } catch (const tinymim::error&) {}
    }
    return 0;
}
