// Google Benchmark micro-benchmarks: the GEMM shapes of the ViT configurations, layer norm, softmax,
// attention (on split heads, and fused on a qkv projection), GELU and the relation-KL loss, each forward + backward
// where it has one; the fused relation term and a frozen block's attention half beside the ops they replace.
#include <benchmark/benchmark.h>

#include <cmath>
#include <string>

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
BENCHMARK(gemm_linear)
    ->Args({12800, 96, 288})
    ->Args({12800, 96, 384})
    ->Args({12800, 384, 96})
    ->Args({12800, 192, 576})
    ->Args({12800, 192, 768})
    ->Args({6304, 384, 1152})
    ->Args({6304, 384, 1536})
    ->Args({6304, 1536, 384})
    ->Unit(benchmark::kMillisecond);

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
    fwd_bwd(st, [&](tape<cpu>& t) { return fused::attention_qkv(leaf(t, qkv), 6, 1.0f / std::sqrt(32.0f)).out; });
}
BENCHMARK(attention_qkv)->Unit(benchmark::kMillisecond);

void attention_split_merge(benchmark::State& st) {
    auto qkv = randn<shape<dyn, 50, 576>>({256, 50, 576}, 9);
    fwd_bwd(st, [&](tape<cpu>& t) {
        auto x = leaf(t, qkv);
        auto a =
            ops::attention(ops::split_heads<3>(x, 6, 0), ops::split_heads<3>(x, 6, 1), ops::split_heads<3>(x, 6, 2));
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

// The whole relation term of fm-small -> fm-tiny, forward + backward, from the head tensors (teacher
// [256, 6, 50, 32], student [256, 6, 50, 16]: q kᵀ): fused::relation_kl, which the distiller runs, and the
// composed matmul + softmax + kl_divergence it replaced.
void relation_term(benchmark::State& st) {
    using S = shape<dyn, dyn, dyn, dyn>;
    auto ta = randn<S>({256, 6, 50, 32}, 11), tb = randn<S>({256, 6, 50, 32}, 12);
    auto sa = randn<S>({256, 6, 50, 16}, 13), sb = randn<S>({256, 6, 50, 16}, 14);
    const bool fast = st.range(0) != 0;
    const float ts = 1.0f / std::sqrt(32.0f), ss = 0.25f;
    tape<cpu> t;
    for (auto _ : st) {
        t.reset();
        auto a = leaf(t, sa), b = leaf(t, sb);
        auto at = input(t, ta), bt = input(t, tb);
        auto l = fast ? fused::relation_kl(a, b, ss, at, bt, ts)
                      : ops::kl_divergence(ops::softmax(ops::matmul<false, true>(at, bt, ts)),
                                           ops::matmul<false, true>(a, b, ss));
        l.backward();
    }
    st.SetLabel(fast ? "relation_kl" : "composed");
}
BENCHMARK(relation_term)->Arg(1)->Arg(0)->Unit(benchmark::kMillisecond);

// A frozen block's halves: fused::attention_residual (in sample blocks in cache) and the three ops it
// stands for; fused::mlp_residual (in row blocks in cache) and its two ops. fm-small's block (x [256, 50,
// 192], 6 heads: weights that fit in the L2) and vit-small's (x [32, 197, 384], 6 heads: weights over the
// L2, which the blocks multiply packed and streamed from the L3 where the build has oneMKL).
template <std::size_t Batch, std::size_t N, std::size_t D>
void teacher_attention_half(benchmark::State& st) {
    auto x = randn<shape<dyn, N, D>>({Batch, N, D}, 15);
    auto g = randn<shape<D>>({D}, 16), be = randn<shape<D>>({D}, 17), bp = randn<shape<D>>({D}, 19);
    auto bq = randn<shape<3 * D>>({3 * D}, 18);
    auto wq = randn<shape<3 * D, D>>({3 * D, D}, 20);
    auto wp = randn<shape<D, D>>({D, D}, 21);
    for (std::size_t i = 0; i < wq.size(); ++i) wq[i] /= std::sqrt(float(D));  // as initialised layers' scale
    for (std::size_t i = 0; i < wp.size(); ++i) wp[i] /= std::sqrt(float(D));
    const bool fast = st.range(0) != 0;
    const float scale = 1.0f / std::sqrt(float(D / 6));
    tape<cpu> t;
    no_grad ng;
    for (auto _ : st) {
        t.reset();
        auto xv = input(t, x);
        auto gv = input(t, g), bev = input(t, be), bpv = input(t, bp);
        auto wqv = input(t, wq);
        auto bqv = input(t, bq);
        auto wpv = input(t, wp);
        auto y = fast ? fused::attention_residual(xv, gv, bev, 1e-6f, wqv, bqv, wpv, bpv, 6, scale)
                      : fused::residual_linear(
                            fused::attention_qkv_out(fused::layer_norm_linear(xv, gv, bev, 1e-6f, wqv, bqv), 6, scale),
                            wpv, bpv, xv);
        benchmark::DoNotOptimize(y.data());
    }
    st.SetLabel(fast ? "attention_residual" : "three ops");
}
BENCHMARK_TEMPLATE(teacher_attention_half, 256, 50, 192)->Arg(1)->Arg(0)->Unit(benchmark::kMillisecond);
BENCHMARK_TEMPLATE(teacher_attention_half, 32, 197, 384)->Arg(1)->Arg(0)->Unit(benchmark::kMillisecond);

// A block's MLP half: its input [Batch, N, D], layer norm and weights (at initialised layers' scale).
template <std::size_t Batch, std::size_t N, std::size_t D>
struct mlp_half_case {
    static constexpr std::size_t H = 4 * D;
    tensor<float, shape<dyn, N, D>> x = randn<shape<dyn, N, D>>({Batch, N, D}, 25);
    tensor<float, shape<D>> g = randn<shape<D>>({D}, 26), be = randn<shape<D>>({D}, 27), b2 = randn<shape<D>>({D}, 29);
    tensor<float, shape<H>> b1 = randn<shape<H>>({H}, 28);
    tensor<float, shape<H, D>> w1 = scaled(randn<shape<H, D>>({H, D}, 30), D);
    tensor<float, shape<D, H>> w2 = scaled(randn<shape<D, H>>({D, H}, 31), H);

    template <class S>
    static tensor<float, S> scaled(tensor<float, S> w, std::size_t in) {
        for (std::size_t i = 0; i < w.size(); ++i) w[i] /= std::sqrt(float(in));
        return w;
    }
};

template <std::size_t Batch, std::size_t N, std::size_t D>
void teacher_mlp_half(benchmark::State& st) {
    const mlp_half_case<Batch, N, D> c;
    const auto &x = c.x, &g = c.g, &be = c.be, &b1 = c.b1, &b2 = c.b2, &w1 = c.w1, &w2 = c.w2;
    const bool fast = st.range(0) != 0;
    tape<cpu> t;
    no_grad ng;
    for (auto _ : st) {
        t.reset();
        auto xv = input(t, x);
        auto gv = input(t, g), bev = input(t, be), b1v = input(t, b1), b2v = input(t, b2);
        auto w1v = input(t, w1);
        auto w2v = input(t, w2);
        auto y =
            fast ? fused::mlp_residual(xv, gv, bev, 1e-6f, w1v, b1v, w2v, b2v)
                 : fused::residual_gelu_linear(fused::layer_norm_linear(xv, gv, bev, 1e-6f, w1v, b1v), w2v, b2v, xv);
        benchmark::DoNotOptimize(y.data());
    }
    st.SetLabel(fast ? "mlp_residual" : "two ops");
}
BENCHMARK_TEMPLATE(teacher_mlp_half, 256, 50, 192)->Arg(1)->Arg(0)->Unit(benchmark::kMillisecond);
BENCHMARK_TEMPLATE(teacher_mlp_half, 32, 197, 384)->Arg(1)->Arg(0)->Unit(benchmark::kMillisecond);

// A student's drop path in the half benchmarks below (second argument): 0 none; 1 p = 0.1 as the
// recipe's, its branches computed for the kept samples only (ops/samples.hpp); 2 the same scales with
// every sample's branch computed (what the kept samples save: this generator keeps 29 of 32). Their
// GFLOP/s count every sample's work, the work the op stands for.
const counter_rng student_drop_rng(1);
ops::drop_path_run drop_path_case(std::int64_t c) {
    if (c == 0) return {};
    return {0.1, student_drop_rng, true, c == 2};
}
std::string drop_path_label(std::int64_t c) {
    return c == 0 ? "" : c == 1 ? ", drop path 0.1 (kept samples only)" : ", drop path 0.1 (every sample computed)";
}

// The student's MLP half (training: what the backward needs is kept), forward only (first argument 0) or
// forward + backward (1), vit-tiny's shape at batch 32.
template <std::size_t Batch, std::size_t N, std::size_t D>
void student_mlp_half(benchmark::State& st) {
    const mlp_half_case<Batch, N, D> c;
    const auto &x = c.x, &g = c.g, &be = c.be, &b1 = c.b1, &b2 = c.b2, &w1 = c.w1, &w2 = c.w2;
    constexpr std::size_t H = mlp_half_case<Batch, N, D>::H;
    const bool backward = st.range(0) != 0;
    const ops::drop_path_run dp = drop_path_case(st.range(1));
    tape<cpu> t;
    for (auto _ : st) {
        t.reset();
        auto y = fused::mlp_residual(leaf(t, x), leaf(t, g), leaf(t, be), 1e-6f, leaf(t, w1), leaf(t, b1), leaf(t, w2),
                                     leaf(t, b2), dp);
        if (backward) ops::sum(y).backward();
        benchmark::DoNotOptimize(y.data());
    }
    const double flops = 2.0 * 2.0 * double(Batch * N * D * H) * (backward ? 3.0 : 1.0);
    st.counters["GFLOP/s"] =
        benchmark::Counter(flops, benchmark::Counter::kIsIterationInvariantRate, benchmark::Counter::kIs1000);
    st.SetLabel(std::string(backward ? "forward + backward" : "forward") + drop_path_label(st.range(1)));
}
BENCHMARK_TEMPLATE(student_mlp_half, 32, 197, 192)->ArgsProduct({{0, 1}, {0, 1, 2}})->Unit(benchmark::kMillisecond);
BENCHMARK_TEMPLATE(teacher_mlp_half, 32, 197, 192)->Arg(1)->Arg(0)->Unit(benchmark::kMillisecond);

// The student's attention half (training), forward only (first argument 0) or forward + backward (1),
// vit-tiny's shape at batch 32 (3 heads of 64).
template <std::size_t Batch, std::size_t N, std::size_t D>
void student_attention_half(benchmark::State& st) {
    constexpr std::size_t heads = D / 64;
    auto x = randn<shape<dyn, N, D>>({Batch, N, D}, 15);
    auto g = randn<shape<D>>({D}, 16), be = randn<shape<D>>({D}, 17), bp = randn<shape<D>>({D}, 19);
    auto bq = randn<shape<3 * D>>({3 * D}, 18);
    auto wq = randn<shape<3 * D, D>>({3 * D, D}, 20);
    auto wp = randn<shape<D, D>>({D, D}, 21);
    for (std::size_t i = 0; i < wq.size(); ++i) wq[i] /= std::sqrt(float(D));
    for (std::size_t i = 0; i < wp.size(); ++i) wp[i] /= std::sqrt(float(D));
    const bool backward = st.range(0) != 0;
    const ops::drop_path_run dp = drop_path_case(st.range(1));
    tape<cpu> t;
    for (auto _ : st) {
        t.reset();
        auto y = fused::attention_residual(leaf(t, x), leaf(t, g), leaf(t, be), 1e-6f, leaf(t, wq), leaf(t, bq),
                                           leaf(t, wp), leaf(t, bp), heads, 0.125f, dp);
        if (backward) ops::sum(y).backward();
        benchmark::DoNotOptimize(y.data());
    }
    // Forward: the qkv and proj products and q kᵀ, p v; the backward twice that, plus q kᵀ again (the
    // probabilities are recomputed).
    const double linear = 2.0 * double(Batch * N) * 4.0 * double(D * D), core = 4.0 * double(Batch * N * N * D);
    const double flops = backward ? 3.0 * linear + 3.5 * core : linear + core;
    st.counters["GFLOP/s"] =
        benchmark::Counter(flops, benchmark::Counter::kIsIterationInvariantRate, benchmark::Counter::kIs1000);
    st.SetLabel(std::string(backward ? "forward + backward" : "forward") + drop_path_label(st.range(1)));
}
BENCHMARK_TEMPLATE(student_attention_half, 32, 197, 192)
    ->ArgsProduct({{0, 1}, {0, 1, 2}})
    ->Unit(benchmark::kMillisecond);
}  // namespace

BENCHMARK_MAIN();
