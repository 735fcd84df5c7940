// The NCCL communicator on the GPU (see nccl_cases.hpp).
#include "nccl_cases.hpp"

#include <filesystem>
#include <memory>
#include <string>

#include "../support/synthetic.hpp"
#include "tinymim/backend/cuda/kernels.cuh"
#include "tinymim/dist/data_parallel.hpp"
#include "tinymim/dist/nccl.cuh"
#include "tinymim/dist/single.hpp"
#include "tinymim/distill/distiller.hpp"
#include "tinymim/train/tasks.hpp"

using namespace tinymim;

namespace nccl_cases {

bool device_present() { return cuda_device_available(); }

namespace {
// The values through a device buffer: allreduced there, read back.
template <class T>
std::vector<T> through_device(dist::nccl& c, std::vector<T> v, dist::reduce_op op) {
    const std::size_t bytes = v.size() * sizeof(T);
    T* d = static_cast<T*>(tinymim::cuda::allocate(bytes));
    tinymim::cuda::copy_from_host(d, v.data(), bytes);
    c.allreduce(d, v.size(), op);
    tinymim::cuda::copy_to_host(v.data(), d, bytes);
    tinymim::cuda::deallocate(d, bytes);
    return v;
}
// Every weight of a model on the device, read back.
template <class M>
std::vector<double> all_weights(M& m) {
    std::vector<double> w;
    m.visit([&](nn::param_ref<float>& p) {
        std::vector<float> v(p.size);
        p.to_host(v.data(), p.value, p.size * sizeof(float));
        w.insert(w.end(), v.begin(), v.end());
    });
    return w;
}
}  // namespace

collectives one_rank_collectives() {
    dist::nccl c;
    collectives r;
    r.rank = c.rank();
    r.size = c.size();
    r.sum = through_device(c, std::vector<float>{1.5f, -2.0f, 3.25f}, dist::reduce_op::sum);
    r.average = through_device(c, std::vector<float>{1.5f, -2.0f, 3.25f}, dist::reduce_op::average);
    r.sum_double = through_device(c, std::vector<double>{0.1, 1e300}, dist::reduce_op::sum);
    for (const bf16 h : through_device(c, std::vector<bf16>{bf16(0.5f), bf16(-3.0f)}, dist::reduce_op::sum))
        r.bf16_sum.push_back(float(h));
    std::vector<unsigned char> bytes{1, 2, 3, 4};
    void* d = tinymim::cuda::allocate(bytes.size());
    tinymim::cuda::copy_from_host(d, bytes.data(), bytes.size());
    c.broadcast(d, bytes.size(), 0);
    tinymim::cuda::copy_to_host(bytes.data(), d, bytes.size());
    tinymim::cuda::deallocate(d, bytes.size());
    r.broadcast = bytes;
    c.barrier();
    return r;
}

distillation one_rank_distillation() {
    constexpr nn::vit_config tc{.image = 16, .patch = 4, .channels = 1, .dim = 24, .depth = 3, .heads = 3};
    constexpr nn::vit_config sc{.image = 16, .patch = 4, .channels = 1, .dim = 12, .depth = 2, .heads = 3};
    using P = distill::pairing<nn::vit<tc, tinymim::cuda>, nn::vit<sc, tinymim::cuda>,
                               distill::relations<distill::qk, distill::vv>, distill::kl_divergence,
                               distill::teacher_block<2>>;
    dist::nccl comm;
    distillation out;
    for (const bool parallel : {true, false}) {
        auto teacher = std::make_unique<nn::vit<tc, tinymim::cuda>>();
        auto student = std::make_unique<nn::vit<sc, tinymim::cuda>>();
        teacher->init(counter_rng(21));
        student->init(counter_rng(22));
        distill::distiller<P> d(*teacher, *student, {.drop_path = 0.3, .seed = 3});
        if (parallel) dist::make_data_parallel(d, comm, 8);
        auto& losses = parallel ? out.losses : out.one_losses;
        for (std::uint64_t s = 0; s < 5; ++s) {
            std::vector<float> h(8 * 256);
            const counter_rng r(100 + s);
            for (std::size_t i = 0; i < h.size(); ++i) h[i] = float(r.normal(i));
            tensor<float, shape<dyn, 1, 16, 16>, tinymim::cuda> x({8, 1, 16, 16});
            x.copy_from(h);
            losses.push_back(d.step(x, x, 1e-3).total);
        }
        (parallel ? out.weights : out.one_weights) = all_weights(*student);
    }
    return out;
}

namespace {
// Two epochs of 4 steps of 8 images, in a folder of their own; with a group: dist::single for the settings and
// losses, dist::nccl for the gradients and parameters.
train::task_options recipe_options(const std::string& name, dist::single& host, dist::nccl* device) {
    train::task_options o;
    o.loop.out = std::filesystem::temp_directory_path() / ("tinymim_nccl_recipe_" + name);
    std::filesystem::remove_all(o.loop.out);
    o.loop.name = name;
    o.loop.epochs = 2;
    o.loop.lr = 1e-3;
    o.loop.plot = false;
    o.loop.seed = 5;
    o.batch_size = 8;
    o.drop_path = 0.2;
    if (device != nullptr) {
        o.comm.emplace(host);
        o.device_comm.emplace(*device);
    }
    return o;
}
constexpr nn::vit_config small_enc{.image = 28, .patch = 7, .channels = 1, .dim = 12, .depth = 2, .heads = 3};
}  // namespace

recipe one_rank_recipe_distillation() {
    constexpr nn::vit_config tc{.image = 28, .patch = 7, .channels = 1, .dim = 24, .depth = 2, .heads = 3};
    using P = distill::pairing<nn::vit<tc, tinymim::cuda>, nn::vit<small_enc, tinymim::cuda>,
                               distill::relations<distill::qk, distill::vv>, distill::kl_divergence,
                               distill::teacher_block<2>>;
    dist::single host;
    dist::nccl device;
    const auto data = tt::synthetic_images(32);
    recipe out;
    for (const bool group : {true, false}) {
        auto teacher = std::make_unique<nn::vit<tc, tinymim::cuda>>();
        auto student = std::make_unique<nn::vit<small_enc, tinymim::cuda>>();
        teacher->init(counter_rng(21));
        student->init(counter_rng(22));
        distill::distiller<P> d(*teacher, *student, {.drop_path = 0.2, .seed = 3});
        const auto r = train::distill(
            d, data, recipe_options(group ? "distill_group" : "distill", host, group ? &device : nullptr));
        (group ? out.loss : out.one_loss) = r.last_loss;
        (group ? out.weights : out.one_weights) = all_weights(*student);
    }
    return out;
}

recipe one_rank_recipe_finetuning() {
    using classifier = nn::vit<small_enc.with_head(nn::pool::avg, 10), tinymim::cuda>;
    dist::single host;
    dist::nccl device;
    const auto data = tt::synthetic_images(32), test = tt::synthetic_images(16);
    recipe out;
    for (const bool group : {true, false}) {
        auto m = std::make_unique<classifier>();
        m->init(counter_rng(9));
        const auto r =
            train::finetune(*m, data, test, recipe_options(group ? "ft_group" : "ft", host, group ? &device : nullptr));
        (group ? out.loss : out.one_loss) = r.last_loss;
        (group ? out.weights : out.one_weights) = all_weights(*m);
    }
    return out;
}

}  // namespace nccl_cases
