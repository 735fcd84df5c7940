// The linear layers' GEMMs of the fm and vit models through any CBLAS, to choose the BLAS by measurement:
// forward (Y = X Wᵀ onto a bias, beta 1), input gradient (dX = dY W, beta 0) and weight gradient
// (dW = dYᵀ X, beta 0), best of 5, at 1 and 2 threads. Plain C++ and CBLAS only, so that the same file
// links against OpenBLAS, BLIS or another. With OpenBLAS it is the target tinymim_blas_shapes
// (-DTINYMIM_BUILD_BENCHMARKS=ON); by hand:
//   g++ -O2 -fopenmp -isystem /usr/include/x86_64-linux-gnu/openblas-openmp benchmarks/blas_shapes.cpp \
//       -Wl,-rpath,/usr/lib/x86_64-linux-gnu/openblas-openmp /usr/lib/x86_64-linux-gnu/openblas-openmp/libopenblas.so
//   g++ -O2 -fopenmp -DBLAS_SHAPES_BLIS -I/usr/include/x86_64-linux-gnu/blis-openmp benchmarks/blas_shapes.cpp \
//       /usr/lib/x86_64-linux-gnu/blis-openmp/libblis.so.4          (apt-get install libblis-openmp-dev)
#include <cblas.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <vector>

#if defined(BLAS_SHAPES_BLIS)
#include <blis.h>
static void set_threads(int t) { bli_thread_set_num_threads(t); }
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
    for (int threads : {1, 2}) {
        set_threads(threads);
        double seconds = 0, flops = 0;
        for (const auto s : shapes) {
            const double f = 2.0 * s.m * s.n * s.k;
            const double fwd = best_of_5([&] {
                cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, s.m, s.n, s.k, 1.f, a.data(), s.k, b.data(), s.k,
                            1.f, c.data(), s.n);
            });
            const double dx = best_of_5([&] {
                cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, s.m, s.k, s.n, 1.f, c.data(), s.n, b.data(), s.k,
                            0.f, a.data(), s.k);
            });
            const double dw = best_of_5([&] {
                cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, s.n, s.k, s.m, 1.f, c.data(), s.n, a.data(), s.k,
                            0.f, b.data(), s.k);
            });
            seconds += fwd + dx + dw;
            flops += 3 * f;
            std::printf("threads %d  M %5d N %4d K %4d   forward %6.1f  dX %6.1f  dW %6.1f GFLOP/s\n", threads, s.m,
                        s.n, s.k, f / fwd / 1e9, f / dx / 1e9, f / dw / 1e9);
        }
        std::printf("threads %d  all shapes: %.1f GFLOP/s\n", threads, flops / seconds / 1e9);
    }
}
