// tinymim bench peak: the floating-point peak of this machine's cores, measured, as the denominator of the
// "% of peak" that benchmarks/compare.sh prints next to each benchmark (one run, the same noise).
//
// Each thread runs independent chains of eight-wide multiply-adds with no memory traffic: twelve
// accumulators hide the FMA latency (4 cycles on Zen, two pipes), which is what a GEMM micro-kernel reaches
// at best. Compiled with -march=native, a·b + c is one vfmadd per vector (GCC contracts it; checked in the
// disassembly when this was written). Machines without FMA measure the peak of separate multiplies and adds.
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
typedef float vec8 __attribute__((vector_size(32)));

// n rounds of 12 independent vector multiply-adds; returns a value that depends on all of them.
__attribute__((noinline)) float fma_chains(long n, float seed) {
    const vec8 m = vec8{} + (1.0f - 1e-7f), a = vec8{} + 1e-7f;
    vec8 c0 = vec8{} + seed, c1 = c0 + 1, c2 = c0 + 2, c3 = c0 + 3, c4 = c0 + 4, c5 = c0 + 5;
    vec8 c6 = c0 + 6, c7 = c0 + 7, c8 = c0 + 8, c9 = c0 + 9, c10 = c0 + 10, c11 = c0 + 11;
    for (long i = 0; i < n; ++i) {
        c0 = c0 * m + a, c1 = c1 * m + a, c2 = c2 * m + a, c3 = c3 * m + a, c4 = c4 * m + a, c5 = c5 * m + a;
        c6 = c6 * m + a, c7 = c7 * m + a, c8 = c8 * m + a, c9 = c9 * m + a, c10 = c10 * m + a, c11 = c11 * m + a;
    }
    const vec8 s = ((c0 + c1) + (c2 + c3)) + ((c4 + c5) + (c6 + c7)) + ((c8 + c9) + (c10 + c11));
    return s[0] + s[7];
}
constexpr double flops_per_round = 12 * 8 * 2;

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
    std::fprintf(stderr, "bench peak: %.1f GFLOP/s with %d threads (fp32 multiply-adds, no memory traffic)\n", gflops, threads);
    nlohmann::json j{{"what", "peak"}, {"device", c.device}, {"threads", threads}, {"gflops", gflops}};
    std::printf("%s\n", j.dump().c_str());
}

}  // namespace tool
