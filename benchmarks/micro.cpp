// Google Benchmark micro-benchmarks: the GEMM shapes of the ViT configurations, layer norm, softmax,
// attention (on split heads, and fused on a qkv projection), GELU and the relation-KL loss, each forward + backward where it has one.
#include <benchmark/benchmark.h>

#include <cmath>

#include <tinymim/tinymim.hpp>

namespace {
using namespace tinymim;

template <class S>
tensor<float, S> randn(std::array<std::size_t, S::rank> e, std::uint64_t seed) {
    tensor<float, S> t(e);
    counter_rng r(seed);
    for (std::size_t i = 0; i < t.size(); ++i) t[i] = float(r.normal(i));
    return t;
}

// y = x Wᵀ for x [tokens, in], W [out, in]: the qkv / proj / fc1 / fc2 GEMMs of a block.
void gemm_linear(benchmark::State& st) {
    const std::size_t m = std::size_t(st.range(0)), k = std::size_t(st.range(1)), n = std::size_t(st.range(2));
    auto x = randn<shape<dyn, dyn>>({m, k}, 1);
    auto w = randn<shape<dyn, dyn>>({n, k}, 2);
    tensor<float, shape<dyn, dyn>> y({m, n});
    for (auto _ : st) {
        backends::gemm(cpu{}, false, true, m, n, k, 1.0f, x.data(), k, w.data(), k, 0.0f, y.data(), n);
        benchmark::DoNotOptimize(y.data());
    }
    st.counters["GFLOP/s"] = benchmark::Counter(2.0 * double(m * n * k), benchmark::Counter::kIsIterationInvariantRate,
                                                benchmark::Counter::kIs1000);
}
// fm-tiny / fm-small at batch 256 (12800 tokens), vit-small at batch 32 (6304 tokens).
BENCHMARK(gemm_linear)->Args({12800, 96, 288})->Args({12800, 96, 384})->Args({12800, 384, 96})
    ->Args({12800, 192, 576})->Args({12800, 192, 768})->Args({6304, 384, 1152})->Args({6304, 384, 1536})
    ->Args({6304, 1536, 384})->Unit(benchmark::kMillisecond);

template <class F>
void fwd_bwd(benchmark::State& st, F&& f) {
    tape<cpu> t;
    for (auto _ : st) {
        t.reset();
        auto y = f(t);
        ops::sum(y).backward();
    }
}

void layer_norm(benchmark::State& st) {
    auto x = randn<shape<dyn, 50, 192>>({256, 50, 192}, 3);
    tensor<float, shape<192>> g, b;
    g.fill(1), b.fill(0);
    fwd_bwd(st, [&](tape<cpu>& t) { return ops::layer_norm(leaf(t, x), leaf(t, g), leaf(t, b), 1e-6f); });
}
BENCHMARK(layer_norm)->Unit(benchmark::kMillisecond);

void gelu(benchmark::State& st) {
    auto x = randn<shape<dyn, 50, 768>>({256, 50, 768}, 4);
    fwd_bwd(st, [&](tape<cpu>& t) { return ops::gelu(leaf(t, x)); });
}
BENCHMARK(gelu)->Unit(benchmark::kMillisecond);

void softmax_rows(benchmark::State& st) {
    auto x = randn<shape<dyn, 6, 50, 50>>({256, 6, 50, 50}, 5);
    fwd_bwd(st, [&](tape<cpu>& t) { return ops::softmax(leaf(t, x)); });
}
BENCHMARK(softmax_rows)->Unit(benchmark::kMillisecond);

void attention(benchmark::State& st) {
    using S = shape<dyn, 6, 50, 32>;
    auto q = randn<S>({256, 6, 50, 32}, 6), k = randn<S>({256, 6, 50, 32}, 7), v = randn<S>({256, 6, 50, 32}, 8);
    fwd_bwd(st, [&](tape<cpu>& t) { return ops::attention(leaf(t, q), leaf(t, k), leaf(t, v)).out; });
}
BENCHMARK(attention)->Unit(benchmark::kMillisecond);

// What a block runs, from its fused qkv projection [256, 50, 3 · 192] (fm-small, 6 heads of 32) to the
// merged output: the fused kernel, and the split + attention + merge it replaced.
void attention_qkv(benchmark::State& st) {
    auto qkv = randn<shape<dyn, 50, 576>>({256, 50, 576}, 9);
    fwd_bwd(st, [&](tape<cpu>& t) { return ops::attention_qkv(leaf(t, qkv), 6, 1.0f / std::sqrt(32.0f)).out; });
}
BENCHMARK(attention_qkv)->Unit(benchmark::kMillisecond);

void attention_split_merge(benchmark::State& st) {
    auto qkv = randn<shape<dyn, 50, 576>>({256, 50, 576}, 9);
    fwd_bwd(st, [&](tape<cpu>& t) {
        auto x = leaf(t, qkv);
        auto a = ops::attention(ops::split_heads<3>(x, 6, 0), ops::split_heads<3>(x, 6, 1), ops::split_heads<3>(x, 6, 2));
        return ops::merge_heads<192>(a.out);
    });
}
BENCHMARK(attention_split_merge)->Unit(benchmark::kMillisecond);

void relation_kl(benchmark::State& st) {
    using S = shape<dyn, 6, 50, 50>;
    auto teacher = randn<S>({256, 6, 50, 50}, 9), student = randn<S>({256, 6, 50, 50}, 10);
    tape<cpu> t;
    for (auto _ : st) {
        t.reset();
        auto l = ops::kl_divergence(ops::softmax(input(t, teacher)), leaf(t, student));
        l.backward();
    }
}
BENCHMARK(relation_kl)->Unit(benchmark::kMillisecond);
}  // namespace

BENCHMARK_MAIN();
