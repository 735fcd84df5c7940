// Learning-rate schedule: linear warm-up from 0, then half-cosine to a floor, per iteration (MAE's).
#pragma once

#include <cmath>
#include <cstddef>

namespace tinymim::optim {

struct warmup_cosine {
    double base_lr = 1e-3;
    double min_lr = 0;
    std::size_t warmup_steps = 0;
    std::size_t total_steps = 1;

    [[nodiscard]] double operator()(std::size_t step) const {
        if (step < warmup_steps) return base_lr * double(step) / double(warmup_steps);
        if (total_steps <= warmup_steps) return base_lr;
        const double t = std::min(1.0, double(step - warmup_steps) / double(total_steps - warmup_steps));
        return min_lr + (base_lr - min_lr) * 0.5 * (1.0 + std::cos(3.14159265358979323846 * t));
    }
};

}  // namespace tinymim::optim
