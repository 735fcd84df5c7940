// Distillation targets: what is compared. A target maps a block trace to a var with ordinary
// differentiable ops; `student(trace)` and `teacher(trace)` may differ (feature targets normalise the
// teacher side). Each target states what of the block it needs (qkv_only) and what it is (kind).
#pragma once

#include <cmath>
#include <cstddef>

#include "tinymim/nn/block.hpp"
#include "tinymim/ops/layer_norm.hpp"
#include "tinymim/ops/matmul.hpp"
#include "tinymim/ops/tokens.hpp"

namespace tinymim::distill {

enum class target_kind {
    relation,  // [B, H, N, N] per-head token relations: head counts must agree (adaptive block)
    feature,   // [B, N, D] token features: widths may differ (learned projection on the student side)
    cls        // [B, D] class-token feature: widths may differ (learned projection)
};

namespace detail {
template <class Trace>
auto head_scale(const Trace& tr) {
    using T = typename decltype(tr.q)::value_type;
    return T(1) / std::sqrt(T(tr.q.extent(3)));
}
}  // namespace detail

// The two head tensors of a relation and its scale: the relation is scale · a · bᵀ per head.
template <class Heads, class T>
struct relation_operands {
    const Heads& a;
    const Heads& b;
    T scale;
};

// Token relations softmax(A_m B_mᵀ / sqrt(d)) per head; the target yields the scaled products (the
// logits), and a distribution loss (KL) applies the softmax. The CLS token is a row and a column.
// operands(trace) names what the products are made of, for a loss that takes the relation whole
// (kl_divergence::relation: no [B, H, N, N] tensor is made).
#define TINYMIM_RELATION_TARGET(NAME, A, B, TEXT)                                                                  \
    struct NAME {                                                                                                  \
        static constexpr target_kind kind = target_kind::relation;                                                 \
        static constexpr bool qkv_only = true;                                                                     \
        static constexpr bool distribution = true;                                                                 \
        static constexpr const char* name = TEXT;                                                                  \
        template <class Trace>                                                                                     \
        [[nodiscard]] auto operands(const Trace& tr) const {                                                       \
            return relation_operands<decltype(tr.A), typename decltype(tr.A)::value_type>{tr.A, tr.B,              \
                                                                                          detail::head_scale(tr)}; \
        }                                                                                                          \
        template <class Trace>                                                                                     \
        [[nodiscard]] auto student(const Trace& tr) const {                                                        \
            return ops::matmul<false, true>(tr.A, tr.B, detail::head_scale(tr));                                   \
        }                                                                                                          \
        template <class Trace>                                                                                     \
        [[nodiscard]] auto teacher(const Trace& tr) const {                                                        \
            return student(tr);                                                                                    \
        }                                                                                                          \
    }

TINYMIM_RELATION_TARGET(qk, q, k, "qk");  // R_QK, the attention map itself
TINYMIM_RELATION_TARGET(vv, v, v, "vv");  // R_VV, value-value relations
TINYMIM_RELATION_TARGET(qq, q, q, "qq");
TINYMIM_RELATION_TARGET(kk, k, k, "kk");
#undef TINYMIM_RELATION_TARGET

// A relation compared without the softmax: the raw scaled products (pair it with mse / smooth_l1).
template <class Relation>
struct without_softmax : Relation {
    static_assert(Relation::kind == target_kind::relation, "without_softmax: applies to relation targets only");
    static constexpr bool distribution = false;
};

// Token features [B, N, D]; the teacher side is layer-normalised without affine parameters (eps 1e-6).
#define TINYMIM_FEATURE_TARGET(NAME, EXPR, QKV_ONLY, TEXT)        \
    struct NAME {                                                 \
        static constexpr target_kind kind = target_kind::feature; \
        static constexpr bool qkv_only = QKV_ONLY;                \
        static constexpr bool distribution = false;               \
        static constexpr const char* name = TEXT;                 \
        template <class Trace>                                    \
        [[nodiscard]] auto student(const Trace& tr) const {       \
            return EXPR;                                          \
        }                                                         \
        template <class Trace>                                    \
        [[nodiscard]] auto teacher(const Trace& tr) const {       \
            using T = typename decltype(tr.ln1)::value_type;      \
            return ops::layer_norm(student(tr), T(1e-6));         \
        }                                                         \
    }

TINYMIM_FEATURE_TARGET(block_output, tr.out, false, "block_output");          // F_i
TINYMIM_FEATURE_TARGET(attention_output, tr.attn_out, false, "attn_output");  // before the residual
TINYMIM_FEATURE_TARGET(mlp_output, tr.mlp_out, false, "mlp_output");          // before the residual
TINYMIM_FEATURE_TARGET(q_features, (ops::merge_heads<Trace::width>(tr.q)), true, "q");
TINYMIM_FEATURE_TARGET(k_features, (ops::merge_heads<Trace::width>(tr.k)), true, "k");
TINYMIM_FEATURE_TARGET(v_features, (ops::merge_heads<Trace::width>(tr.v)), true, "v");
#undef TINYMIM_FEATURE_TARGET

// The class token of the block output, [B, D]; a distribution over channels (pair it with KL).
struct cls_token {
    static constexpr target_kind kind = target_kind::cls;
    static constexpr bool qkv_only = false;
    static constexpr bool distribution = true;
    static constexpr const char* name = "cls";
    template <class Trace>
    [[nodiscard]] auto student(const Trace& tr) const {
        constexpr std::size_t D = Trace::width;
        return ops::slice_tokens<0, 1>(tr.out).view_as(extents<shape<dyn, D>>({tr.out.extent(0), D}));
    }
    template <class Trace>
    [[nodiscard]] auto teacher(const Trace& tr) const {
        return student(tr);
    }
};

}  // namespace tinymim::distill
