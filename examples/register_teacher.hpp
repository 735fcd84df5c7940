// A ViT with register tokens (Darcet et al., "Vision Transformers Need Registers", ICLR 2024) as a
// distillation teacher: a model of the user's own, adapted to nn::traceable_model, no change to the library.
//
// Registers are R learned tokens with no position embedding that join the sequence after the embedding and are
// dropped at the output. This model appends them after the patch tokens, where timm puts them after the
// class token: attention and the MLP treat every token alike, so the outputs of the other tokens do not depend
// on where the registers sit, and appending lets the traces drop them by keeping the first n tokens. The traces
// it hands the distiller then have the student's tokens (class token and patches), and relations between the
// two models line up token for token. The registers still take part in attention: attention rows in a trace
// cover the kept tokens only and sum to less than one, as in the model.
#pragma once

#include <cstddef>
#include <span>
#include <string>
#include <vector>

#include <tinymim/core/random.hpp>
#include <tinymim/nn/init.hpp>
#include <tinymim/nn/traceable.hpp>
#include <tinymim/nn/vit.hpp>
#include <tinymim/ops/narrow.hpp>
#include <tinymim/ops/tokens.hpp>

namespace my {

using namespace tinymim;

template <nn::vit_config Cfg, std::size_t Registers, backend B = cpu, element T = float>
class register_vit {
    static_assert(Registers > 0, "register_vit: a ViT without registers is nn::vit");

public:
    using inner_type = nn::vit<Cfg, B, T>;
    static constexpr nn::vit_config config = Cfg;
    static constexpr std::size_t D = inner_type::D, P = inner_type::P, depth = inner_type::depth;
    static constexpr std::size_t registers = Registers;
    using value_type = T;
    using backend_type = B;
    using image_shape = typename inner_type::image_shape;

    inner_type vit;                                         // timm's names
    nn::parameter<shape<1, Registers, D>, B, T> reg_token;  // timm: reg_token [1, R, D]

    register_vit() { init(counter_rng(0)); }
    void init(const counter_rng& rng) {
        vit.init(rng);
        nn::init::normal(reg_token.value, 1e-6, rng.fork(5));  // timm initialises registers as N(0, 1e-6)
    }

    [[nodiscard]] auto embed(tape<B>& t, const var<T, image_shape, B>& images) { return vit.embed(t, images); }
    template <class S>
    [[nodiscard]] auto prepend_cls(tape<B>& t, const var<T, S, B>& x) {
        return vit.prepend_cls(t, x);
    }

    // The blocks over x and the registers; traces and result over x's tokens only.
    template <class S>
    [[nodiscard]] var<T, S, B> run_blocks(tape<B>& t, const var<T, S, B>& x, const nn::vit_run& run,
                                          std::span<const nn::trace_request<T, S, B>> requests) {
        const std::size_t n = x.extent(1);
        auto with_registers = ops::concat_tokens(x, reg_token.on(t));  // [batch, n + R, D]
        using SR = typename decltype(with_registers)::shape_type;
        std::vector<nn::block_trace<T, SR, B>> full(requests.size());
        std::vector<nn::trace_request<T, SR, B>> inner;
        for (std::size_t i = 0; i < requests.size(); ++i)
            inner.push_back({requests[i].block, requests[i].heads, &full[i]});
        auto y = vit.run_blocks(t, with_registers, run, std::span<const nn::trace_request<T, SR, B>>(inner));
        for (std::size_t i = 0; i < requests.size(); ++i) *requests[i].out = without_registers<S>(full[i], n);
        return keep_tokens<S>(y, n);
    }

    template <class F>
    void visit(F&& f, const std::string& prefix = "") {
        vit.visit(f, prefix);
        auto r = reg_token.ref(prefix + "reg_token");
        f(r);
    }

    [[nodiscard]] std::size_t blocks_run() const noexcept { return vit.blocks_run(); }

private:
    // The first n tokens of x ([batch, n + R, D]) as tokens of shape S.
    template <class S, class SR>
    static var<T, S, B> keep_tokens(const var<T, SR, B>& x, std::size_t n) {
        return ops::narrow<1>(x, 0, n).view_as(extents<S>({x.extent(0), n, D}));
    }
    // The same along the token axis of per-head values ([batch, heads, n + R, d]).
    template <class V, class VR>
    static V keep_head_tokens(const VR& x, std::size_t n) {
        return ops::narrow<2>(x, 0, n).view_as(
            extents<typename V::shape_type>({x.extent(0), x.extent(1), n, x.extent(3)}));
    }
    template <class S, class SR>
    static nn::block_trace<T, S, B> without_registers(const nn::block_trace<T, SR, B>& f, std::size_t n) {
        using out_t = nn::block_trace<T, S, B>;
        out_t o;
        o.input = keep_tokens<S>(f.input, n);
        o.ln1 = keep_tokens<S>(f.ln1, n);
        o.q = keep_head_tokens<typename out_t::heads_t>(f.q, n);
        o.k = keep_head_tokens<typename out_t::heads_t>(f.k, n);
        o.v = keep_head_tokens<typename out_t::heads_t>(f.v, n);
        o.complete = f.complete;
        if (f.complete) {
            auto rows = ops::narrow<2>(f.attn, 0, n);
            o.attn =
                ops::narrow<3>(rows, 0, n)
                    .view_as(extents<typename out_t::probs_t::shape_type>({f.attn.extent(0), f.attn.extent(1), n, n}));
            o.attn_out = keep_tokens<S>(f.attn_out, n);
            o.resid1 = keep_tokens<S>(f.resid1, n);
            o.mlp_out = keep_tokens<S>(f.mlp_out, n);
            o.out = keep_tokens<S>(f.out, n);
        }
        return o;
    }
};

static_assert(nn::traceable_model<register_vit<nn::fm_small, 4>>, "register_vit must model nn::traceable_model");

}  // namespace my
