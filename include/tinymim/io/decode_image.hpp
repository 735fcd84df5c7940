// decode_image: PNG or JPEG bytes to 8-bit pixels, [height, width, channels] interleaved, through libpng's
// simplified API and libjpeg-turbo's TurboJPEG API (both fuzzed continuously upstream by OSS-Fuzz). The
// colour handling is torchvision's (PIL's): alpha dropped, not composited; grey from RGB by ITU-R 601-2
// luma in the stored sRGB values; Adobe CMYK JPEGs converted as libjpeg-turbo does.
#pragma once

#include <png.h>
#include <turbojpeg.h>

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string>
#include <vector>

#include "tinymim/core/error.hpp"

namespace tinymim::io {

struct decoded_image {
    std::size_t height = 0, width = 0, channels = 0;
    std::vector<std::uint8_t> pixels;  // height * width * channels, row-major, channels interleaved
};

namespace detail {

// Larger images are refused before any pixel buffer is allocated: a 20-byte header can claim 4 G pixels.
inline constexpr std::size_t max_image_side = 1 << 15;
inline constexpr std::size_t max_image_pixels = std::size_t(1) << 26;  // 64 M pixels, e.g. 8192 x 8192

inline void check_image_size(const std::string& name, std::size_t w, std::size_t h) {
    TINYMIM_CHECK(w > 0 && h > 0, name, ": the header gives an empty image (", w, " x ", h, ")");
    TINYMIM_CHECK(w <= max_image_side && h <= max_image_side && w * h <= max_image_pixels, name, ": ", w, " x ", h,
                  " pixels is larger than the reader accepts (", max_image_side, " per side, ", max_image_pixels,
                  " in all)");
}

// PIL's "L" conversion, to the bit: L = (19595 R + 38470 G + 7471 B + 2^15) >> 16.
inline void rgb_to_grey(decoded_image& im) {
    const std::size_t n = im.height * im.width;
    for (std::size_t i = 0; i < n; ++i) {
        const std::uint32_t r = im.pixels[3 * i], g = im.pixels[3 * i + 1], b = im.pixels[3 * i + 2];
        im.pixels[i] = std::uint8_t((19595 * r + 38470 * g + 7471 * b + 0x8000) >> 16);
    }
    im.pixels.resize(n);
    im.channels = 1;
}

inline decoded_image decode_png(const std::uint8_t* data, std::size_t size, const std::string& name) {
    png_image img;
    std::memset(&img, 0, sizeof img);
    img.version = PNG_IMAGE_VERSION;
    if (png_image_begin_read_from_memory(&img, data, size) == 0)
        throw tinymim::error(name + ": cannot decode the PNG (" + std::string(img.message) + ")");
    const std::size_t w = img.width, h = img.height;
    try {
        check_image_size(name, w, h);
    } catch (...) {
        png_image_free(&img);
        throw;
    }
    img.format = PNG_FORMAT_RGBA;            // straight (not premultiplied) alpha in 8-bit sRGB formats: dropped below
    img.flags |= PNG_IMAGE_FLAG_16BIT_sRGB;  // 16-bit files without gamma information read as sRGB, as PIL does
    std::vector<std::uint8_t> rgba(w * h * 4);
    if (png_image_finish_read(&img, nullptr, rgba.data(), 0, nullptr) == 0) {
        const std::string why = img.message;
        png_image_free(&img);
        throw tinymim::error(name + ": cannot decode the PNG (" + why + ")");
    }
    decoded_image out{h, w, 3, std::vector<std::uint8_t>(w * h * 3)};
    for (std::size_t i = 0; i < w * h; ++i)
        for (std::size_t c = 0; c < 3; ++c) out.pixels[3 * i + c] = rgba[4 * i + c];
    return out;
}

// The TurboJPEG handle, destroyed on every path out.
struct turbojpeg_handle {
    tjhandle h = tjInitDecompress();
    turbojpeg_handle() = default;
    turbojpeg_handle(const turbojpeg_handle&) = delete;
    turbojpeg_handle& operator=(const turbojpeg_handle&) = delete;
    ~turbojpeg_handle() {
        if (h != nullptr) tjDestroy(h);
    }
};

inline decoded_image decode_jpeg(const std::uint8_t* data, std::size_t size, const std::string& name) {
    turbojpeg_handle tj;
    TINYMIM_CHECK(tj.h != nullptr, name, ": cannot start the JPEG decoder (", tjGetErrorStr2(nullptr), ")");
    auto* buf = const_cast<unsigned char*>(data);  // TurboJPEG 2.x takes non-const pointers; it does not write
    int w = 0, h = 0, subsamp = 0, colourspace = 0;
    if (tjDecompressHeader3(tj.h, buf, static_cast<unsigned long>(size), &w, &h, &subsamp, &colourspace) != 0)
        throw tinymim::error(name + ": cannot decode the JPEG (" + std::string(tjGetErrorStr2(tj.h)) + ")");
    check_image_size(name, std::size_t(w), std::size_t(h));
    const bool cmyk = colourspace == TJCS_CMYK || colourspace == TJCS_YCCK;
    const std::size_t n = std::size_t(w) * std::size_t(h);
    std::vector<std::uint8_t> px(n * (cmyk ? 4 : 3));
    // LIMITSCANS: a progressive file with thousands of scans is refused instead of taking minutes.
    const int flags = TJFLAG_LIMITSCANS;
    if (tjDecompress2(tj.h, buf, static_cast<unsigned long>(size), px.data(), w, 0, h, cmyk ? TJPF_CMYK : TJPF_RGB,
                      flags) != 0) {
        const std::string why = tjGetErrorStr2(tj.h);
        // libjpeg's warnings (extraneous bytes before a marker...) leave a full image, and PIL accepts them;
        // a file that ends early leaves grey rows, and PIL refuses it: so do we.
        if (tjGetErrorCode(tj.h) != TJERR_WARNING || why.find("Premature end") != std::string::npos)
            throw tinymim::error(name + ": cannot decode the JPEG (" + why + ")");
    }
    decoded_image out{std::size_t(h), std::size_t(w), 3, {}};
    if (!cmyk) {
        out.pixels = std::move(px);
        return out;
    }
    // Adobe CMYK is stored inverted, so R = C K / 255 (libjpeg-turbo's cmyk_to_rgb, rounded).
    out.pixels.resize(n * 3);
    for (std::size_t i = 0; i < n; ++i) {
        const unsigned k = px[4 * i + 3];
        for (std::size_t c = 0; c < 3; ++c) out.pixels[3 * i + c] = std::uint8_t((px[4 * i + c] * k + 127) / 255);
    }
    return out;
}

}  // namespace detail

// Decodes PNG or JPEG bytes (told apart by their signature) to `channels` channels: 3 (RGB) or 1 (grey).
// `name` (the file, usually) opens every error message. Never reads outside [data, data + size).
[[nodiscard]] inline decoded_image decode_image(const std::uint8_t* data, std::size_t size, std::size_t channels,
                                                const std::string& name) {
    TINYMIM_CHECK(channels == 1 || channels == 3, name, ": channels must be 1 or 3, not ", channels);
    static constexpr std::uint8_t png_signature[8] = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n'};
    decoded_image im;
    if (size >= 8 && std::memcmp(data, png_signature, 8) == 0)
        im = detail::decode_png(data, size, name);
    else if (size >= 3 && data[0] == 0xFF && data[1] == 0xD8 && data[2] == 0xFF)
        im = detail::decode_jpeg(data, size, name);
    else
        throw tinymim::error(name + ": neither a PNG nor a JPEG (its first bytes are no signature of either)");
    if (channels == 1) detail::rgb_to_grey(im);
    return im;
}

}  // namespace tinymim::io
