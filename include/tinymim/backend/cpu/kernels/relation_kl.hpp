// CPU kernel: TinyMIM's relation loss, KL(softmax(α R_t) || softmax(α R_s)) with R = scale · A Bᵀ per
// (sample, head), in one pass over the heads with every N x N block in cache.
//
// Composed of ops, each relation is a [B, H, N, N] tensor (15 MB for fm-small's 256 x 6 x 50 x 50) that
// goes to memory and back five times: the student's and the teacher's products, the teacher's softmax,
// the student's log-softmax, then the backward's gradient of the logits and its two GEMMs. Here each
// (sample, head) makes both products in a thread's buffers, takes the teacher's softmax and the student's
// log-softmax row by row, adds the block's KL to the loss, and — when the student needs gradients —
// turns the block into dL/dA and dL/dB for the loss's seed of 1 right away: the loss is a scalar, so the
// backward only scales them by its incoming gradient. No N x N value leaves the cache.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <limits>
#include <type_traits>

#include <Eigen/Core>

#include "tinymim/backend/cpu/blas/gemm.hpp"
#include "tinymim/backend/cpu/blas/small_gemm.hpp"
#include "tinymim/backend/cpu/cpu.hpp"
#include "tinymim/backend/cpu/kernels/rows.hpp"  // float_row_packets

