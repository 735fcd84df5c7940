// image_dataset: labelled images, held in memory as bytes (Fashion-MNIST, io::load_image_folder) or streamed from
// files decoded on use (io::stream_image_folder).
#pragma once

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <string>
#include <vector>

#include "tinymim/core/error.hpp"
#include "tinymim/io/idx.hpp"

namespace tinymim::data {

// One image at its own size, channels planar: [C, height, width] bytes.
struct planar_image {
    std::size_t height = 0, width = 0;
    std::vector<std::uint8_t> pixels;
};

// In memory (pixels holds every image at height x width), or streamed: `read` decodes image i from where it is
// kept (io::stream_image_folder: its file), at its own size, each time a batch needs it, and pixels is empty;
// height x width is then the size batches are rendered at.
struct image_dataset {
    std::size_t channels = 1, height = 0, width = 0;
    std::vector<std::uint8_t> pixels;                      // [n, C, H, W]; empty when streamed
    std::function<void(std::size_t, planar_image&)> read;  // set when streamed; safe to call from several threads
    std::vector<std::int32_t> labels;                      // [n]
    std::vector<std::string> classes;
    std::vector<float> mean, std;  // per channel, for normalisation
    // How evaluation renders an image (augment_options::center_crop): 0, the whole image (images stored at the
    // model's size); 0.875 for a streamed ImageFolder, as timm evaluates ViTs on ImageNet (resize 256, crop 224).
    double eval_center_crop = 0;
    [[nodiscard]] std::size_t size() const noexcept { return labels.size(); }
    [[nodiscard]] std::size_t image_size() const noexcept { return channels * height * width; }
    [[nodiscard]] bool streamed() const noexcept { return static_cast<bool>(read); }
    // Image i of an in-memory data set.
    [[nodiscard]] const std::uint8_t* image(std::size_t i) const { return pixels.data() + i * image_size(); }
    // The first n images (a smaller run); n >= size() keeps everything.
    void truncate(std::size_t n) {
        if (n >= size()) return;
        labels.resize(n);
        if (!streamed()) pixels.resize(n * image_size());
    }
};

// Where Debian's dataset-fashion-mnist package puts the data set.
inline const std::filesystem::path fashion_mnist_default_dir = "/usr/share/datasets/fashion-mnist";

// Fashion-MNIST (or MNIST) from a directory of IDX files; split "train" or "test".
[[nodiscard]] inline image_dataset load_fashion_mnist(const std::filesystem::path& dir, const std::string& split) {
    TINYMIM_CHECK(split == "train" || split == "test", "Fashion-MNIST: split must be 'train' or 'test', not '", split,
                  "'");
    const std::string stem = split == "train" ? "train" : "t10k";
    auto find = [&](const std::string& base) {
        for (const char* ext : {".gz", ""}) {
            const auto p = dir / (base + ext);
            if (std::filesystem::exists(p)) return p;
        }
        throw tinymim::error(
            "Fashion-MNIST: '" + (dir / (base + ".gz")).string() +
            "' not found. Install the data set with `apt-get install dataset-fashion-mnist` (it goes to " +
            fashion_mnist_default_dir.string() + "), or pass --data DIR with the four IDX files.");
    };
    const auto imgs = io::read_idx(find(stem + "-images-idx3-ubyte"));
    const auto labs = io::read_idx(find(stem + "-labels-idx1-ubyte"));
    TINYMIM_CHECK(imgs.dims.size() == 3, "Fashion-MNIST: the images file must have rank 3, found ", imgs.dims.size());
    TINYMIM_CHECK(labs.dims.size() == 1, "Fashion-MNIST: the labels file must have rank 1, found ", labs.dims.size());
    TINYMIM_CHECK(imgs.dims[0] == labs.dims[0], "Fashion-MNIST: ", imgs.dims[0], " images but ", labs.dims[0],
                  " labels");
    image_dataset d;
    d.channels = 1;
    d.height = imgs.dims[1];
    d.width = imgs.dims[2];
    d.pixels = imgs.data;
    d.labels.reserve(labs.data.size());
    for (auto l : labs.data) {
        TINYMIM_CHECK(l < 10, "Fashion-MNIST: label ", int(l), " is outside 0..9");
        d.labels.push_back(l);
    }
    d.classes = {"T-shirt/top", "Trouser", "Pullover", "Dress", "Coat",
                 "Sandal",      "Shirt",   "Sneaker",  "Bag",   "Ankle boot"};
    d.mean = {0.2860f};
    d.std = {0.3530f};
    return d;
}

}  // namespace tinymim::data
