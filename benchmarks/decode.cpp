// Image decoding, images per second on one core: io::decode_image (libjpeg-turbo's TurboJPEG, libpng) against
// stb_image (Debian's libstb-dev), over the same files, to RGB, each file's bytes already in memory (the disk is
// not measured); then the loader's whole per-image work for a streamed ImageFolder (read the file, decode,
// RandomResizedCrop from the original to 224 x 224, flip, normalise) on one worker. For benchmarks/decode.sh.
//   tinymim_decode <folder of .jpg/.png> [passes=3]
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

#define STB_IMAGE_IMPLEMENTATION
#define STBI_ONLY_JPEG
#define STBI_ONLY_PNG
#include <stb/stb_image.h>

#include <tinymim/data/loader.hpp>
#include <tinymim/io/decode_image.hpp>
#include <tinymim/io/image_folder.hpp>

namespace fs = std::filesystem;
using namespace tinymim;

namespace {
using clock_type = std::chrono::steady_clock;
double since(clock_type::time_point t) { return std::chrono::duration<double>(clock_type::now() - t).count(); }

std::vector<std::uint8_t> bytes_of(const fs::path& p) {
    std::ifstream in(p, std::ios::binary);
    return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

// The best of `passes` passes over every file, in images per second.
template <class F>
double images_per_second(const std::vector<std::vector<std::uint8_t>>& files, int passes, F&& decode) {
    double best = 1e300;
    for (int p = 0; p < passes; ++p) {
        const auto t = clock_type::now();
        for (const auto& f : files) decode(f);
        best = std::min(best, since(t));
    }
    return double(files.size()) / best;
}
}  // namespace

int main(int argc, char** argv) {
    if (argc < 2) {
        std::fprintf(stderr, "usage: tinymim_decode <folder of images> [passes]\n");
        return 2;
    }
    const int passes = argc > 2 ? std::atoi(argv[2]) : 3;
    std::vector<fs::path> paths;
    for (const auto& e : fs::recursive_directory_iterator(argv[1]))
        if (e.is_regular_file()) paths.push_back(e.path());
    std::sort(paths.begin(), paths.end());
    std::vector<std::vector<std::uint8_t>> files;
    for (const auto& p : paths) files.push_back(bytes_of(p));
    std::size_t pixels = 0;
    std::size_t checksum = 0;
    const double turbo = images_per_second(files, passes, [&](const std::vector<std::uint8_t>& f) {
        const auto im = io::decode_image(f.data(), f.size(), 3, "image");
        checksum += im.pixels[im.pixels.size() / 2];
        pixels += im.width * im.height;
    });
    const double stb = images_per_second(files, passes, [&](const std::vector<std::uint8_t>& f) {
        int w = 0, h = 0, c = 0;
        unsigned char* p = stbi_load_from_memory(f.data(), int(f.size()), &w, &h, &c, 3);
        if (p == nullptr) {
            std::fprintf(stderr, "stb_image: %s\n", stbi_failure_reason());
            std::exit(1);
        }
        checksum += p[std::size_t(w) * std::size_t(h) * 3 / 2];
        stbi_image_free(p);
    });
    // The loader's work per image of a streamed folder: file read, decode, crop, render (one worker).
    const auto folder = io::stream_image_folder(fs::path(argv[1]), 3, 224);
    data::loader<shape<dyn, 3, 224, 224>> ld(
        folder, {.batch_size = folder.size(), .shuffle = false, .augment = {.random_crop = true, .flip = true}});
    double best = 1e300;
    for (int p = 0; p < passes; ++p) {
        const auto t = clock_type::now();
        const auto b = ld.make(std::size_t(p), 0);
        best = std::min(best, since(t));
        checksum += std::size_t(b.images[0] > 0);
    }
    const double loader = double(folder.size()) / best;
    std::printf(
        "{\"images\": %zu, \"mean_pixels\": %.0f, \"turbojpeg_libpng\": %.1f, \"stb_image\": %.1f, "
        "\"streamed_loader_224\": %.1f, \"checksum\": %zu}\n",
        files.size(), double(pixels) / double(files.size() * std::size_t(passes)), turbo, stb, loader, checksum);
}
