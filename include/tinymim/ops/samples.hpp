// Some samples of a batch: what lets a residual half under drop path compute only the samples it keeps
// (fused/mlp_residual.hpp, fused/attention_residual.hpp). A dropped sample's branch is multiplied by zero, so its
// products, layer norm, GELU and attention — forward and backward — are work thrown away: with p = 0.1
// about a tenth of a student's block. timm's DropPath computes them (its branch is x * mask). The halves
// read the kept samples' rows in place (layer_norm_linear, residual_linear with the runs); the ops here
// copy them out and back, for other uses and the other backends' layer norm:
//
//   take_samples(x, kept)      [batch, ...] -> [kept.count, ...]: the kept samples, in order
//   put_samples(x, yk, kept)   x with the kept samples' values replaced by yk's
//
// Both have their gradients (a copy of each side back). The batch extent must be dynamic.
#pragma once

#include <algorithm>
#include <cstddef>
#include <vector>

#include "tinymim/autograd/var.hpp"
#include "tinymim/backend/kernels.hpp"

namespace tinymim::ops {

// One run of consecutive samples [first, first + count).
struct sample_run {
    std::size_t first = 0, count = 0;
};

// Runs of samples over a batch, read-only and trivially copyable (a backward closure holds one; the runs
// themselves live in the tape's host arena, copied there by sample_runs::on).
struct sample_runs_view {
    const sample_run* runs = nullptr;
    std::size_t size = 0;                // runs
    std::size_t batch = 0;               // samples in the whole batch
    std::size_t count = 0;               // samples in the runs
    const std::size_t* index = nullptr;  // index[i]: the batch's sample that is the i-th in the runs (count of them)

    // f(first, count, position) for each run (position: where its first sample sits among the kept ones)
    // and gap(first, count) for each stretch of samples between (and around) the runs.
    template <class F, class G>
    void each(F&& f, G&& gap) const {
        std::size_t next = 0, pos = 0;
        for (std::size_t r = 0; r < size; ++r) {
            const sample_run& run = runs[r];
            if (run.first > next) gap(next, run.first - next);
            f(run.first, run.count, pos);
            pos += run.count;
            next = run.first + run.count;
        }
        if (next < batch) gap(next, batch - next);
    }
    // f(first, count, position) for each run.
    template <class F>
    void each(F&& f) const {
        each(f, [](std::size_t, std::size_t) {});
    }
};

// f(first, count, position) for each run of *kept, or once for the whole batch of `batch` when kept is null.
template <class F>
void for_each_run(const sample_runs_view* kept, std::size_t batch, F&& f) {
    if (kept != nullptr)
        kept->each(f);
    else if (batch != 0)
        f(std::size_t(0), batch, std::size_t(0));
}

// Some samples of a batch of `batch`, as ascending runs of consecutive indices.
struct sample_runs {
    std::vector<sample_run> runs;
    std::size_t batch = 0;
    std::size_t count = 0;

