// A synthetic image data set for the data pipeline's tests: n grey 28 x 28 images of seeded random pixels,
// labelled i % classes.
#pragma once

#include <cstddef>
#include <cstdint>
#include <random>

#include "tinymim/data/dataset.hpp"

namespace tt {

inline tinymim::data::image_dataset synthetic_images(std::size_t n, std::size_t classes = 10) {
    tinymim::data::image_dataset d;
    d.channels = 1;
    d.height = d.width = 28;
    d.pixels.resize(n * 28 * 28);
    d.labels.resize(n);
    std::mt19937 g(5);
    for (auto& p : d.pixels) p = std::uint8_t(g() % 256);
    for (std::size_t i = 0; i < n; ++i) d.labels[i] = std::int32_t(i % classes);
    d.mean = {0.5f};
    d.std = {0.25f};
    return d;
}

}  // namespace tt
