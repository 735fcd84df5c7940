// io::decode_image against what PIL (torchvision's reader) decodes from the same files
// (tests/reference/make_image_fixtures.py): PNG in RGB, grey, RGBA, palette and 16-bit grey; JPEG baseline,
// grey, progressive and Adobe CMYK. Bad bytes are errors that name the file, never a crash.
#include <boost/test/unit_test.hpp>

#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

#include <zlib.h>

#include "tinymim/io/decode_image.hpp"
#include "tinymim/io/safetensors.hpp"

using namespace tinymim;
namespace fs = std::filesystem;

namespace {
const fs::path images = fs::path(TINYMIM_FIXTURES) / "images";

std::vector<std::uint8_t> bytes_of(const std::string& name) {
    std::ifstream in(images / name, std::ios::binary);
    BOOST_TEST_REQUIRE(in.good(), "cannot open fixture " << name);
    return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

// Largest absolute difference from PIL's pixels, after checking the shape.
int max_difference(const std::string& name, std::size_t channels) {
    io::safetensors_reader expected(images / "expected.safetensors");
    const std::string key = name + (channels == 3 ? ".rgb" : ".grey");
    const auto& info = expected.at(key);
    const auto want = expected.read<std::int32_t>(key);
    const auto b = bytes_of(name);
    const io::decoded_image im = io::decode_image(b.data(), b.size(), channels, name);
    BOOST_TEST_REQUIRE(im.height == std::size_t(info.shape[0]));
    BOOST_TEST_REQUIRE(im.width == std::size_t(info.shape[1]));
    BOOST_TEST_REQUIRE(im.channels == channels);
    BOOST_TEST_REQUIRE(im.pixels.size() == want.size());
    int worst = 0;
    for (std::size_t i = 0; i < want.size(); ++i) worst = std::max(worst, std::abs(int(im.pixels[i]) - want[i]));
    return worst;
}

std::string message_of(const std::vector<std::uint8_t>& b, const std::string& name) {
    try {
        (void)io::decode_image(b.data(), b.size(), 3, name);
    } catch (const tinymim::error& e) {
        return e.what();
    }
    return "(no error)";
}
}  // namespace

BOOST_AUTO_TEST_SUITE(decode_image)

// Lossless files decode to PIL's values exactly, in RGB and in grey (PIL's luma, to the bit).
BOOST_AUTO_TEST_CASE(png_matches_pil_exactly) {
    for (const char* name : {"rgb.png", "grey.png", "rgba.png", "palette.png"})
        for (std::size_t c : {3u, 1u}) BOOST_TEST(max_difference(name, c) == 0, name << " in " << c << " channels");
}

// 16-bit grey scales to 8 bits (v * 255 / 65535), where PIL would clip it to 255: the file holds v * 257,
// so exactly the 8-bit values it was made from come back.
BOOST_AUTO_TEST_CASE(png_16_bit_scales_not_clips) {
    BOOST_TEST(max_difference("grey16.png", 1) == 0);
    BOOST_TEST(max_difference("grey16.png", 3) == 0);
}

// JPEG through the same codec family as PIL (libjpeg-turbo, accurate integer DCT, fancy upsampling):
// equal or one step apart.
BOOST_AUTO_TEST_CASE(jpeg_matches_pil) {
    for (const char* name : {"rgb.jpg", "grey.jpg", "progressive.jpg", "cmyk.jpg"})
        for (std::size_t c : {3u, 1u}) BOOST_TEST(max_difference(name, c) <= 1, name << " in " << c << " channels");
}

BOOST_AUTO_TEST_CASE(bad_bytes_are_errors_naming_the_file) {
    BOOST_TEST(message_of(bytes_of("truncated.jpg"), "cut.jpg").find("cut.jpg: cannot decode the JPEG") == 0);
    auto png = bytes_of("rgb.png");
    png.resize(png.size() / 2);
    BOOST_TEST(message_of(png, "half.png").find("half.png: cannot decode the PNG") == 0);
    BOOST_TEST(message_of({'G', 'I', 'F', '8', '9', 'a'}, "anim.gif").find("neither a PNG nor a JPEG") !=
               std::string::npos);
    BOOST_TEST(message_of({}, "empty.png").find("neither a PNG nor a JPEG") != std::string::npos);
    // A valid header claiming 40000 x 40000 pixels is refused before anything that size is allocated.
    auto huge = bytes_of("rgb.png");
    for (std::size_t at : {16u, 20u}) {  // IHDR width and height, big-endian: 40000 = 0x9C40
        huge[at] = 0;
        huge[at + 1] = 0;
        huge[at + 2] = 0x9C;
        huge[at + 3] = 0x40;
    }
    const std::uint32_t crc = ::crc32(::crc32(0, nullptr, 0), huge.data() + 12, 17);  // "IHDR" + 13 data bytes
    for (std::size_t i = 0; i < 4; ++i) huge[29 + i] = std::uint8_t(crc >> (24 - 8 * i));
    BOOST_TEST(message_of(huge, "huge.png").find("huge.png: 40000 x 40000 pixels is larger than the reader accepts") ==
               0);
    BOOST_CHECK_THROW((void)io::decode_image(png.data(), png.size(), 2, "x.png"), tinymim::error);
}

BOOST_AUTO_TEST_SUITE_END()
