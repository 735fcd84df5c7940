// tinymim bench peak: the floating-point peak of this machine's cores, measured, as the denominator of the
// "% of peak" that benchmarks/compare.sh prints next to each benchmark (one run, the same noise).
//
// Each thread runs independent chains of multiply-adds as wide as the build's widest vector registers
// (16 floats where the compiler targets AVX-512, as OpenBLAS's SkylakeX kernels and MKL use them; 8 with
// AVX2), with no memory traffic: twelve accumulators hide the FMA latency (4 cycles, two pipes), which is
// what a GEMM micro-kernel reaches at best. Compiled with -march=native, a·b + c is one vfmadd per vector
// (GCC contracts it; checked in the disassembly). Machines without FMA measure separate multiplies and adds.
// An 8-wide peak on an AVX-512 host would be half the real one and flatter every "% of peak".
//
// --precision bf16 measures the bf16 peak the same way, on what the cores have: AMX tiles (four independent
// 16 x 16 fp32 accumulator tiles, each TDPBF16PS 16 x 16 x 32 multiply-adds, the operand tiles loaded once),
// else AVX512-BF16 (VDPBF16PS chains), else nothing bf16: then the bf16 path widens to float and its peak is
// the fp32 one, which is measured and said.
#include <immintrin.h>
#include <omp.h>

#include <algorithm>
#include <chrono>
#include <cstdio>

#include <nlohmann/json.hpp>

#include <tinymim/backend/cpu/blas/gemm_bf16.hpp>  // amx_bf16_usable
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
constexpr double fma_flops_per_round = 12 * lanes * 2;

// n rounds of 12 independent VDPBF16PS (32 bf16 pairs into 16 floats each: 64 flops).
__attribute__((noinline, target("avx512f,avx512bf16"))) float dpbf16_chains(long n, float seed) {
    const __m512bh a = (__m512bh)_mm512_set1_epi16(0x3F80), b = (__m512bh)_mm512_set1_epi16(0x3380);  // 1, 2^-24
    __m512 c[12];
    for (int i = 0; i < 12; ++i) c[i] = _mm512_set1_ps(seed + float(i));
    for (long r = 0; r < n; ++r)
        for (int i = 0; i < 12; ++i) c[i] = _mm512_dpbf16_ps(c[i], a, b);
    __m512 s = c[0];
    for (int i = 1; i < 12; ++i) s = _mm512_add_ps(s, c[i]);
    alignas(64) float lanes_out[16];
    _mm512_store_ps(lanes_out, s);
    return lanes_out[0] + lanes_out[15];
}
constexpr double dpbf16_flops_per_round = 12 * 64;

// The AMX tile configuration (palette 1): eight tiles of 16 rows x 64 bytes.
struct alignas(64) tile_config {
    std::uint8_t palette = 1, start_row = 0, reserved[14] = {};
    std::uint16_t colsb[16] = {64, 64, 64, 64, 64, 64, 64, 64};
    std::uint8_t rows[16] = {16, 16, 16, 16, 16, 16, 16, 16};
};

// n rounds of four independent TDPBF16PS (16 x 16 fp32 += 16 x 32 bf16 · 32 x 16 bf16: 16384 flops each).
__attribute__((noinline, target("amx-tile,amx-bf16"))) float tile_chains(long n, float seed) {
    const tile_config cfg;
    _tile_loadconfig(&cfg);
    alignas(64) std::uint16_t ops[16 * 32];
    for (auto& v : ops) v = 0x3380;  // 2^-24: the accumulators stay finite
    alignas(64) float out[16 * 16];
    _tile_loadd(4, ops, 64);
    _tile_loadd(5, ops, 64);
    _tile_loadd(6, ops, 64);
    _tile_loadd(7, ops, 64);
    _tile_zero(0);
    _tile_zero(1);
    _tile_zero(2);
    _tile_zero(3);
    for (long r = 0; r < n; ++r) {
        _tile_dpbf16ps(0, 4, 5);
        _tile_dpbf16ps(1, 4, 7);
        _tile_dpbf16ps(2, 6, 5);
        _tile_dpbf16ps(3, 6, 7);
    }
    float total = seed;
    _tile_stored(0, out, 64);
    total += out[0];
    _tile_stored(3, out, 64);
    total += out[255];
    _tile_release();
    return total;
}
constexpr double tile_flops_per_round = 4 * 16 * 16 * 32 * 2;

// GFLOP/s of all threads running `chains` together, best of `tries` runs of about `seconds` each.
double measure(int threads, double seconds, int tries, float (*chains)(long, float), double flops_per_round) {
    // Calibrate on one thread: rounds for the requested time.
    long n = 1 << 16;
    for (;;) {
        const auto t0 = std::chrono::steady_clock::now();
        volatile float sink = chains(n, 1.f);
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
        total += chains(n, float(omp_get_thread_num()));
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
    const int tries = int(std::max<std::size_t>(a.steps, 1));
    if (c.precision == "bf16") {
        const std::string hw = cpu_bf16_hardware();
        std::string unit = "fp32 multiply-adds (no bf16 instructions: the bf16 path widens to float)";
        double gflops;
        if (tinymim::backends::cpu_detail::amx_bf16_usable()) {  // the cores have it and Linux grants it
            unit = "AMX TDPBF16PS, four accumulator tiles";
            gflops = measure(threads, 0.5, tries, tile_chains, tile_flops_per_round);
        } else if (hw.find("avx512_bf16") != std::string::npos) {
            unit = "AVX512-BF16 VDPBF16PS chains";
            gflops = measure(threads, 0.5, tries, dpbf16_chains, dpbf16_flops_per_round);
        } else {
            gflops = measure(threads, 0.5, tries, fma_chains, fma_flops_per_round);
        }
        std::fprintf(stderr, "bench peak: %.1f GFLOP/s bf16 with %d threads (%s)\n", gflops, threads, unit.c_str());
        nlohmann::json j{{"what", "peak"},      {"device", c.device}, {"threads", threads}, {"gflops", gflops},
                         {"precision", "bf16"}, {"unit", unit},       {"cpu_bf16", hw}};
        std::printf("%s\n", j.dump().c_str());
        return;
    }
    const double gflops = measure(threads, 0.5, tries, fma_chains, fma_flops_per_round);
    std::fprintf(stderr, "bench peak: %.1f GFLOP/s with %d threads (fp32 %d-bit multiply-adds, no memory traffic)\n",
                 gflops, threads, lanes * 32);
    nlohmann::json j{{"what", "peak"},   {"device", c.device},  {"threads", threads},
                     {"gflops", gflops}, {"precision", "fp32"}, {"vector_bits", lanes * 32}};
    std::printf("%s\n", j.dump().c_str());
}

}  // namespace tool
