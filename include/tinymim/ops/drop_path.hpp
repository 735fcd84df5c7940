// drop_path (stochastic depth): each sample's branch is dropped with probability p, kept ones scaled
// by 1/(1-p). The per-sample draw comes from a counter-based generator, so it is reproducible.
#pragma once

#include <cstddef>
#include <vector>

#include "tinymim/autograd/var.hpp"
#include "tinymim/backend/kernels.hpp"
#include "tinymim/core/random.hpp"
#include "tinymim/ops/samples.hpp"

namespace tinymim::ops {

// A drop path as a fused residual branch takes it: each sample's branch dropped with probability p while
// training (kept ones scaled by 1/(1-p)); the draw of sample b is rng.uniform(b), as drop_path's.
struct drop_path_run {
    double p = 0;
    counter_rng rng{};
    bool training = false;
    bool none_dropped = false;  // the dropped samples were taken out (kept_samples): scale every one by 1/(1-p)
};

namespace detail {
// Whether a drop path of probability p drops sample b: its draw is rng.uniform(rng.first_sample() + b).
[[nodiscard]] inline bool drop_path_drops(const counter_rng& rng, std::size_t b, double p) {
    return rng.uniform(rng.first_sample() + b) < p;
}

// The per-sample factors of a drop path (0 for a dropped sample, 1/(1-p) for a kept one) in tape memory
// on the device. none_dropped: every sample is kept (the caller has taken the dropped ones out, see
// kept_samples), each scaled by 1/(1-p).
template <element T, backend B>
[[nodiscard]] const T* drop_path_scales(tape<B>& tp, std::size_t batch, T p, const counter_rng& rng,
                                        bool none_dropped = false) {
    constexpr std::size_t stack_batch = 4096;
    TINYMIM_CHECK(batch <= stack_batch, "drop_path: batch ", batch, " exceeds ", stack_batch);
    T* scales = tp.template scratch<T>(batch);
    T host[stack_batch];
    for (std::size_t b = 0; b < batch; ++b)
        host[b] = !none_dropped && drop_path_drops(rng, b, double(p)) ? T(0) : T(1) / (T(1) - p);
    B::copy_from_host(scales, host, batch * sizeof(T));
    return scales;
}
}  // namespace detail

// The samples of a batch that a drop path of probability p (in the element type, as drop_path takes it)
// with this generator keeps: the same draws as drop_path's.
template <element T>
[[nodiscard]] sample_runs kept_samples(std::size_t batch, T p, const counter_rng& rng) {
    TINYMIM_CHECK(p >= T(0) && p < T(1), "drop_path: probability ", p, " is outside [0, 1)");
    sample_runs kept(batch);
    for (std::size_t b = 0; b < batch; ++b)
        if (!detail::drop_path_drops(rng, b, double(p))) kept.add(b);
    return kept;
}

// Identity when p == 0 or not training. `rng` draws one uniform per sample (values 0..B-1).
template <element T, class S, backend B>
[[nodiscard]] auto drop_path(const var<T, S, B>& x, T p, const counter_rng& rng, bool training = true) {
    TINYMIM_CHECK(p >= T(0) && p < T(1), "drop_path: probability ", p, " is outside [0, 1)");
    if (!training || p == T(0)) return x;
    const std::size_t batch = x.extent(0), inner = x.size() / batch;
    auto& tp = x.get_tape();
    const T* scales = detail::drop_path_scales(tp, batch, p, rng);
    auto y = make_output<T>(tp, x.shape(), x.requires_grad());
    backends::scale_rows(B{}, batch, inner, scales, x.data(), y.data(), false);
    if (y.requires_grad()) {
        auto *sx = x.get_slot(), *sy = y.get_slot();
        tp.record(sy, [=](tape<B>& t) {
            backends::scale_rows(B{}, batch, inner, scales, static_cast<const T*>(sy->grad()), t.grad(sx), true);
        });
    }
    return y;
}

}  // namespace tinymim::ops
