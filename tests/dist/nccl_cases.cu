// The NCCL communicator on the GPU (see nccl_cases.hpp).
#include "nccl_cases.hpp"

#include <memory>

#include "tinymim/backend/cuda/kernels.cuh"
#include "tinymim/dist/data_parallel.hpp"
#include "tinymim/dist/nccl.cuh"
#include "tinymim/distill/distiller.hpp"

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
    using P = distill::pairing<nn::vit<tc, tinymim::cuda>, nn::vit<sc, tinymim::cuda>, distill::relations<distill::qk, distill::vv>,
                               distill::kl_divergence, distill::teacher_block<2>>;
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
        auto& w = parallel ? out.weights : out.one_weights;
        student->visit([&](nn::param_ref<float>& p) {
            std::vector<float> v(p.size);
            p.to_host(v.data(), p.value, p.size * sizeof(float));
            w.insert(w.end(), v.begin(), v.end());
        });
    }
    return out;
}

}  // namespace nccl_cases
