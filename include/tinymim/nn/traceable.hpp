// nn::traceable_model: what a distillation pairing needs of a teacher or a student. nn::vit models it; so can
// a user's own ViT variant (examples/register_teacher.hpp adapts one with register tokens).
#pragma once

#include <concepts>
#include <cstddef>
#include <span>
#include <type_traits>

#include "tinymim/autograd/var.hpp"
#include "tinymim/nn/block.hpp"
#include "tinymim/nn/parameter.hpp"
#include "tinymim/nn/vit.hpp"
#include "tinymim/nn/vit_config.hpp"

namespace tinymim::nn {

// A model the distiller can run and tap:
// - `config` (a vit_config) gives its token grid (image, patch, channels, class token), width, heads and
//   depth, which the pairing checks against the other model's; `D`, `P` and `depth` repeat them;
// - `embed(t, images)`: the patch tokens with their position embedding, [batch, P, D];
// - `prepend_cls(t, x)`: the class token put in front (x unchanged without one), for any token count;
// - `run_blocks(t, x, run, requests)`: blocks 1..run.stop_block (0: all), block i with the head count its
//   request asks for, recording each requested block's trace over the tokens x has — a model with tokens
//   of its own (registers) leaves them out of the traces and of the result;
// - `visit(f)`: every parameter by name (f takes param_ref<value_type>&).
// The check runs on the raw token layout; masked inputs call the same members with fewer patch tokens.
namespace detail {
// Stands in for the distiller's visitors in the concept's check.
struct probe_param_visitor {
    template <class T>
    void operator()(param_ref<T>&) const {}
};
template <class M>
using model_images_t = var<typename M::value_type, typename M::image_shape, typename M::backend_type>;
template <class M>
using model_patches_t = var<typename M::value_type, shape<dyn, M::P, M::D>, typename M::backend_type>;
template <class M>
using model_tokens_t = var<typename M::value_type, shape<dyn, M::config.tokens(), M::D>, typename M::backend_type>;
template <class M>
using model_requests_t = std::span<
    const trace_request<typename M::value_type, shape<dyn, M::config.tokens(), M::D>, typename M::backend_type>>;

template <class M>
concept model_constants = requires {
    typename M::value_type;
    typename M::backend_type;
    typename M::image_shape;
    requires std::same_as<std::remove_cv_t<decltype(M::config)>, vit_config>;
    requires M::D == M::config.dim;
    requires M::P == M::config.patches();
    requires M::depth == M::config.depth;
};
}  // namespace detail

// clang-format off
template <class M>
concept traceable_model = detail::model_constants<M> &&
    requires(M& m, tape<typename M::backend_type>& t, const detail::model_images_t<M>& images,
             const detail::model_patches_t<M>& patch_tokens, const detail::model_tokens_t<M>& x, const vit_run& run,
             detail::model_requests_t<M> requests, detail::probe_param_visitor f) {
        { m.embed(t, images) } -> std::same_as<detail::model_patches_t<M>>;
        { m.prepend_cls(t, patch_tokens) } -> std::same_as<detail::model_tokens_t<M>>;
        { m.run_blocks(t, x, run, requests) } -> std::same_as<detail::model_tokens_t<M>>;
        m.visit(f);
    };
// clang-format on

}  // namespace tinymim::nn
