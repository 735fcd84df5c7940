// The loop options a training command takes from its arguments: lr = blr · batch / 256 (MAE's scaling rule).
#pragma once

#include "commands.hpp"
#include "models.hpp"

namespace tool {

template <class Args>
train::loop_options loop_for(const common_options& c, const Args& a) {
    train::loop_options l{.name = a.name,
                          .epochs = a.epochs,
                          .steps_per_epoch = a.steps_per_epoch,
                          .lr = a.blr * double(a.batch) / 256.0,
                          .warmup_epochs = a.warmup_epochs,
                          .out = c.out,
                          .resume = c.resume,
                          .seed = c.seed,
                          .plot = !c.quiet_plots};
    if constexpr (requires { a.min_lr; }) l.min_lr = a.min_lr;
    return l;
}

}  // namespace tool
