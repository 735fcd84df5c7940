// One weight applied to many row blocks from any thread: with oneMKL packed once into panels, else kept as is.
#pragma once

#include <cstddef>

#include "tinymim/backend/cpu/blas/gemm.hpp"
#include "tinymim/backend/cpu/cpu.hpp"

namespace tinymim::backends {

// Products C = beta C + A · op(W) with one weight and many row blocks A [m <= max_m, k], from any thread:
// a layer's weights applied block by block. op(W) = Wᵀ for W [n, k] (`transposed`, a linear layer's
// forward), or W itself for W [k, n] (its input gradient). cblas_?gemm packs its B operand into panels
// again on every call — for a 256-row block of vit-small's MLP that copy is as large as the block's own.
// With oneMKL, W is packed here once (cblas_?gemm_pack, one thread, as the products run) into the calling
// thread's buffer for `Purpose`, and each product is a cblas_?gemm_compute on the packed panels; that
// lets a block's weights stream from the L3 instead of having to fit in the L2. Elsewhere it keeps W and
// calls gemm_one. Make it outside parallel regions; call it
// from any thread while it lives; two that live at once need two purposes.
inline constexpr bool cpu_packs_weights =
#if defined(TINYMIM_USE_MKL)
    true;
#else
    false;
#endif

template <class T, cpu_detail::scratch Purpose>
class packed_weight {
public:
    packed_weight(const T* w, std::size_t n, std::size_t k, std::size_t max_m, bool transposed = true)
        : w_(w), n_(n), k_(k), ldw_(transposed ? k : n), transposed_(transposed) {
#if defined(TINYMIM_USE_MKL)
        if (n == 0 || k == 0 || max_m == 0) return;
        constexpr std::size_t align = 64 / sizeof(T);
        std::size_t bytes;
        if constexpr (std::is_same_v<T, float>)
            bytes = cblas_sgemm_pack_get_size(CblasBMatrix, MKL_INT(max_m), MKL_INT(n), MKL_INT(k));
        else
            bytes = cblas_dgemm_pack_get_size(CblasBMatrix, MKL_INT(max_m), MKL_INT(n), MKL_INT(k));
        T* buffer = cpu_detail::thread_buffer<T, Purpose>((bytes + sizeof(T) - 1) / sizeof(T) + align);
        packed_ = buffer + (align - (reinterpret_cast<std::uintptr_t>(buffer) / sizeof(T)) % align) % align;
        const int before = mkl_set_num_threads_local(1);
        const auto op = transposed ? CblasTrans : CblasNoTrans;
        if constexpr (std::is_same_v<T, float>)
            cblas_sgemm_pack(CblasRowMajor, CblasBMatrix, op, MKL_INT(max_m), MKL_INT(n), MKL_INT(k), 1.0f, w,
                             MKL_INT(ldw_), packed_);
        else
            cblas_dgemm_pack(CblasRowMajor, CblasBMatrix, op, MKL_INT(max_m), MKL_INT(n), MKL_INT(k), 1.0, w,
                             MKL_INT(ldw_), packed_);
        mkl_set_num_threads_local(before);
#else
        (void)max_m;
#endif
    }
    packed_weight(const packed_weight&) = delete;
    packed_weight& operator=(const packed_weight&) = delete;

    // C [m, n] (ldc) = beta C + A [m, k] (lda) · op(W), on the calling thread's BLAS threads (one inside a
    // parallel region).
    void operator()(std::size_t m, const T* a, std::size_t lda, T beta, T* c, std::size_t ldc) const {
        if (m == 0) return;
#if defined(TINYMIM_USE_MKL)
        if (packed_ != nullptr) {
            if constexpr (std::is_same_v<T, float>)
                cblas_sgemm_compute(CblasRowMajor, CblasNoTrans, CblasPacked, MKL_INT(m), MKL_INT(n_), MKL_INT(k_), a,
                                    MKL_INT(lda), packed_, MKL_INT(ldw_), beta, c, MKL_INT(ldc));
            else
                cblas_dgemm_compute(CblasRowMajor, CblasNoTrans, CblasPacked, MKL_INT(m), MKL_INT(n_), MKL_INT(k_), a,
                                    MKL_INT(lda), packed_, MKL_INT(ldw_), beta, c, MKL_INT(ldc));
            return;
        }
#endif
        cpu_detail::gemm_one(false, transposed_, m, n_, k_, T(1), a, lda, w_, ldw_, beta, c, ldc);
    }

private:
    const T* w_;
    std::size_t n_, k_, ldw_;
    bool transposed_;
    T* packed_ = nullptr;
};

}  // namespace tinymim::backends
