// ImageFolder: one sub-folder per class of PNG / JPEG files (decoded by io::decode_image), resized to a fixed
// size on load, as an image_dataset. Classes are the sorted sub-folder names, as torchvision does.
#pragma once

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

#include "tinymim/core/error.hpp"
#include "tinymim/data/augment.hpp"
#include "tinymim/data/dataset.hpp"
#include "tinymim/io/decode_image.hpp"

namespace tinymim::io {

// Decodes one image file to `channels` channels (1 grey, 3 RGB) resized to size x size (bilinear),
// appending [C, size, size] bytes to out. A corrupt or unreadable file is an error naming it.
inline void read_image(const std::filesystem::path& p, std::size_t channels, std::size_t size,
                       std::vector<std::uint8_t>& out) {
    std::ifstream in(p, std::ios::binary);
    TINYMIM_CHECK(in.good(), "image '", p.string(), "': cannot open it");
    const std::vector<std::uint8_t> bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    TINYMIM_CHECK(!in.bad(), "image '", p.string(), "': read error");
    const decoded_image im = decode_image(bytes.data(), bytes.size(), channels, "image '" + p.string() + "'");
    const std::size_t w = im.width, h = im.height;
    std::vector<std::uint8_t> planar(channels * w * h);
    for (std::size_t i = 0; i < w * h; ++i)
        for (std::size_t c = 0; c < channels; ++c) planar[c * w * h + i] = im.pixels[i * channels + c];
    std::vector<float> f(channels * size * size);
    data::crop_box whole{0, 0, double(h), double(w), false};
    data::render(planar.data(), channels, h, w, whole, size, size, {}, counter_rng(0), {}, {}, f.data());
    for (float v : f) out.push_back(std::uint8_t(std::clamp(std::lround(v * 255.0f), 0L, 255L)));
}

// Loads <root>/<class>/<image> for every PNG / JPEG, sorted by class then file name.
[[nodiscard]] inline data::image_dataset load_image_folder(const std::filesystem::path& root, std::size_t channels,
                                                           std::size_t size) {
    TINYMIM_CHECK(std::filesystem::is_directory(root), "ImageFolder '", root.string(), "': not a directory");
    TINYMIM_CHECK(channels == 1 || channels == 3, "ImageFolder: channels must be 1 or 3, not ", channels);
    data::image_dataset d;
    d.channels = channels;
    d.height = d.width = size;
    for (const auto& e : std::filesystem::directory_iterator(root))
        if (e.is_directory()) d.classes.push_back(e.path().filename().string());
    std::sort(d.classes.begin(), d.classes.end());
    TINYMIM_CHECK(!d.classes.empty(), "ImageFolder '", root.string(), "': no class sub-folders");
    for (std::size_t c = 0; c < d.classes.size(); ++c) {
        std::vector<std::filesystem::path> files;
        for (const auto& e : std::filesystem::directory_iterator(root / d.classes[c])) {
            std::string ext = e.path().extension().string();
            std::transform(ext.begin(), ext.end(), ext.begin(),
                           [](unsigned char ch) { return char(std::tolower(ch)); });
            if (e.is_regular_file() && (ext == ".png" || ext == ".jpg" || ext == ".jpeg")) files.push_back(e.path());
        }
        std::sort(files.begin(), files.end());
        for (const auto& f : files) {
            read_image(f, channels, size, d.pixels);
            d.labels.push_back(std::int32_t(c));
        }
    }
    TINYMIM_CHECK(!d.labels.empty(), "ImageFolder '", root.string(), "': no PNG or JPEG images");
    if (channels == 3) {
        d.mean = {0.485f, 0.456f, 0.406f};  // ImageNet, as TinyMIM / MAE normalise
        d.std = {0.229f, 0.224f, 0.225f};
    } else {
        d.mean = {0.5f};
        d.std = {0.5f};
    }
    return d;
}

}  // namespace tinymim::io
