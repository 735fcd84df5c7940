// attention_qkv: multi-head attention straight on a fused projection qkv [B, N, 3·D] (q | k | v, `heads`
// heads each) -> the output [B, N, D] in the merged layout the projection reads, and the probabilities
// softmax(scale · q kᵀ) [B, H, N, N]. Equals split_heads<3> ×3, ops::attention and merge_heads<D>.
// Fast path (the backend's attention_qkv kernels, on the CPU and CUDA): one node without head copies or
// kept scores, its backward writing all of dqkv.
#pragma once

#include <cstddef>

#include "tinymim/autograd/var.hpp"
#include "tinymim/backend/kernels.hpp"
#include "tinymim/ops/attention.hpp"

namespace tinymim::fused {

template <element T, class S, backend B>
struct qkv_attention_result {
    static constexpr std::size_t width = S::static_extents[2] == dyn ? dyn : S::static_extents[2] / 3;
    var<T, shape<S::static_extents[0], S::static_extents[1], width>, B> out;
    var<T, shape<S::static_extents[0], dyn, S::static_extents[1], S::static_extents[1]>, B> probs;
};

namespace detail {
template <element T, class S, backend B>
void check_attention_qkv(const var<T, S, B>& qkv, std::size_t heads) {
    static_assert(S::rank == 3, "attention_qkv: expects a fused projection [batch, tokens, 3 * width]");
    static_assert(S::static_extents[2] == dyn || S::static_extents[2] % 3 == 0,
                  "attention_qkv: the fused projection's width must be 3 * width (q, k, v)");
    const std::size_t dim = qkv.extent(2) / 3;
    TINYMIM_CHECK(qkv.extent(2) % 3 == 0, "attention_qkv: width ", qkv.extent(2), " is not 3 * width");
    TINYMIM_CHECK(heads > 0 && dim % heads == 0, "attention_qkv: width ", dim, " does not divide into ", heads,
                  " heads");
}

template <element T, class S, backend B>
[[nodiscard]] qkv_attention_result<T, S, B> attention_qkv_reference(const var<T, S, B>& qkv, std::size_t heads,
                                                                    T scale) {
    using R = qkv_attention_result<T, S, B>;
    static_assert(R::width != dyn, "attention_qkv::reference: the projection's width must be static");
    auto a = ops::attention(ops::split_heads<3>(qkv, heads, 0), ops::split_heads<3>(qkv, heads, 1),
                            ops::split_heads<3>(qkv, heads, 2), scale);
    return {ops::merge_heads<R::width>(a.out), a.probs};
}
}  // namespace detail

struct attention_qkv_fn {
    template <element T, class S, backend B>
    [[nodiscard]] static qkv_attention_result<T, S, B> reference(const var<T, S, B>& qkv, std::size_t heads, T scale) {
        detail::check_attention_qkv(qkv, heads);
        return detail::attention_qkv_reference(qkv, heads, scale);
    }
    template <element T, class S, backend B>
    [[nodiscard]] qkv_attention_result<T, S, B> operator()(const var<T, S, B>& qkv, std::size_t heads, T scale) const {
        detail::check_attention_qkv(qkv, heads);
        using R = qkv_attention_result<T, S, B>;
        const std::size_t batch = qkv.extent(0), n = qkv.extent(1), dim = qkv.extent(2) / 3, d = dim / heads;
        if constexpr (requires(T * p) { attention_qkv_forward(B{}, batch, n, heads, d, scale, p, p, p); }) {
            using namespace backends;
            auto& tp = qkv.get_tape();
            R r{make_output<T>(tp, extents<typename decltype(R::out)::shape_type>({batch, n, dim}),
                               qkv.requires_grad()),
                make_output<T>(tp, extents<typename decltype(R::probs)::shape_type>({batch, heads, n, n}),
                               qkv.requires_grad())};
            attention_qkv_forward(B{}, batch, n, heads, d, scale, qkv.data(), r.probs.data(), r.out.data());
            if (r.out.requires_grad()) {
                auto *sx = qkv.get_slot(), *so = r.out.get_slot(), *sp = r.probs.get_slot();
                tp.record(so, sp, [=](tape<B>& t) {
                    bool fresh = false;
                    T* dx = t.grad_for_write(sx, fresh);
                    attention_qkv_backward(B{}, batch, n, heads, d, scale, static_cast<const T*>(sx->value),
                                           static_cast<const T*>(sp->value), static_cast<const T*>(so->grad()),
                                           static_cast<const T*>(sp->grad()), dx, !fresh);
                });
            }
            return r;
        } else {
            return detail::attention_qkv_reference(qkv, heads, scale);
        }
    }
};
inline constexpr attention_qkv_fn attention_qkv{};

}  // namespace tinymim::fused
