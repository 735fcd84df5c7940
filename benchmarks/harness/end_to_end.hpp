// tinymim bench: times a piece of work on random data; the last line of stdout is one JSON object.
// Backend-generic (see models.hpp).
#pragma once

#include <sys/resource.h>

#include <chrono>

#include <nlohmann/json.hpp>

#include "commands.hpp"
#include "models.hpp"

namespace tool {

namespace bench_detail {
namespace d = tinymim::distill;

// Multiply-adds x 2 of `depth` blocks of width dim over n tokens (GEMMs and attention products).
inline double block_flops(double n, double dim, double hidden, double depth) {
    return depth * (2 * n * dim * 3 * dim + 4 * n * n * dim + 2 * n * dim * dim + 4 * n * dim * hidden);
}
inline double qkv_flops(double n, double dim) { return 2 * n * dim * 3 * dim; }

template <class S, class B>
tensor<float, S, B> random_images(std::size_t batch, std::uint64_t seed) {
    tensor<float, S, B> x({batch, S::static_extents[1], S::static_extents[2], S::static_extents[3]});
    std::vector<float> h(x.size());
    counter_rng r(seed);
    for (std::size_t i = 0; i < h.size(); ++i) h[i] = float(r.normal(i));
    x.copy_from(h);
    return x;
}

// Waits for queued device work (a no-op on the CPU), so timings cover the work itself.
template <class B>
void sync() {
    if constexpr (requires { B::synchronize(); }) B::synchronize();
}

inline double peak_rss_mib() {
    rusage u{};
    getrusage(RUSAGE_SELF, &u);
    return double(u.ru_maxrss) / 1024.0;  // kB on Linux
}

// Times `steps` calls of f after `warmup` calls; returns seconds.
template <class B, class F>
double time_steps(std::size_t warmup, std::size_t steps, F&& f) {
    for (std::size_t i = 0; i < warmup; ++i) f(i);
    sync<B>();
    const auto t0 = std::chrono::steady_clock::now();
    for (std::size_t i = 0; i < steps; ++i) f(warmup + i);
    sync<B>();
    return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

template <class B, class Prec, nn::vit_config TC, nn::vit_config SC>
std::pair<double, double> bench_distill(const bench_args& a) {
    using teacher_t = nn::vit<TC, B, float, Prec>;
    using student_t = nn::vit<SC, B, float, Prec>;
    using P = d::pairing<teacher_t, student_t, d::relations<d::qk, d::vv>, d::kl_divergence>;
    auto teacher = std::make_unique<teacher_t>();
    auto student = std::make_unique<student_t>();
    d::distiller<P> dist(*teacher, *student);  // the recipe's options: student drop path 0.1 (not on its last block)
    auto x = random_images<typename student_t::image_shape, B>(a.batch, 1);
    const double secs = time_steps<B>(a.warmup, a.steps, [&](std::size_t) { (void)dist.step(x, 1e-4); });
    const double n = double(TC.tokens());
    const double flops =
        block_flops(n, double(TC.dim), double(TC.hidden()), double(TC.depth - 1)) + qkv_flops(n, double(TC.dim)) +
        3 * (block_flops(n, double(SC.dim), double(SC.hidden()), double(SC.depth - 1)) + qkv_flops(n, double(SC.dim)));
    return {secs, flops};
}
}  // namespace bench_detail

template <class B, class P>
bench_args::result run_on(const common_options& c, const bench_args& a) {
    using namespace bench_detail;
    if constexpr (requires { B::set_tf32(true); }) B::set_tf32(a.tf32);
    double secs = 0, flops_per_image = 0;
    std::string models;
    if (a.what == "distill") {
        models = a.teacher + ">" + a.student;
        std::pair<double, double> r;
        if (models == "fm-small>fm-tiny")
            r = bench_distill<B, P, nn::fm_small, nn::fm_tiny>(a);
        else if (models == "fm-base>fm-small")
            r = bench_distill<B, P, nn::fm_base, nn::fm_small>(a);
        else if (models == "vit-small>vit-tiny")
            r = bench_distill<B, P, nn::vit_small, nn::vit_tiny>(a);
        else if (models == "vit-base>vit-small")
            r = bench_distill<B, P, nn::vit_base, nn::vit_small>(a);
        else
            throw tinymim::error(
                "bench distill: pairs available: fm-small>fm-tiny, fm-base>fm-small, vit-small>vit-tiny, "
                "vit-base>vit-small");
        secs = r.first;
        flops_per_image = r.second;
    } else {
        models = a.model;
        with_model(a.model, [&]<nn::vit_config C>() {
            using S = shape<dyn, C.channels, C.image, C.image>;
            auto x = random_images<S, B>(a.batch, 2);
            const double n = double(C.tokens());
            const double fwd = block_flops(n, double(C.dim), double(C.hidden()), double(C.depth)) +
                               2 * double(C.patches()) * double(C.patch_dim()) * double(C.dim);
            if (a.what == "forward") {
                auto m = std::make_unique<nn::vit<C, B, float, P>>();
                tape<B> t;
                secs = time_steps<B>(a.warmup, a.steps, [&](std::size_t) {
                    no_grad ng;
                    t.reset();
                    (void)m->forward_features(t, input(t, x));
                });
                flops_per_image = fwd;
            } else if (a.what == "train") {
                auto m = std::make_unique<nn::vit<C.with_head(nn::pool::avg, 10), B, float, P>>();
                optim::adamw<float, B> opt(io::collect(*m), {});
                tensor<std::int32_t, shape<dyn>, B> labels({a.batch});
                std::vector<std::int32_t> hl(a.batch);
                for (std::size_t i = 0; i < a.batch; ++i) hl[i] = std::int32_t(i % 10);
                labels.copy_from(hl);
                tape<B> t;
                secs = time_steps<B>(a.warmup, a.steps, [&](std::size_t) {
                    t.reset();
                    auto loss = ops::cross_entropy(m->forward(t, input(t, x)), labels);
                    loss.backward();
                    opt.step(1e-4);
                });
                flops_per_image = 3 * fwd;
            } else if (a.what == "mae") {
                auto m = std::make_unique<mae_for<C, B, P>>();
                optim::adamw<float, B> opt(io::collect(*m), {});
                tape<B> t;
                constexpr auto D = decoder_for<C>;
                secs = time_steps<B>(a.warmup, a.steps, [&](std::size_t s) {
                    t.reset();
                    auto mask = nn::mae_mask<B, float>::random(a.batch, C.patches(), 0.75, counter_rng(s));
                    auto out = m->forward(t, input(t, x), mask);
                    out.loss.backward();
                    opt.step(1e-4);
                });
                const double keep = double(std::size_t(double(C.patches()) * 0.25)) + 1;
                flops_per_image = 3 * (block_flops(keep, double(C.dim), double(C.hidden()), double(C.depth)) +
                                       block_flops(n, double(D.dim), double(D.dim * D.mlp_ratio), double(D.depth)));
            } else {
                throw tinymim::error("bench: what must be forward, train, mae or distill, not '" + a.what + "'");
            }
        });
    }
    const double ips = double(a.batch * a.steps) / secs;
    nlohmann::json j{{"what", a.what},
                     {"models", models},
                     {"device", c.device},
                     {"batch", a.batch},
                     {"steps", a.steps},
                     {"threads", tinymim::num_threads()},
                     {"seconds", secs},
                     {"images_per_second", ips},
                     {"gflops", ips * flops_per_image / 1e9},
                     {"peak_rss_mib", peak_rss_mib()},
                     {"tf32", a.tf32},
                     {"precision", P::name}};
    if (a.what == "distill") j["drop_path"] = d::distill_options{}.drop_path;
    if constexpr (std::is_same_v<B, tinymim::cpu>) {
        j["blas"] = cpu_gemm_library();
        if constexpr (P::bf16_operands) {  // which bf16 GEMM ran, and what the cores offer it
            j["bf16_gemm"] = cpu_bf16_gemm_path();
            j["cpu_bf16"] = cpu_bf16_hardware();
        }
    } else {
        j["blas"] = "cuBLAS";
        if constexpr (P::bf16_operands) j["bf16_gemm"] = "cublasGemmEx bf16 operands, fp32 compute";
    }
    if constexpr (requires { B::peak_bytes(); }) j["device_peak_mib"] = double(B::peak_bytes()) / (1024.0 * 1024.0);
    std::fprintf(stderr, "bench %s %s (%s): %.1f images/s, %.1f GFLOP/s, peak RSS %.0f MiB\n", a.what.c_str(),
                 models.c_str(), P::name, ips, ips * flops_per_image / 1e9, peak_rss_mib());
    std::printf("%s\n", j.dump().c_str());
}

}  // namespace tool
