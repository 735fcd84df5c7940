// matmul: batched op(A) · op(B) with optional transposes; B may be one matrix shared by the batch.
#pragma once

#include <cstddef>

#include "tinymim/autograd/var.hpp"
#include "tinymim/backend/kernels.hpp"
#include "tinymim/tensor/shape_ops.hpp"

namespace tinymim::ops {

// C = alpha · op(A) · op(B), A: [..., M, K] (or [..., K, M] when TA), B: [..., K, N] or [K, N]
// (or transposed when TB). Leading (batch) axes of A and B must agree when B is batched.
template <bool TA = false, bool TB = false, element T, class SA, class SB, backend B>
[[nodiscard]] auto matmul(const var<T, SA, B>& a, const var<T, SB, B>& b, T alpha = T(1)) {
    static_assert(SA::rank >= 2 && SB::rank >= 2, "matmul: both operands need at least two axes");
    static_assert(SB::rank == 2 || SB::rank == SA::rank,
                  "matmul: B must be a single matrix or a batch of matrices with A's rank");
    static_assert(extents_compatible(shape_ops::inner_a<SA, TA>, shape_ops::inner_b<SB, TB>),
                  "matmul: inner extents differ: the K of op(A) must equal the K of op(B)");
    using SC = shape_ops::matmul_t<SA, SB, TA, TB>;
    constexpr std::size_t r = SA::rank, rb = SB::rank;
    const auto& ea = a.shape();
    const auto& eb = b.shape();
    const std::size_t m = TA ? ea[r - 1] : ea[r - 2];
    const std::size_t k = TA ? ea[r - 2] : ea[r - 1];
    const std::size_t kb = TB ? eb[rb - 1] : eb[rb - 2];
    const std::size_t n = TB ? eb[rb - 2] : eb[rb - 1];
    TINYMIM_CHECK(k == kb, "matmul: inner extents differ: A is ", ea.str(), (TA ? " (transposed)" : ""), ", B is ",
                  eb.str(), (TB ? " (transposed)" : ""));
    std::size_t batch = 1;
    for (std::size_t i = 0; i + 2 < r; ++i) {
        batch *= ea[i];
        if constexpr (rb == r)
            TINYMIM_CHECK(ea[i] == eb[i], "matmul: batch extents differ: A is ", ea.str(), ", B is ", eb.str());
    }
    auto ec = ea.all();
    ec[r - 2] = m;
    ec[r - 1] = n;
    auto c = make_output<T>(a.get_tape(), extents<SC>(ec), a.requires_grad() || b.requires_grad());

    const std::size_t lda = ea[r - 1], ldb = eb[rb - 1];
    const bool shared_b = rb == 2 && batch > 1;
    const std::size_t sa = m * k, sb = shared_b ? 0 : k * n, sc = m * n;
    using namespace backends;
    if (shared_b && !TA)  // one tall GEMM over the flattened batch
        gemm(B{}, false, TB, batch * m, n, k, alpha, a.data(), lda, b.data(), ldb, T(0), c.data(), n);
    else
        gemm_strided_batched(B{}, TA, TB, m, n, k, alpha, a.data(), lda, sa, b.data(), ldb, sb, T(0), c.data(), n, sc,
                             batch);

    if (c.requires_grad()) {
        auto* s_a = a.get_slot();
        auto* s_b = b.get_slot();
        auto* s_c = c.get_slot();
        a.get_tape().record(s_c, [=](tape<B>& t) {
            const T* dc = s_c->grad();
            // A first gradient is written by the GEMM (beta 0), a later one added (beta 1). When A and B
            // are one value (q·qᵀ), the second GEMM adds to what the first wrote.
            bool fresh = false;
            if (s_a->requires_grad) {
                T* da = t.grad_for_write(s_a, fresh);
                const T beta = fresh ? T(0) : T(1);
                if (shared_b && !TA)
                    gemm(B{}, false, !TB, batch * m, k, n, alpha, dc, n, s_b->value, ldb, beta, da, lda);
                else if (!TA)
                    gemm_strided_batched(B{}, false, !TB, m, k, n, alpha, dc, n, sc, s_b->value, ldb, sb, beta, da, lda,
                                         sa, batch);
                else
                    gemm_strided_batched(B{}, TB, true, k, m, n, alpha, s_b->value, ldb, sb, dc, n, sc, beta, da, lda,
                                         sa, batch);
            }
            if (s_b->requires_grad) {
                T* db = t.grad_for_write(s_b, fresh);
                T beta = fresh ? T(0) : T(1);
                if (shared_b && !TA) {
                    if (!TB)
                        gemm(B{}, true, false, k, n, batch * m, alpha, s_a->value, lda, dc, n, beta, db, ldb);
                    else
                        gemm(B{}, true, false, n, k, batch * m, alpha, dc, n, s_a->value, lda, beta, db, ldb);
                } else if (shared_b) {  // A transposed, B shared: sum over the batch one GEMM at a time
                    for (std::size_t i = 0; i < batch; ++i, beta = T(1)) {
                        if (!TB)
                            gemm(B{}, !TA, false, k, n, m, alpha, s_a->value + i * sa, lda, dc + i * sc, n, beta, db,
                                 ldb);
                        else
                            gemm(B{}, true, TA, n, k, m, alpha, dc + i * sc, n, s_a->value + i * sa, lda, beta, db,
                                 ldb);
                    }
                } else if (!TB) {
                    gemm_strided_batched(B{}, !TA, false, k, n, m, alpha, s_a->value, lda, sa, dc, n, sc, beta, db, ldb,
                                         sb, batch);
                } else {
                    gemm_strided_batched(B{}, true, TA, n, k, m, alpha, dc, n, sc, s_a->value, lda, sa, beta, db, ldb,
                                         sb, batch);
                }
            }
        });
    }
    return c;
}

}  // namespace tinymim::ops
