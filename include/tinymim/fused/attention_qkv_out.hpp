// attention_qkv_out: attention_qkv's output [B, N, D] alone, from a fused projection qkv [B, N, 3·D].
// Equals attention_qkv(qkv, heads, scale).out. What a block uses when nothing reads its attention map.
// Fast path (the backend's attention_qkv kernels, on the CPU and CUDA): the probabilities are not kept
// (B·H·N² values a layer); the backward recomputes them from q and k, on the CPU a (sample, head) block at
// a time in cache.
#pragma once

#include <cstddef>

#include "tinymim/fused/attention_qkv.hpp"

namespace tinymim::fused {

struct attention_qkv_out_fn {
    template <element T, class S, backend B>
    [[nodiscard]] static auto reference(const var<T, S, B>& qkv, std::size_t heads, T scale) {
        return attention_qkv_fn::reference(qkv, heads, scale).out;
    }
    template <element T, class S, backend B>
    [[nodiscard]] auto operator()(const var<T, S, B>& qkv, std::size_t heads, T scale) const {
        detail::check_attention_qkv(qkv, heads);
        using out_t = decltype(qkv_attention_result<T, S, B>::out);
        const std::size_t batch = qkv.extent(0), n = qkv.extent(1), dim = qkv.extent(2) / 3, d = dim / heads;
        if constexpr (requires(T * p) { attention_qkv_forward(B{}, batch, n, heads, d, scale, p, p, p); }) {
            using namespace backends;
            auto& tp = qkv.get_tape();
            auto out = make_output<T>(tp, extents<typename out_t::shape_type>({batch, n, dim}), qkv.requires_grad());
            attention_qkv_forward(B{}, batch, n, heads, d, scale, qkv.data(), static_cast<T*>(nullptr), out.data());
            if (out.requires_grad()) {
                auto *sx = qkv.get_slot(), *so = out.get_slot();
                tp.record(so, [=](tape<B>& t) {
                    bool fresh = false;
                    T* dx = t.grad_for_write(sx, fresh);
                    attention_qkv_backward(B{}, batch, n, heads, d, scale, static_cast<const T*>(sx->value),
                                           static_cast<const T*>(nullptr), static_cast<const T*>(so->grad()),
                                           static_cast<const T*>(nullptr), dx, !fresh);
                });
            }
            return out;
        } else {
            return detail::attention_qkv_reference(qkv, heads, scale).out;
        }
    }
};
inline constexpr attention_qkv_out_fn attention_qkv_out{};

}  // namespace tinymim::fused
