// The concepts a distillation policy must satisfy, checked against a representative trace so that a
// user's own target or loss fails at its definition with a readable message, not deep in a template.
#pragma once

#include <concepts>

#include "tinymim/autograd/var.hpp"
#include "tinymim/distill/targets.hpp"
#include "tinymim/nn/block.hpp"

namespace tinymim::distill {

namespace detail {
// The backend the probes run on: the CPU in host TUs, CUDA in nvcc TUs (which see no CPU GEMM).
#if defined(__CUDACC__)
using probe_backend = cuda;
#else
using probe_backend = cpu;
#endif
using probe_trace = nn::block_trace<double, shape<dyn, 5, 8>, probe_backend>;
using probe_var = var<double, shape<dyn, 4>, probe_backend>;
}  // namespace detail

// A target: student(trace) and teacher(trace) return vars of one rank; it states its kind, whether
// LN1 + qkv suffice (qkv_only), whether its values are logits of a distribution, and a name.
template <class P>
concept target_policy = std::default_initializable<P> && requires(const P& p, const detail::probe_trace& tr) {
    { P::kind } -> std::convertible_to<target_kind>;
    { P::qkv_only } -> std::convertible_to<bool>;
    { P::distribution } -> std::convertible_to<bool>;
    { P::name } -> std::convertible_to<const char*>;
    { p.student(tr) } -> any_var;
    { p.teacher(tr) } -> any_var;
};

// A loss: (student, teacher) -> scalar var; states whether it compares distributions, and a name.
template <class L>
concept loss_policy = std::default_initializable<L> && requires(const L& l, const detail::probe_var& v) {
    { L::needs_distribution } -> std::convertible_to<bool>;
    { L::name } -> std::convertible_to<const char*>;
    { l(v, v) } -> std::same_as<var<double, shape<>, detail::probe_backend>>;
};

// Optional: a loss that takes a relation target whole, from its operands (a, b, scale on each side),
// rather than as two [B, H, N, N] tensors: l.relation(target.operands(student trace),
// target.operands(teacher trace)) -> the same scalar as l(target.student(...), target.teacher(...)).
// The distiller uses it where both sides offer it (kl_divergence with qk, vv, qq, kk).
template <class L, class P>
concept whole_relation_loss = loss_policy<L> && target_policy<P> && P::kind ==
                              target_kind::relation&& P::distribution&& requires(const L& l, const P& p,
                                                                                 const detail::probe_trace& tr) {
    { l.relation(p.operands(tr), p.operands(tr)) } -> std::same_as<var<double, shape<>, detail::probe_backend>>;
};

}  // namespace tinymim::distill

#include "tinymim/distill/losses.hpp"

namespace tinymim::distill {
// Every shipped policy satisfies its concept.
static_assert(target_policy<qk> && target_policy<vv> && target_policy<qq> && target_policy<kk>);
static_assert(target_policy<without_softmax<qk>> && target_policy<without_softmax<vv>>);
static_assert(target_policy<block_output> && target_policy<attention_output> && target_policy<mlp_output>);
static_assert(target_policy<q_features> && target_policy<k_features> && target_policy<v_features>);
static_assert(target_policy<cls_token>);
static_assert(loss_policy<kl_divergence> && loss_policy<smooth_l1> && loss_policy<mse> && loss_policy<cosine>);
static_assert(whole_relation_loss<kl_divergence, qk> && whole_relation_loss<kl_divergence, vv>);
static_assert(!whole_relation_loss<mse, without_softmax<qk>> && !whole_relation_loss<kl_divergence, q_features>);
}  // namespace tinymim::distill
