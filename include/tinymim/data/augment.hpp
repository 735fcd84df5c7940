// Augmentations on one image: RandomResizedCrop (bilinear), horizontal flip, colour jitter, and
// normalisation. Randomness comes from a counter-based generator, so a sample's augmentation depends
// only on (seed, epoch, index).
#pragma once

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <vector>

#include "tinymim/core/random.hpp"

namespace tinymim::data {

struct crop_box {
    double top = 0, left = 0, height = 0, width = 0;  // in source pixels
    bool flip = false;
};

struct augment_options {
    bool random_crop = false;
    double scale_min = 0.2, scale_max = 1.0;  // RandomResizedCrop area range (TinyMIM / MAE: 0.2 - 1)
    double ratio_min = 3.0 / 4.0, ratio_max = 4.0 / 3.0;
    bool flip = false;
    double brightness = 0, contrast = 0, saturation = 0;  // ColorJitter strengths (TinyMIM student: 0.4 each)
    // Without random_crop: > 0 renders the central square of this fraction of the shorter side, torchvision's
    // Resize(size / f) + CenterCrop(size) in one resampling (timm's crop_pct; 0.875 is 256 -> 224); 0 renders the
    // whole image.
    double center_crop = 0;
};

// torchvision's RandomResizedCrop parameters: ten tries at a random area and aspect ratio, else the
// whole image (clamped to the ratio range).
[[nodiscard]] inline crop_box sample_crop(std::size_t h, std::size_t w, const augment_options& o,
                                          const counter_rng& rng) {
    crop_box b;
    b.height = double(h);
    b.width = double(w);
    std::uint64_t k = 0;
    if (!o.random_crop && o.center_crop > 0) {
        const double side = o.center_crop * double(std::min(h, w));
        b.top = (double(h) - side) / 2;
        b.left = (double(w) - side) / 2;
        b.height = b.width = side;
    }
    if (o.random_crop) {
        const double area = double(h * w);
        bool found = false;
        for (int attempt = 0; attempt < 10 && !found; ++attempt) {
            const double target = area * (o.scale_min + (o.scale_max - o.scale_min) * rng.uniform(k++));
            const double lr =
                std::log(o.ratio_min) + (std::log(o.ratio_max) - std::log(o.ratio_min)) * rng.uniform(k++);
            const double ar = std::exp(lr);
            const double cw = std::round(std::sqrt(target * ar)), ch = std::round(std::sqrt(target / ar));
            if (cw > 0 && ch > 0 && cw <= double(w) && ch <= double(h)) {
                b.top = std::floor(rng.uniform(k++) * (double(h) - ch + 1));
                b.left = std::floor(rng.uniform(k++) * (double(w) - cw + 1));
                b.height = ch;
                b.width = cw;
                found = true;
            }
        }
    }
    k = 100;
    b.flip = o.flip && rng.uniform(k) < 0.5;
    return b;
}

// Renders the crop of a [C, H, W] byte image to [C, oh, ow] floats in [0, 1] (bilinear, flipped
// when asked), then applies colour jitter (brightness, contrast, saturation in random order-free form)
// and normalises with mean / std.
inline void render(const std::uint8_t* src, std::size_t c, std::size_t h, std::size_t w, const crop_box& box,
                   std::size_t oh, std::size_t ow, const augment_options& o, const counter_rng& rng,
                   const std::vector<float>& mean, const std::vector<float>& stdv, float* out) {
    const double sy = box.height / double(oh), sx = box.width / double(ow);
    for (std::size_t ch = 0; ch < c; ++ch) {
        const std::uint8_t* s = src + ch * h * w;
        float* o_ = out + ch * oh * ow;
        for (std::size_t y = 0; y < oh; ++y) {
            const double fy = std::clamp(box.top + (double(y) + 0.5) * sy - 0.5, 0.0, double(h - 1));
            const std::size_t y0 = std::size_t(fy), y1 = std::min(y0 + 1, h - 1);
            const double wy = fy - double(y0);
            for (std::size_t x = 0; x < ow; ++x) {
                const std::size_t xx = box.flip ? ow - 1 - x : x;
                const double fx = std::clamp(box.left + (double(xx) + 0.5) * sx - 0.5, 0.0, double(w - 1));
                const std::size_t x0 = std::size_t(fx), x1 = std::min(x0 + 1, w - 1);
                const double wx = fx - double(x0);
                const double v = (1 - wy) * ((1 - wx) * s[y0 * w + x0] + wx * s[y0 * w + x1]) +
                                 wy * ((1 - wx) * s[y1 * w + x0] + wx * s[y1 * w + x1]);
                o_[y * ow + x] = float(v / 255.0);
            }
        }
    }
    const std::size_t plane = oh * ow;
    if (o.brightness > 0) {
        const float f = float(1 + o.brightness * (2 * rng.uniform(200) - 1));
        for (std::size_t i = 0; i < c * plane; ++i) out[i] = std::clamp(out[i] * f, 0.0f, 1.0f);
    }
    if (o.contrast > 0) {
        const float f = float(1 + o.contrast * (2 * rng.uniform(201) - 1));
        double m = 0;  // mean of the grey image
        for (std::size_t i = 0; i < plane; ++i) {
            double g = 0;
            for (std::size_t ch = 0; ch < c; ++ch) g += out[ch * plane + i];
            m += c == 3 ? (0.299 * out[i] + 0.587 * out[plane + i] + 0.114 * out[2 * plane + i]) : g;
        }
        m /= double(plane);
        for (std::size_t i = 0; i < c * plane; ++i) out[i] = std::clamp(float(m + f * (out[i] - m)), 0.0f, 1.0f);
    }
    if (o.saturation > 0 && c == 3) {
        const float f = float(1 + o.saturation * (2 * rng.uniform(202) - 1));
        for (std::size_t i = 0; i < plane; ++i) {
            const float g = 0.299f * out[i] + 0.587f * out[plane + i] + 0.114f * out[2 * plane + i];
            for (std::size_t ch = 0; ch < 3; ++ch)
                out[ch * plane + i] = std::clamp(g + f * (out[ch * plane + i] - g), 0.0f, 1.0f);
        }
    }
    for (std::size_t ch = 0; ch < c; ++ch) {
        const float m = mean.empty() ? 0.0f : mean[ch % mean.size()];
        const float sd = stdv.empty() ? 1.0f : stdv[ch % stdv.size()];
        for (std::size_t i = 0; i < plane; ++i) out[ch * plane + i] = (out[ch * plane + i] - m) / sd;
    }
}

}  // namespace tinymim::data