namespace tinymim::backends {

namespace cpu_relation_detail {
// A float row's first pass: its max broadcast over a packet, and its tail — the last n % width values
// loaded under a mask, -inf in the padding lanes (live: the tail's lanes).
struct row_scan {
    using rp = cpu_detail::float_row_packets<float>;
    using packet = rp::packet;
    std::size_t body, k;
    packet live, tail, m;
    row_scan(std::size_t n, const float* x) : body(n / rp::width * rp::width), k(n - body) {
        namespace ei = Eigen::internal;
        const packet lowest = ei::pset1<packet>(-std::numeric_limits<float>::infinity());
        tail = lowest;
        live = ei::pzero(lowest);
        if (k != 0) {
            live = rp::lanes_below(k);
            tail = ei::pselect(live, rp::load_partial(x + body, k), lowest);
        }
        packet mx = tail;
        for (std::size_t j = 0; j < body; j += rp::width) mx = ei::pmax(mx, rp::load(x + j));
        m = ei::pset1<packet>(ei::predux_max(mx));
    }
};

// x: one row of n teacher logits (already scaled). Writes t = softmax(x) over it and returns
// sum_j t_j log t_j.
template <class T>
T teacher_row(std::size_t n, T* x) {
    if constexpr (!std::is_same_v<T, float>) {  // (double: gradient checks) scalar
        const T m = *std::max_element(x, x + n);
        T s = 0, dot = 0;
        for (std::size_t j = 0; j < n; ++j) {
            const T d = x[j] - m, e = std::exp(d);
            x[j] = e;
            s += e;
            dot += e * d;
        }
        for (std::size_t j = 0; j < n; ++j) x[j] /= s;
        return dot / s - std::log(s);
    } else {
        namespace ei = Eigen::internal;
        using rp = row_scan::rp;
        using packet = row_scan::packet;
        constexpr std::size_t w = rp::width;
        row_scan row(n, x);
        const std::size_t body = row.body, k = row.k;
        const packet m = row.m, live = row.live;
        packet tail = row.tail;
        packet sum = ei::pzero(m), dot = sum;  // sum e, sum e (x - m)
        for (std::size_t j = 0; j < body; j += w) {
            const packet d = ei::psub(rp::load(x + j), m), e = ei::pexp(d);
            rp::store(x + j, e);
            sum = ei::padd(sum, e);
            dot = ei::pmadd(e, d, dot);
        }
        if (k != 0) {  // padding lanes: d = 0 and e forced to 0 (no -inf arithmetic)
            const packet d = ei::pand(live, ei::psub(tail, m));
            tail = ei::pand(live, ei::pexp(d));
            sum = ei::padd(sum, tail);
            dot = ei::pmadd(tail, d, dot);
        }
        const float s = ei::predux(sum);
        const packet inv = ei::pset1<packet>(1.0f / s);
        for (std::size_t j = 0; j < body; j += w) rp::store(x + j, ei::pmul(inv, rp::load(x + j)));
        if (k != 0) rp::store_partial(x + body, k, ei::pmul(inv, tail));
        return ei::predux(dot) / s - std::log(s);
    }
}

// y: one row of n student logits (already scaled, α z); t: the teacher's probabilities. Returns
// -sum_j t_j log softmax(y)_j. With grad, writes c · (softmax(y) · sum(t) - t) over y: dL/dz scaled by c.
template <class T>
T student_row(std::size_t n, T* y, const T* t, bool grad, T c) {
    if constexpr (!std::is_same_v<T, float>) {  // (double: gradient checks) scalar
        const T m = *std::max_element(y, y + n);
        T s = 0, st = 0, dot = 0;
        for (std::size_t j = 0; j < n; ++j) {
            const T d = y[j] - m, e = std::exp(d);
            y[j] = e;
            s += e;
            st += t[j];
            dot += t[j] * d;
        }
        if (grad)
            for (std::size_t j = 0; j < n; ++j) y[j] = c * (y[j] * (st / s) - t[j]);
        return -dot + std::log(s) * st;
    } else {
        namespace ei = Eigen::internal;
        using rp = row_scan::rp;
        using packet = row_scan::packet;
        constexpr std::size_t w = rp::width;
        row_scan row(n, y);
        const std::size_t body = row.body, k = row.k;
        const packet m = row.m, live = row.live;
        packet tail = row.tail, ttail = ei::pzero(m);
        if (k != 0) ttail = rp::load_partial(t + body, k);
        packet sum = ei::pzero(m), tsum = sum, dot = sum;  // sum e, sum t, sum t (y - m)
        for (std::size_t j = 0; j < body; j += w) {
            const packet d = ei::psub(rp::load(y + j), m), e = ei::pexp(d), tj = rp::load(t + j);
            if (grad) rp::store(y + j, e);
            sum = ei::padd(sum, e);
            tsum = ei::padd(tsum, tj);
            dot = ei::pmadd(tj, d, dot);
        }
        if (k != 0) {
            const packet d = ei::pand(live, ei::psub(tail, m));
            tail = ei::pand(live, ei::pexp(d));
            sum = ei::padd(sum, tail);
            tsum = ei::padd(tsum, ttail);
            dot = ei::pmadd(ttail, d, dot);
        }
        const float s = ei::predux(sum), st = ei::predux(tsum);
        if (grad) {
            const packet f = ei::pset1<packet>(c * st / s), cc = ei::pset1<packet>(c);
            for (std::size_t j = 0; j < body; j += w)
                rp::store(y + j, ei::psub(ei::pmul(f, rp::load(y + j)), ei::pmul(cc, rp::load(t + j))));
            if (k != 0) rp::store_partial(y + body, k, ei::psub(ei::pmul(f, tail), ei::pmul(cc, ttail)));
        }
        return -ei::predux(dot) + std::log(s) * st;
    }
}
}  // namespace cpu_relation_detail

// For `blocks` (sample, head) pairs of n tokens: the student's relation logits z = s_scale · A_s B_sᵀ
// (A_s, B_s: [blocks, n, ds], contiguous), the teacher's t_scale · A_t B_tᵀ (A_t, B_t: [blocks, n, dt]),
// loss = 1 / (blocks · n) · sum over rows of KL(softmax(α · teacher) || softmax(α · z)).
// With ga (and gb) not null, writes dloss/dA_s into ga and dloss/dB_s into gb, each [blocks, n, ds];
// when A_s and B_s are one tensor (same, as in a value-value relation), gb is not used and ga gets the
// sum of both. The sum over blocks does not depend on the thread count.
template <class T>
void relation_kl_forward(cpu, std::size_t blocks, std::size_t n, std::size_t ds, std::size_t dt, T s_scale, T t_scale,
                         T alpha, const T* sa, const T* sb, const T* ta, const T* tb, bool same, T* loss, T* ga,
                         T* gb) {
    using namespace cpu_detail;
    const std::size_t rows = blocks * n, nn = n * n;
    const bool grad = ga != nullptr;
    const T c = alpha / T(rows);  // dL/dz for the row's seed, per value of (softmax · sum(t) - t)
    double* partial = thread_buffer<double, scratch::relation_loss>(blocks);  // the caller's, passed in
    const small_gemm<T> teacher(false, true, n, n, dt, alpha * t_scale, dt, dt, T(0), n);
    const small_gemm<T> student(false, true, n, n, ds, alpha * s_scale, ds, ds, T(0), n);
    const small_gemm<T> grad_a(false, false, n, ds, n, s_scale, n, ds, T(0), ds);
    const small_gemm<T> grad_b(true, false, n, ds, n, s_scale, n, ds, same ? T(1) : T(0), ds);
#pragma omp parallel for schedule(static) if (blocks > 1)
    for (std::ptrdiff_t i = 0; i < std::ptrdiff_t(blocks); ++i) {
        T* pt = thread_buffer<T, scratch::attention_probs>(nn);
        T* ps = thread_buffer<T, scratch::attention_grad>(nn);
        const std::size_t b = std::size_t(i);
        const T *a_s = sa + b * n * ds, *b_s = sb + b * n * ds;
        teacher(ta + b * n * dt, tb + b * n * dt, pt);
        student(a_s, b_s, ps);
        double acc = 0;
        for (std::size_t r = 0; r < n; ++r) {
            const T tlogt = cpu_relation_detail::teacher_row(n, pt + r * n);
            acc += double(tlogt) + double(cpu_relation_detail::student_row(n, ps + r * n, pt + r * n, grad, c));
        }
        partial[b] = acc;
        if (!grad) continue;
        // ps holds dL/dz; z = s_scale · A Bᵀ: dA = s_scale · dZ B, dB = s_scale · dZᵀ A.
        T* da = ga + b * n * ds;
        grad_a(ps, b_s, da);
        grad_b(ps, a_s, same ? da : gb + b * n * ds);
    }
    double total = 0;
    for (std::size_t b = 0; b < blocks; ++b) total += partial[b];
    loss[0] = T(total / double(rows));
}

}  // namespace tinymim::backends
