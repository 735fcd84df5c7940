// tinymim pretrain: MAE pre-training of a named model (backend-generic; see models.hpp).
#pragma once
#include "commands.hpp"
#include "loop_for.hpp"
#include "models.hpp"

namespace tool {

template <class B, class P>
pretrain_args::result run_on(const common_options& c, const pretrain_args& a) {
    return with_model(a.model, [&]<nn::vit_config C>() {
        const auto train_set = load_split(c, "train", C.channels, C.image);
        auto m = std::make_unique<mae_for<C, B, P>>();
        m->init(counter_rng(c.seed));
        train::task_options o;
        o.loop = loop_for(c, a);
        o.comm = c.comm;
        o.device_comm = c.device_comm;
        o.workers = c.workers;
        o.batch_size = a.batch;
        o.weight_decay = a.weight_decay;
        o.mask_ratio = a.mask_ratio;
        o.drop_path = a.drop_path;
        o.crop_scale_min = a.crop_scale_min;
        std::fprintf(stderr, "pretrain: MAE on %s, %zu images, mask ratio %.2f, batch %zu, lr %.2e, %s\n",
                     a.model.c_str(), train_set.size(), a.mask_ratio, a.batch, o.loop.lr, P::name);
        return train::pretrain_mae(*m, train_set, o);
    });
}

}  // namespace tool
