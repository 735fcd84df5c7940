// tinymim bench peak: the floating-point peak of this machine's cores, measured, as the denominator of the
// "% of peak" that benchmarks/compare.sh prints next to each benchmark (one run, the same noise).
//
// Each thread runs independent chains of multiply-adds as wide as the build's widest vector registers
// (16 floats where the compiler targets AVX-512, as OpenBLAS's SkylakeX kernels and MKL use them; 8 with
// AVX2), with no memory traffic: twelve accumulators hide the FMA latency (4 cycles, two pipes), which is
// what a GEMM micro-kernel reaches at best. Compiled with -march=native, a·b + c is one vfmadd per vector
// (GCC contracts it; checked in the disassembly). Machines without FMA measure separate multiplies and adds.
// An 8-wide peak on an AVX-512 host would be half the real one and flatter every "% of peak".
#include <omp.h>

#include <algorithm>
#include <chrono>
#include <cstdio>

#include <nlohmann/json.hpp>

#include <tinymim/backend/cpu/cpu.hpp>
#include <tinymim/core/error.hpp>

#include "commands.hpp"

namespace tool {

namespace {
#if defined(__AVX512F__)
constexpr int lanes = 16;
#else
constexpr int lanes = 8;
#endif
typedef float vec __attribute__((vector_size(lanes * sizeof(float))));

// n rounds of 12 independent vector multiply-adds; returns a value that depends on all of them.
__attribute__((noinline)) float fma_chains(long n, float seed) {
    const vec m = vec{} + (1.0f - 1e-7f), a = vec{} + 1e-7f;
    vec c0 = vec{} + seed, c1 = c0 + 1, c2 = c0 + 2, c3 = c0 + 3, c4 = c0 + 4, c5 = c0 + 5;
    vec c6 = c0 + 6, c7 = c0 + 7, c8 = c0 + 8, c9 = c0 + 9, c10 = c0 + 10, c11 = c0 + 11;
    for (long i = 0; i < n; ++i) {
        c0 = c0 * m + a, c1 = c1 * m + a, c2 = c2 * m + a, c3 = c3 * m + a, c4 = c4 * m + a, c5 = c5 * m + a;
        c6 = c6 * m + a, c7 = c7 * m + a, c8 = c8 * m + a, c9 = c9 * m + a, c10 = c10 * m + a, c11 = c11 * m + a;
    }
    const vec s = ((c0 + c1) + (c2 + c3)) + ((c4 + c5) + (c6 + c7)) + ((c8 + c9) + (c10 + c11));
    return s[0] + s[lanes - 1];
}
constexpr double flops_per_round = 12 * lanes * 2;

// GFLOP/s of all threads running fma_chains together, best of `tries` runs of about `seconds` each.
double measure(int threads, double seconds, int tries) {
    // Calibrate on one thread: rounds for the requested time.
    long n = 1 << 20;
    for (;;) {
        const auto t0 = std::chrono::steady_clock::now();
        volatile float sink = fma_chains(n, 1.f);
        (void)sink;
        const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
        if (s > 0.05) {
            n = long(double(n) * seconds / s);
            break;
        }
        n *= 4;
    }
    double best = 0;
    for (int t = 0; t < tries; ++t) {
        float total = 0;
        const auto t0 = std::chrono::steady_clock::now();
#pragma omp parallel num_threads(threads) reduction(+ : total)
        total += fma_chains(n, float(omp_get_thread_num()));
        const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
        volatile float sink = total;
        (void)sink;
        best = std::max(best, double(threads) * double(n) * flops_per_round / s / 1e9);
    }
    return best;
}
}  // namespace

void run_peak(const common_options& c, const bench_args& a) {
    apply_common(c);
    if (c.device != "cpu") throw tinymim::error("bench peak: measures the CPU's cores; --device must be cpu");
    const int threads = tinymim::num_threads();
    const double gflops = measure(threads, 0.5, int(std::max<std::size_t>(a.steps, 1)));
    std::fprintf(stderr, "bench peak: %.1f GFLOP/s with %d threads (fp32 %d-bit multiply-adds, no memory traffic)\n",
                 gflops, threads, lanes * 32);
    nlohmann::json j{
        {"what", "peak"}, {"device", c.device}, {"threads", threads}, {"gflops", gflops}, {"vector_bits", lanes * 32}};
    std::printf("%s\n", j.dump().c_str());
}

}  // namespace tool
