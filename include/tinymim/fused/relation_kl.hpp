// relation_kl: TinyMIM's relation loss in one op, averaged over every row of every (sample, head):
//   KL(softmax(α · t_scale · A_t B_tᵀ) || softmax(α · s_scale · A_s B_sᵀ)), α = 1 / temperature.
// Student heads A_s, B_s [batch, heads, tokens, ds]; teacher heads A_t, B_t [batch, heads, tokens, dt].
// Equals ops::kl_divergence(ops::softmax(matmul<false, true>(A_t, B_t, t_scale), α), matmul<false, true>(A_s, B_s,
// s_scale), τ). Fast path (plan_relation_kl), with a teacher that needs no gradient: no [B, H, N, N] relation is made;
// every (sample, head) block is computed, compared and differentiated in cache.
#pragma once

#include <cstddef>

#include "tinymim/autograd/var.hpp"
#include "tinymim/backend/kernels.hpp"
#include "tinymim/ops/losses.hpp"
#include "tinymim/ops/matmul.hpp"
#include "tinymim/ops/softmax.hpp"

namespace tinymim::fused {

struct relation_kl_fn {
    // A_s and B_s may be one var (v · vᵀ); so may A_t and B_t.
    template <element T, class SS, class ST, backend B>
    [[nodiscard]] static var<T, ops::scalar_shape, B> reference(const var<T, SS, B>& sa, const var<T, SS, B>& sb,
                                                                T s_scale, const var<T, ST, B>& ta,
                                                                const var<T, ST, B>& tb, T t_scale,
                                                                T temperature = T(1)) {
        return ops::kl_divergence(ops::softmax(ops::matmul<false, true>(ta, tb, t_scale), T(1) / temperature),
                                  ops::matmul<false, true>(sa, sb, s_scale), temperature);
    }

    template <element T, class SS, class ST, backend B>
    [[nodiscard]] var<T, ops::scalar_shape, B> operator()(const var<T, SS, B>& sa, const var<T, SS, B>& sb, T s_scale,
                                                          const var<T, ST, B>& ta, const var<T, ST, B>& tb, T t_scale,
                                                          T temperature = T(1)) const {
        static_assert(SS::rank == 4 && ST::rank == 4,
                      "relation_kl: the heads must be [batch, heads, tokens, head width]");
        static_assert(extents_compatible(SS::static_extents[0], ST::static_extents[0]) &&
                          extents_compatible(SS::static_extents[1], ST::static_extents[1]) &&
                          extents_compatible(SS::static_extents[2], ST::static_extents[2]),
                      "relation_kl: student and teacher heads must agree in batch, head count and tokens");
        TINYMIM_CHECK(sa.shape().all() == sb.shape().all() && ta.shape().all() == tb.shape().all(),
                      "relation_kl: student heads ", sa.shape().str(), " and ", sb.shape().str(), ", teacher heads ",
                      ta.shape().str(), " and ", tb.shape().str(), ": each side's two operands must have one shape");
        TINYMIM_CHECK(sa.extent(0) == ta.extent(0) && sa.extent(1) == ta.extent(1) && sa.extent(2) == ta.extent(2),
                      "relation_kl: student heads ", sa.shape().str(), " and teacher heads ", ta.shape().str(),
                      " differ in batch, head count or tokens");
        TINYMIM_CHECK(temperature > T(0), "relation_kl: temperature ", temperature, " must be positive");
        const std::size_t blocks = sa.extent(0) * sa.extent(1), n = sa.extent(2);
        if constexpr (requires { plan_relation_kl(B{}, blocks, n); }) {
            if (!ta.requires_grad() && !tb.requires_grad()) {
                if (auto plan = plan_relation_kl(B{}, blocks, n))
                    return in_blocks(*plan, sa, sb, s_scale, ta, tb, t_scale, temperature);
            }
        }
        return reference(sa, sb, s_scale, ta, tb, t_scale, temperature);
    }

private:
    // The backend's kernel writes the loss and, for a seed of 1, the student's gradients; the backward scales
    // them by the loss's incoming gradient.
    template <class Plan, element T, class SS, class ST, backend B>
    [[nodiscard]] static var<T, ops::scalar_shape, B> in_blocks(const Plan&, const var<T, SS, B>& sa,
                                                                const var<T, SS, B>& sb, T s_scale,
                                                                const var<T, ST, B>& ta, const var<T, ST, B>& tb,
                                                                T t_scale, T temperature) {
        using namespace backends;
        const std::size_t blocks = sa.extent(0) * sa.extent(1), n = sa.extent(2), ds = sa.extent(3), dt = ta.extent(3);
        const bool same = sa.get_slot() == sb.get_slot();
        const bool needs = sa.requires_grad() || sb.requires_grad();
        auto& tp = sa.get_tape();
        auto y = make_output<T>(tp, extents<ops::scalar_shape>{}, needs);
        T* ga = needs ? tp.template scratch<T>(sa.size()) : nullptr;
        T* gb = needs && !same ? tp.template scratch<T>(sb.size()) : nullptr;
        relation_kl_forward(B{}, blocks, n, ds, dt, s_scale, t_scale, T(1) / temperature, sa.data(), sb.data(),
                            ta.data(), tb.data(), same, y.data(), ga, gb);
        if (!needs) return y;
        auto *s_a = sa.get_slot(), *s_b = sb.get_slot(), *s_y = y.get_slot();
        const std::size_t count = sa.size();
        tp.record(s_y, [=](tape<B>& t) {
            T g{};
            B::copy_to_host(&g, s_y->grad(), sizeof(T));
            auto give = [&](slot<T>* s, const T* d) {  // s's gradient (+)= g · d
                if (!s->requires_grad) return;
                bool fresh = false;
                T* dx = t.grad_for_write(s, fresh);
                if (fresh)
                    scale(B{}, count, g, d, dx);
                else
                    axpy(B{}, count, g, d, dx);
            };
            give(s_a, ga);
            if (!same) give(s_b, gb);
        });
        return y;
    }
};
inline constexpr relation_kl_fn relation_kl{};

}  // namespace tinymim::fused
