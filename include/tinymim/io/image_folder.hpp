// ImageFolder: one sub-folder per class of PNG / JPEG files (decoded by io::decode_image), as an image_dataset.
// Classes are the sorted sub-folder names, as torchvision does. stream_image_folder keeps the file names and
// decodes each image when a batch needs it (the loader's workers, at the image's own size: random crops come
// from the original); load_image_folder decodes every image once and keeps it resized to a fixed size.
#pragma once

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <memory>
#include <string>
#include <vector>

#include "tinymim/core/error.hpp"
#include "tinymim/data/augment.hpp"
#include "tinymim/data/dataset.hpp"
#include "tinymim/io/decode_image.hpp"

namespace tinymim::io {

// Decodes one image file to `channels` channels (1 grey, 3 RGB) at its own size, planar, into `out`.
// A corrupt or unreadable file is an error naming it.
inline void read_planar_image(const std::filesystem::path& p, std::size_t channels, data::planar_image& out) {
    std::ifstream in(p, std::ios::binary);
    TINYMIM_CHECK(in.good(), "image '", p.string(), "': cannot open it");
    const std::vector<std::uint8_t> bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    TINYMIM_CHECK(!in.bad(), "image '", p.string(), "': read error");
    const decoded_image im = decode_image(bytes.data(), bytes.size(), channels, "image '" + p.string() + "'");
    const std::size_t w = im.width, h = im.height;
    out.height = h;
    out.width = w;
    out.pixels.resize(channels * w * h);
    for (std::size_t i = 0; i < w * h; ++i)
        for (std::size_t c = 0; c < channels; ++c) out.pixels[c * w * h + i] = im.pixels[i * channels + c];
}

// Decodes one image file to `channels` channels resized to size x size (bilinear), appending [C, size, size]
// bytes to out.
inline void read_image(const std::filesystem::path& p, std::size_t channels, std::size_t size,
                       std::vector<std::uint8_t>& out) {
    data::planar_image im;
    read_planar_image(p, channels, im);
    std::vector<float> f(channels * size * size);
    const data::crop_box whole{0, 0, double(im.height), double(im.width), false};
    data::render(im.pixels.data(), channels, im.height, im.width, whole, size, size, {}, counter_rng(0), {}, {},
                 f.data());
    for (float v : f) out.push_back(std::uint8_t(std::clamp(std::lround(v * 255.0f), 0L, 255L)));
}

namespace detail {
// <root>/<class>/<image> for every PNG / JPEG, sorted by class then file name: the classes, labels and
// normalisation filled in, and the files in that order.
inline std::vector<std::filesystem::path> list_image_folder(const std::filesystem::path& root, std::size_t channels,
                                                            std::size_t size, data::image_dataset& d) {
    TINYMIM_CHECK(std::filesystem::is_directory(root), "ImageFolder '", root.string(), "': not a directory");
    TINYMIM_CHECK(channels == 1 || channels == 3, "ImageFolder: channels must be 1 or 3, not ", channels);
    d.channels = channels;
    d.height = d.width = size;
    for (const auto& e : std::filesystem::directory_iterator(root))
        if (e.is_directory()) d.classes.push_back(e.path().filename().string());
    std::sort(d.classes.begin(), d.classes.end());
    TINYMIM_CHECK(!d.classes.empty(), "ImageFolder '", root.string(), "': no class sub-folders");
    std::vector<std::filesystem::path> all;
    for (std::size_t c = 0; c < d.classes.size(); ++c) {
        std::vector<std::filesystem::path> files;
        for (const auto& e : std::filesystem::directory_iterator(root / d.classes[c])) {
            std::string ext = e.path().extension().string();
            std::transform(ext.begin(), ext.end(), ext.begin(),
                           [](unsigned char ch) { return char(std::tolower(ch)); });
            if (e.is_regular_file() && (ext == ".png" || ext == ".jpg" || ext == ".jpeg")) files.push_back(e.path());
        }
        std::sort(files.begin(), files.end());
        all.insert(all.end(), files.begin(), files.end());
        d.labels.insert(d.labels.end(), files.size(), std::int32_t(c));
    }
    TINYMIM_CHECK(!d.labels.empty(), "ImageFolder '", root.string(), "': no PNG or JPEG images");
    if (channels == 3) {
        d.mean = {0.485f, 0.456f, 0.406f};  // ImageNet, as TinyMIM / MAE normalise
        d.std = {0.229f, 0.224f, 0.225f};
    } else {
        d.mean = {0.5f};
        d.std = {0.5f};
    }
    return all;
}
}  // namespace detail

// Every image decoded now and held resized to size x size.
[[nodiscard]] inline data::image_dataset load_image_folder(const std::filesystem::path& root, std::size_t channels,
                                                           std::size_t size) {
    data::image_dataset d;
    const auto files = detail::list_image_folder(root, channels, size, d);
    d.pixels.reserve(files.size() * d.image_size());
    for (const auto& f : files) read_image(f, channels, size, d.pixels);
    return d;
}

// Only the file names held; each image decoded when a batch needs it, at its own size (batches render at
// size x size; evaluation from the central 87.5 % of the shorter side). Memory does not grow with the data set's
// pixels.
[[nodiscard]] inline data::image_dataset stream_image_folder(const std::filesystem::path& root, std::size_t channels,
                                                             std::size_t size) {
    data::image_dataset d;
    auto files =
        std::make_shared<const std::vector<std::filesystem::path>>(detail::list_image_folder(root, channels, size, d));
    d.eval_center_crop = 0.875;  // evaluated as timm evaluates: shorter side to size / 0.875, central size x size
    d.read = [files, channels](std::size_t i, data::planar_image& out) {
        TINYMIM_CHECK(i < files->size(), "ImageFolder: image ", i, " of ", files->size());
        read_planar_image((*files)[i], channels, out);
    };
    return d;
}

}  // namespace tinymim::io
