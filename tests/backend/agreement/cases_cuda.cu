// The CUDA side of the agreement tests (nvcc: cuBLAS and the CUDA kernels), and the GPU gradient
// checks in double.
#include <sstream>

#include <tinymim/testing/gradcheck.hpp>

#include "models_impl.hpp"

namespace tinymim_test {

bool cuda_device_present() { return tinymim::cuda_device_available(); }
std::string cuda_device_description() { return tinymim::cuda_device_name(); }

template case_result run_op_case<tinymim::backends::cuda>(const std::string&);
template case_result run_model_case<tinymim::backends::cuda>(const std::string&);

std::vector<std::pair<std::string, std::string>> cuda_gradient_checks() {
    using namespace tinymim;
    using G = tinymim::cuda;
    std::vector<std::pair<std::string, std::string>> out;
    auto report = [&](const std::string& name, const testing::gradcheck_report& r) {
        std::ostringstream os;
        if (!r.ok)
            os << r.message;
        else if (r.checked == 0)
            os << "no coordinate was checked";
        out.emplace_back(name, os.str());
    };
    auto host = [](auto e, std::uint64_t seed, double scale = 1) {
        tensor<double, typename decltype(e)::shape_type, tinymim::cpu> x(e);
        counter_rng r(seed);
        for (std::size_t i = 0; i < x.size(); ++i) x[i] = scale * r.normal(i);
        return x;
    };
    using S2 = shape<dyn, dyn>;
    using S4 = shape<dyn, dyn, dyn, dyn>;
    {
        auto x = host(extents<shape<dyn, dyn, 12>>({3, 5, 12}), 1);
        auto w = host(extents<S2>({7, 12}), 2);
        auto b = host(extents<shape<dyn>>({7}), 3);
        report("linear", testing::check_gradients<G>(
                             [](auto& t, auto xv, auto wv, auto bv) { return ops::linear(xv, wv, bv); }, x, w, b));
    }
    {
        auto x = host(extents<S2>({6, 16}), 4, 2.0);
        auto g = host(extents<shape<dyn>>({16}), 5);
        auto b = host(extents<shape<dyn>>({16}), 6);
        report("layer_norm + gelu",
               testing::check_gradients<G>(
                   [](auto& t, auto xv, auto gv, auto bv) { return ops::gelu(ops::layer_norm(xv, gv, bv, 1e-6)); }, x,
                   g, b));
    }
    {
        auto q = host(extents<S4>({2, 2, 5, 4}), 7), k = host(extents<S4>({2, 2, 5, 4}), 8),
             v = host(extents<S4>({2, 2, 5, 4}), 9);
        report("attention",
               testing::check_gradients<G>(
                   [](auto& t, auto qv, auto kv, auto vv) { return ops::attention(qv, kv, vv).out; }, q, k, v));
    }
    {
        auto tz = host(extents<S4>({2, 2, 5, 5}), 10), z = host(extents<S4>({2, 2, 5, 5}), 11);
        report("relation KL (softmax teacher, temperature)",
               testing::check_gradients<G>(
                   [](auto& t, auto tv, auto zv) { return ops::kl_divergence(ops::softmax(tv), zv, 2.0); }, tz, z));
    }
    {
        auto a = host(extents<S2>({4, 9}), 12), b = host(extents<S2>({4, 9}), 13);
        report("smooth_l1 + mse + cosine",
               testing::check_gradients<G>(
                   [](auto& t, auto av, auto bv) {
                       return ops::add(ops::add(ops::smooth_l1(av, bv, 1.0), ops::mse(av, bv)), ops::cosine(av, bv));
                   },
                   a, b));
    }
    {
        auto x = host(extents<shape<dyn, 2, 8, 8>>({2, 2, 8, 8}), 14);
        auto cls = host(extents<shape<1, 1, 8>>({1, 1, 8}), 15);
        report("patchify + concat + slice + log_softmax",
               testing::check_gradients<G>(
                   [](auto& t, auto xv, auto cv) {
                       auto p = ops::patchify<4>(xv);  // [2, 4, 32]
                       auto tok = ops::concat_tokens(cv.view_as(extents<shape<dyn, dyn, dyn>>({1, 1, 8})),
                                                     p.view_as(extents<shape<dyn, dyn, dyn>>({2, 16, 8})));
                       return ops::log_softmax(ops::slice_tokens<1, 10>(tok));
                   },
                   x, cls));
    }
    {
        auto z = host(extents<S2>({5, 7}), 16);
        tensor<std::int32_t, shape<dyn>, G> labels({5});
        labels.copy_from(std::vector<std::int32_t>{0, 6, 3, 3, 1});
        report("cross_entropy (smoothing 0.1)",
               testing::check_gradients<G>([&](auto& t, auto zv) { return ops::cross_entropy(zv, labels, 0.1); }, z));
    }
    {
        using M = nn::vit<nn::vit_config{.image = 8,
                                         .patch = 4,
                                         .channels = 1,
                                         .dim = 8,
                                         .depth = 1,
                                         .heads = 2,
                                         .classes = 3,
                                         .head = nn::pool::cls},
                          G, double>;
        auto m = std::make_unique<M>();
        m->init(counter_rng(17));
        tensor<double, typename M::image_shape, G> img({2, 1, 8, 8});
        std::vector<double> h(img.size());
        counter_rng r(18);
        for (std::size_t i = 0; i < h.size(); ++i) h[i] = r.normal(i);
        img.copy_from(h);
        tensor<std::int32_t, shape<dyn>, G> labels({2});
        labels.copy_from(std::vector<std::int32_t>{1, 0});
        report("whole ViT (1 block), every parameter",
               testing::check_parameter_gradients(
                   *m, [&](tape<G>& t) { return ops::cross_entropy(m->forward(t, input(t, img)), labels); },
                   {.max_coordinates = 24}));
    }
    return out;
}

}  // namespace tinymim_test
