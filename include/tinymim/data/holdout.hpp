// hold_out: a validation split carved from a training set, so that choices (a teacher block, a schedule) are
// made without looking at the test set.
#pragma once

#include <algorithm>
#include <cstddef>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "tinymim/core/error.hpp"
#include "tinymim/data/dataset.hpp"

namespace tinymim::data {

struct held_out_split {
    image_dataset train;     // what remains to train on, in the original order
    image_dataset held_out;  // never trained on
};

// Holds out n images spread evenly over the set: image floor((j + 0.5) * size / n) for j < n. The same images for
// every seed and run, and as many of each class as the set has in proportion even when it is stored class by class
// (an ImageFolder). Streamed sets stay streamed (each part reads through the original's `read`).
[[nodiscard]] inline held_out_split hold_out(const image_dataset& d, std::size_t n) {
    TINYMIM_CHECK(n > 0 && n < d.size(), "hold_out: cannot hold out ", n, " of ", d.size(),
                  " training images (it needs 0 < n < the set's size)");
    std::vector<char> chosen(d.size(), 0);
    for (std::size_t j = 0; j < n; ++j) chosen[(2 * j + 1) * d.size() / (2 * n)] = 1;
    auto part = [&](char which) {
        image_dataset p;
        p.channels = d.channels, p.height = d.height, p.width = d.width;
        p.classes = d.classes, p.mean = d.mean, p.std = d.std, p.eval_center_crop = d.eval_center_crop;
        std::vector<std::size_t> index;
        for (std::size_t i = 0; i < d.size(); ++i)
            if (chosen[i] == which) index.push_back(i);
        p.labels.reserve(index.size());
        for (std::size_t i : index) p.labels.push_back(d.labels[i]);
        if (d.streamed()) {
            auto original = std::make_shared<const std::function<void(std::size_t, planar_image&)>>(d.read);
            auto map = std::make_shared<const std::vector<std::size_t>>(std::move(index));
            p.read = [original, map](std::size_t i, planar_image& img) { (*original)((*map)[i], img); };
        } else {
            p.pixels.resize(index.size() * d.image_size());
            for (std::size_t k = 0; k < index.size(); ++k)
                std::copy_n(d.image(index[k]), d.image_size(), p.pixels.data() + k * d.image_size());
        }
        return p;
    };
    return {part(0), part(1)};
}

}  // namespace tinymim::data