    explicit sample_runs(std::size_t batch_size) : batch(batch_size) {}
    // Appends sample b (after the last one added).
    void add(std::size_t b) {
        TINYMIM_CHECK(b < batch && (runs.empty() || b >= runs.back().first + runs.back().count), "sample_runs: sample ",
                      b, " is outside the batch of ", batch, " or not after the last one added");
        if (!runs.empty() && runs.back().first + runs.back().count == b)
            ++runs.back().count;
        else
            runs.push_back({b, 1});
        ++count;
    }
    // A copy of the runs in t's host arena, valid until t's reset.
    template <backend B>
    [[nodiscard]] sample_runs_view on(tape<B>& t) const {
        sample_run* r = t.template host_array<sample_run>(runs.size());
        std::copy(runs.begin(), runs.end(), r);
        std::size_t* index = t.template host_array<std::size_t>(count);
        std::size_t i = 0;
        for (const sample_run& run : runs)
            for (std::size_t j = 0; j < run.count; ++j) index[i++] = run.first + j;
        return {r, runs.size(), batch, count, index};
    }
};

namespace detail {
// dst (=|+=) src for `samples` consecutive samples of `inner` values each, on the backend (in parallel
// over the samples on the CPU).
template <element T, backend B>
void copy_samples(std::size_t samples, std::size_t inner, const T* src, T* dst, bool add) {
    if (samples != 0) backends::copy_tokens(B{}, samples, 1, inner, src, 1, 0, false, dst, 1, 0, add);
}
}  // namespace detail

// The samples in `kept` of x [batch, ...], in order: [kept.count, ...]. kept must live on x's tape.
template <element T, class S, backend B>
[[nodiscard]] var<T, S, B> take_samples(const var<T, S, B>& x, const sample_runs_view& kept) {
    static_assert(S::static_extents[0] == dyn,
                  "take_samples: the batch extent must be dynamic (the result has fewer samples)");
    const std::size_t batch = x.extent(0), inner = x.size() / batch;
    TINYMIM_CHECK(kept.batch == batch, "take_samples: the runs are for a batch of ", kept.batch, ", x is ",
                  x.shape().str());
    auto e = x.shape().all();
    e[0] = kept.count;
    auto y = make_output<T>(x.get_tape(), extents<S>(e), x.requires_grad());
    const T* xs = x.data();
    T* ys = y.data();
    kept.each([&](std::size_t first, std::size_t n, std::size_t pos) {
        detail::copy_samples<T, B>(n, inner, xs + first * inner, ys + pos * inner, false);
    });
    if (y.requires_grad()) {
        auto *sx = x.get_slot(), *sy = y.get_slot();
        x.get_tape().record(sy, [=](tape<B>& t) {
            bool fresh = false;
            T* dx = t.grad_for_write(sx, fresh);
            const T* g = sy->grad();
            kept.each(
                [&](std::size_t first, std::size_t n, std::size_t pos) {
                    detail::copy_samples<T, B>(n, inner, g + pos * inner, dx + first * inner, !fresh);
                },
                [&](std::size_t first, std::size_t n) {  // samples left out: no gradient from here
                    if (fresh) backends::fill(B{}, dx + first * inner, n * inner, T(0));
                });
        });
    }
    return y;
}

// The same with the runs not yet on x's tape.
template <element T, class S, backend B>
[[nodiscard]] var<T, S, B> take_samples(const var<T, S, B>& x, const sample_runs& runs) {
    return take_samples(x, runs.on(x.get_tape()));
}

// x [batch, ...] with the samples in `kept` replaced, in order, by those of yk [kept.count, ...].
template <element T, class S, backend B>
[[nodiscard]] var<T, S, B> put_samples(const var<T, S, B>& x, const var<T, S, B>& yk, const sample_runs& runs) {
    static_assert(S::static_extents[0] == dyn, "put_samples: the batch extent must be dynamic (yk has fewer samples)");
    const std::size_t batch = x.extent(0), inner = x.size() / batch;
    TINYMIM_CHECK(runs.batch == batch && yk.extent(0) == runs.count && yk.size() == runs.count * inner,
                  "put_samples: x ", x.shape().str(), " and yk ", yk.shape().str(), " do not fit runs of ", runs.count,
                  " samples out of ", runs.batch);
    const sample_runs_view kept = runs.on(x.get_tape());
    auto y = make_output<T>(x.get_tape(), x.shape(), x.requires_grad() || yk.requires_grad());
    const T *xs = x.data(), *ks = yk.data();
    T* ys = y.data();
    kept.each(
        [&](std::size_t first, std::size_t n, std::size_t pos) {
            detail::copy_samples<T, B>(n, inner, ks + pos * inner, ys + first * inner, false);
        },
        [&](std::size_t first, std::size_t n) {
            detail::copy_samples<T, B>(n, inner, xs + first * inner, ys + first * inner, false);
        });
    if (y.requires_grad()) {
        auto *sx = x.get_slot(), *sk = yk.get_slot(), *sy = y.get_slot();
        x.get_tape().record(sy, [=](tape<B>& t) {
            const T* g = sy->grad();
            bool fresh_x = false, fresh_k = false;
            T* dx = sx->requires_grad ? t.grad_for_write(sx, fresh_x) : nullptr;
            T* dk = sk->requires_grad ? t.grad_for_write(sk, fresh_k) : nullptr;
            kept.each(
                [&](std::size_t first, std::size_t n, std::size_t pos) {
                    if (dk != nullptr)
                        detail::copy_samples<T, B>(n, inner, g + first * inner, dk + pos * inner, !fresh_k);
                    if (dx != nullptr && fresh_x) backends::fill(B{}, dx + first * inner, n * inner, T(0));
                },
                [&](std::size_t first, std::size_t n) {
                    if (dx != nullptr)
                        detail::copy_samples<T, B>(n, inner, g + first * inner, dx + first * inner, !fresh_x);
                });
        });
    }
    return y;
}

}  // namespace tinymim::ops
