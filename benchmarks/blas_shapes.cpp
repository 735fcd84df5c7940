// The linear layers' GEMMs of the fm and vit models through any CBLAS, to choose the BLAS by measurement:
// forward (Y = X Wᵀ onto a bias, beta 1), input gradient (dX = dY W, beta 0) and weight gradient
// (dW = dYᵀ X, beta 0), best of 5, at 1 and 2 threads (the BLAS's own threading, and ours). Plain C++,
// OpenMP and CBLAS only, so that the same file links against OpenBLAS, BLIS or another. With OpenBLAS it
// is the target tinymim_blas_shapes (-DTINYMIM_BUILD_BENCHMARKS=ON); by hand:
//   g++ -O2 -march=native -fopenmp -isystem /usr/include/x86_64-linux-gnu/openblas-openmp \
//       benchmarks/blas_shapes.cpp \
//       -Wl,-rpath,/usr/lib/x86_64-linux-gnu/openblas-openmp /usr/lib/x86_64-linux-gnu/openblas-openmp/libopenblas.so
//   g++ -O2 -march=native -fopenmp -DBLAS_SHAPES_BLIS -I/usr/include/x86_64-linux-gnu/blis-openmp
//   benchmarks/blas_shapes.cpp \
//       /usr/lib/x86_64-linux-gnu/blis-openmp/libblis.so.4          (apt-get install libblis-openmp-dev)
// With -DTINYMIM_BLAS=MKL it is the same target linked against oneMKL (-DBLAS_SHAPES_MKL).
#if defined(BLAS_SHAPES_MKL)
#include <mkl_cblas.h>
#include <mkl_service.h>
#else
#include <cblas.h>
#endif
#include <omp.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <vector>

#if defined(BLAS_SHAPES_BLIS)
#include <blis.h>
static void set_threads(int t) { bli_thread_set_num_threads(t); }
#elif defined(BLAS_SHAPES_MKL)
static void set_threads(int t) { mkl_set_num_threads(t); }
#else
extern "C" void openblas_set_num_threads(int);
static void set_threads(int t) { openblas_set_num_threads(t); }
#endif

int main() {
    // rows M = batch x tokens (fm: 256 x 50, vit: 32 x 197); N x K = the weight.
    struct shape_mnk {
        int m, n, k;
    } shapes[] = {{12800, 288, 96},  {12800, 96, 96},   {12800, 384, 96},  {12800, 96, 384},  {12800, 576, 192},
                  {12800, 768, 192}, {12800, 192, 768}, {6304, 1152, 384}, {6304, 1536, 384}, {6304, 384, 1536}};
    std::vector<float> a(12800 * 1536, 0.1f), b(12800 * 1536, 0.2f), c(12800 * 1536, 0.3f);
    auto best_of_5 = [](auto&& f) {
        f();
        double best = 1e30;
        for (int r = 0; r < 5; ++r) {
            const auto t0 = std::chrono::steady_clock::now();
            f();
            best = std::min(best, std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count());
        }
        return best;
    };
    // Modes: the BLAS on 1 thread; on 2 of its own threads; 2 OpenMP threads that each run a one-thread BLAS
    // call on half the rows of C (dW: half the inner dimension, then the partials added), as
    // backend/cpu/blas/gemm.hpp does for products whose weight has at most 2^20 values.
    std::vector<float> partial(1536 * 1536);
    for (int mode = 0; mode < 3; ++mode) {
        const int threads = mode == 0 ? 1 : 2;
        const char* name = mode == 0 ? "1 thread      " : mode == 1 ? "2 BLAS threads" : "2 split by us ";
        set_threads(threads);
        // f(lo, hi, t) on rows [lo, hi) of `rows`: once (modes 0, 1) or per OpenMP thread (mode 2).
        auto run = [&](int rows, auto&& f) {
            if (mode < 2) return f(0, rows, 0);
#pragma omp parallel num_threads(2)
            {
                const int t = omp_get_thread_num();
                f(rows * t / 2, rows * (t + 1) / 2, t);
            }
        };
        double seconds = 0, flops = 0;
        for (const auto s : shapes) {
            const double f = 2.0 * s.m * s.n * s.k;
            const double fwd = best_of_5([&] {
                run(s.m, [&](int lo, int hi, int) {
                    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, hi - lo, s.n, s.k, 1.f, a.data() + lo * s.k,
                                s.k, b.data(), s.k, 1.f, c.data() + lo * s.n, s.n);
                });
            });
            const double dx = best_of_5([&] {
                run(s.m, [&](int lo, int hi, int) {
                    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, hi - lo, s.k, s.n, 1.f, c.data() + lo * s.n,
                                s.n, b.data(), s.k, 0.f, a.data() + lo * s.k, s.k);
                });
            });
            const double dw = best_of_5([&] {
                run(s.m, [&](int lo, int hi, int t) {
                    cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, s.n, s.k, hi - lo, 1.f, c.data() + lo * s.n,
                                s.n, a.data() + lo * s.k, s.k, 0.f, t == 0 ? b.data() : partial.data(), s.k);
                    if (mode == 2) {
#pragma omp barrier
#pragma omp for
                        for (int i = 0; i < s.n * s.k; ++i) b[i] += partial[i];
                    }
                });
            });
            seconds += fwd + dx + dw;
            flops += 3 * f;
            std::printf("%s  M %5d N %4d K %4d   forward %6.1f  dX %6.1f  dW %6.1f GFLOP/s\n", name, s.m, s.n, s.k,
                        f / fwd / 1e9, f / dx / 1e9, f / dw / 1e9);
        }
        std::printf("%s  all shapes: %.1f GFLOP/s\n", name, flops / seconds / 1e9);
    }
}
