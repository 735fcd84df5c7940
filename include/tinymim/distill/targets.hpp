// Distillation targets: what is compared. A target maps a block trace to a var with ordinary
// differentiable ops; `student(trace)` and `teacher(trace)` may differ (feature targets normalise the
// teacher side). Each target states what of the block it needs (qkv_only) and what it is (kind).
#pragma once

#include <array>
#include <cmath>
#include <cstddef>

#include "tinymim/nn/block.hpp"
#include "tinymim/ops/attention.hpp"
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

// The two head tensors of a relation and its scale: the relation is scale · a · bᵀ per head. (Handles,
// held by value: a target may make them, as resplit does.)
template <class Heads, class T>
struct relation_operands {
    Heads a;
    Heads b;
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

namespace detail {
// "<name>_r<R>" (R = dyn: "<name>_rh"): a resplit target's name.
template <std::size_t R>
consteval std::array<char, 32> resplit_name(const char* base) {
    std::array<char, 32> out{};
    std::size_t n = 0;
    while (base[n] != 0 && n < 24) out[n] = base[n], ++n;
    out[n++] = '_', out[n++] = 'r';
    if (R == dyn) {
        out[n++] = 'h';
        return out;
    }
    char digits[8]{};
    std::size_t k = 0;
    for (std::size_t v = R; v > 0 || k == 0; v /= 10) digits[k++] = char('0' + v % 10);
    while (k > 0) out[n++] = digits[--k];
    return out;
}
// q, k and v of a trace with the heads concatenated and split again into R heads.
template <class Heads>
struct resplit_heads {
    Heads q, k, v;
};
}  // namespace detail

// MiniLMv2's relation heads: the relation of Relation (qk, vv, qq or kk) over R relation heads on each side,
// made by concatenating a model's attention heads and splitting the width again into R, so teacher and
// student compare R heads whatever their own head counts (no adaptive block; both widths divide by R).
// R = dyn leaves the count to run time: set `heads` (distiller::targets()) before the first step.
template <std::size_t R, class Relation>
struct resplit {
    static_assert(Relation::kind == target_kind::relation, "resplit<R, Relation>: applies to relation targets only");
    static_assert(R > 0, "resplit<R, Relation>: R relation heads, at least one");
    static constexpr target_kind kind = target_kind::relation;
    static constexpr bool qkv_only = Relation::qkv_only;
    static constexpr bool distribution = Relation::distribution;
    static constexpr std::size_t relation_heads = R;
    static constexpr std::array<char, 32> name_storage = detail::resplit_name<R>(Relation::name);
    static constexpr const char* name = name_storage.data();
    std::size_t heads_count = R == dyn ? 0 : R;

    template <class Trace>
    [[nodiscard]] auto heads(const Trace& tr) const {
        constexpr std::size_t W = Trace::width;
        TINYMIM_CHECK(heads_count > 0 && W % heads_count == 0, "resplit: width ", W, " does not divide into ",
                      heads_count, " relation heads");
        return detail::resplit_heads<typename Trace::heads_t>{ops::split_heads(ops::merge_heads<W>(tr.q), heads_count),
                                                              ops::split_heads(ops::merge_heads<W>(tr.k), heads_count),
                                                              ops::split_heads(ops::merge_heads<W>(tr.v), heads_count)};
    }
    template <class Trace>
    [[nodiscard]] auto operands(const Trace& tr) const {
        return Relation{}.operands(heads(tr));
    }
    template <class Trace>
    [[nodiscard]] auto student(const Trace& tr) const {
        return Relation{}.student(heads(tr));
    }
    template <class Trace>
    [[nodiscard]] auto teacher(const Trace& tr) const {
        return student(tr);
    }
};

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
