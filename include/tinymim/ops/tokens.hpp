// Token operations of a ViT and of MAE: concatenate along tokens (prepend a CLS token, append mask
// tokens, each possibly shared by the batch), slice tokens, per-sample gather (masking) and
// patchify / unpatchify.
#pragma once

#include <cstddef>
#include <cstdint>

#include "tinymim/autograd/var.hpp"
#include "tinymim/backend/kernels.hpp"
#include "tinymim/tensor/shape_ops.hpp"

namespace tinymim::ops {

// [Ba, Na, D] ++ [Bb, Nb, D] -> [B, Na+Nb, D] along tokens. A side with batch extent 1 is shared by
// every sample of the other (a cls_token [1, 1, D], a mask_token [1, 1, D]).
template <element T, class SA, class SB, backend B>
[[nodiscard]] auto concat_tokens(const var<T, SA, B>& a, const var<T, SB, B>& b) {
    static_assert(SA::rank == 3 && SB::rank == 3, "concat_tokens: expects tokens [batch, tokens, width] on both sides");
    static_assert(extents_compatible(SA::static_extents[2], SB::static_extents[2]),
                  "concat_tokens: the two sides have different widths");
    constexpr std::size_t na_s = SA::static_extents[1], nb_s = SB::static_extents[1];
    constexpr std::size_t n_s = (na_s == dyn || nb_s == dyn) ? dyn : na_s + nb_s;
    constexpr std::size_t b_s = SA::static_extents[0] == 1 ? SB::static_extents[0] : SA::static_extents[0];
    using SY = shape<b_s, n_s, SA::static_extents[2]>;
    const std::size_t ba = a.extent(0), bb = b.extent(0), na = a.extent(1), nb = b.extent(1), d = a.extent(2);
    TINYMIM_CHECK(d == b.extent(2), "concat_tokens: widths differ: ", a.shape().str(), " and ", b.shape().str());
    TINYMIM_CHECK(ba == bb || ba == 1 || bb == 1, "concat_tokens: batch extents differ: ", a.shape().str(), " and ",
                  b.shape().str());
    const std::size_t batch = ba == 1 ? bb : ba, n = na + nb;
    const bool a_bc = ba == 1 && batch > 1, b_bc = bb == 1 && batch > 1;
    auto y = make_output<T>(a.get_tape(), extents<SY>({batch, n, d}), a.requires_grad() || b.requires_grad());
    backends::copy_tokens(B{}, batch, na, d, a.data(), na, 0, a_bc, y.data(), n, 0, false);
    backends::copy_tokens(B{}, batch, nb, d, b.data(), nb, 0, b_bc, y.data(), n, na, false);
    if (y.requires_grad()) {
        auto *sa = a.get_slot(), *sb = b.get_slot(), *sy = y.get_slot();
        a.get_tape().record(sy, [=](tape<B>& t) {
            const T* g = sy->grad();
            if (sa->requires_grad) {
                if (a_bc)
                    backends::reduce_tokens_acc(B{}, batch, na, d, g, n, 0, t.grad(sa));
                else
                    backends::copy_tokens(B{}, batch, na, d, g, n, 0, false, t.grad(sa), na, 0, true);
            }
            if (sb->requires_grad) {
                if (b_bc)
                    backends::reduce_tokens_acc(B{}, batch, nb, d, g, n, na, t.grad(sb));
                else
                    backends::copy_tokens(B{}, batch, nb, d, g, n, na, false, t.grad(sb), nb, 0, true);
            }
        });
    }
    return y;
}

// Tokens [Begin, Begin + Count) of every sample: [B, N, D] -> [B, Count, D] (Count = dyn: to the end).
template <std::size_t Begin, std::size_t Count = dyn, element T, class S, backend B>
[[nodiscard]] auto slice_tokens(const var<T, S, B>& x) {
    static_assert(S::rank == 3, "slice_tokens: expects tokens [batch, tokens, width]");
    constexpr std::size_t ns = S::static_extents[1];
    static_assert(ns == dyn || Begin + (Count == dyn ? 0 : Count) <= ns,
                  "slice_tokens: the slice runs past the tokens");
    constexpr std::size_t cs = Count != dyn ? Count : (ns == dyn ? dyn : ns - Begin);
    using SY = shape_ops::with_tokens_t<S, cs>;
    const std::size_t batch = x.extent(0), n = x.extent(1), d = x.extent(2);
    const std::size_t count = Count != dyn ? Count : n - Begin;
    TINYMIM_CHECK(Begin + count <= n, "slice_tokens: tokens [", Begin, ", ", Begin + count, ") of ", x.shape().str());
    auto y = make_output<T>(x.get_tape(), extents<SY>({batch, count, d}), x.requires_grad());
    backends::copy_tokens(B{}, batch, count, d, x.data(), n, Begin, false, y.data(), count, 0, false);
    if (y.requires_grad()) {
        auto *sx = x.get_slot(), *sy = y.get_slot();
        x.get_tape().record(sy, [=](tape<B>& t) {
            backends::copy_tokens(B{}, batch, count, d, static_cast<const T*>(sy->grad()), count, 0, false, t.grad(sx),
                                  n, Begin, true);
        });
    }
    return y;
}

// Per-sample gather: y[b, i, :] = x[b, idx[b, i], :]. idx: [B, K] int32 in [0, N), on the same
// backend; it must outlive the step. Its gradient scatters back (adding where indices repeat).
template <element T, class S, class SI, backend B>
[[nodiscard]] auto gather_tokens(const var<T, S, B>& x, const tensor<std::int32_t, SI, B>& idx) {
    static_assert(S::rank == 3 && SI::rank == 2,
                  "gather_tokens: expects x [batch, tokens, width] and idx [batch, count]");
    using SY = shape_ops::with_tokens_t<S, SI::static_extents[1]>;
    const std::size_t batch = x.extent(0), n = x.extent(1), d = x.extent(2), k = idx.extent(1);
    TINYMIM_CHECK(idx.extent(0) == batch, "gather_tokens: idx ", idx.shape().str(), " does not match x ",
                  x.shape().str());
    if constexpr (B::host_memory) {  // indices checked where the host can read them
        for (std::size_t i = 0; i < idx.size(); ++i)
            TINYMIM_CHECK(idx[i] >= 0 && std::size_t(idx[i]) < n, "gather_tokens: index ", idx[i], " at position ", i,
                          " is outside [0, ", n, ")");
    }
    auto y = make_output<T>(x.get_tape(), extents<SY>({batch, k, d}), x.requires_grad());
    const std::int32_t* ip = idx.data();
    backends::gather_tokens(B{}, batch, n, k, d, ip, x.data(), y.data());
    if (y.requires_grad()) {
        auto *sx = x.get_slot(), *sy = y.get_slot();
        x.get_tape().record(sy, [=](tape<B>& t) {
            backends::scatter_tokens_acc(B{}, batch, n, k, d, ip, static_cast<const T*>(sy->grad()), t.grad(sx));
        });
    }
    return y;
}

// x [1, 1, D] repeated as [batch, count, D] (MAE's mask tokens); the gradient sums the copies.
template <element T, class S, backend B>
[[nodiscard]] auto expand_tokens(const var<T, S, B>& x, std::size_t batch, std::size_t count) {
    static_assert(
        S::rank == 3 && extents_compatible(S::static_extents[0], 1) && extents_compatible(S::static_extents[1], 1),
        "expand_tokens: expects one token [1, 1, width]");
    using SY = shape<dyn, dyn, S::static_extents[2]>;
    const std::size_t d = x.extent(2);
    TINYMIM_CHECK(x.extent(0) == 1 && x.extent(1) == 1, "expand_tokens: expects [1, 1, D], found ", x.shape().str());
    auto y = make_output<T>(x.get_tape(), extents<SY>({batch, count, d}), x.requires_grad());
    backends::repeat_rows(B{}, batch * count, d, x.data(), y.data());
    if (y.requires_grad()) {
        auto *sx = x.get_slot(), *sy = y.get_slot();
        x.get_tape().record(sy, [=](tape<B>& t) {
            backends::reduce_rows_acc(B{}, batch * count * d, d, T(1), static_cast<const T*>(sy->grad()),
                                      static_cast<const T*>(nullptr), t.grad(sx));
        });
    }
    return y;
}

// The order of the values inside a patch vector.
enum class patch_order {
    channel_first,  // (c, ky, kx): Conv2d patch embedding weights viewed as [D, C·p·p]
    channel_last    // (ky, kx, c): MAE's pixel reconstruction target
};

// Images [B, C, H, W] -> patches [B, (H/P)(W/P), C·P·P], patches in row-major grid order.
template <std::size_t P, patch_order Order = patch_order::channel_first, element T, class S, backend B>
[[nodiscard]] auto patchify(const var<T, S, B>& img) {
    static_assert(S::rank == 4, "patchify: expects images [batch, channels, height, width]");
    constexpr std::size_t C = S::static_extents[1], H = S::static_extents[2], W = S::static_extents[3];
    static_assert(C != dyn && H != dyn && W != dyn, "patchify: channels, height and width must be static");
    static_assert(H % P == 0 && W % P == 0, "patchify: the image size must be a multiple of the patch size");
    using SY = shape<S::static_extents[0], (H / P) * (W / P), C * P * P>;
    const std::size_t batch = img.extent(0);
    auto y = make_output<T>(img.get_tape(), extents<SY>({batch, (H / P) * (W / P), C * P * P}), img.requires_grad());
    constexpr bool cl = Order == patch_order::channel_last;
    backends::patchify(B{}, batch, C, H, W, P, cl, img.data(), y.data(), true, false);
    if (y.requires_grad()) {
        auto *sx = img.get_slot(), *sy = y.get_slot();
        img.get_tape().record(sy, [=](tape<B>& t) {
            backends::patchify(B{}, batch, C, H, W, P, cl, static_cast<const T*>(sy->grad()), t.grad(sx), false, true);
        });
    }
    return y;
}

// Patches [B, L, C·P·P] -> images [B, C, H, W] (the inverse of patchify with the same order).
template <std::size_t C, std::size_t H, std::size_t W, std::size_t P, patch_order Order = patch_order::channel_first,
          element T, class S, backend B>
[[nodiscard]] auto unpatchify(const var<T, S, B>& patches) {
    static_assert(S::rank == 3, "unpatchify: expects patches [batch, patches, values]");
    static_assert(H % P == 0 && W % P == 0, "unpatchify: the image size must be a multiple of the patch size");
    static_assert(extents_compatible(S::static_extents[1], (H / P) * (W / P)) &&
                      extents_compatible(S::static_extents[2], C * P * P),
                  "unpatchify: the patch grid or patch length does not match the image size");
    using SY = shape<S::static_extents[0], C, H, W>;
    const std::size_t batch = patches.extent(0);
    TINYMIM_CHECK(patches.extent(1) == (H / P) * (W / P) && patches.extent(2) == C * P * P, "unpatchify: patches ",
                  patches.shape().str(), " do not make images of ", C, "x", H, "x", W, " with patch ", P);
    auto y = make_output<T>(patches.get_tape(), extents<SY>({batch, C, H, W}), patches.requires_grad());
    constexpr bool cl = Order == patch_order::channel_last;
    backends::patchify(B{}, batch, C, H, W, P, cl, patches.data(), y.data(), false, false);
    if (y.requires_grad()) {
        auto *sx = patches.get_slot(), *sy = y.get_slot();
        patches.get_tape().record(sy, [=](tape<B>& t) {
            backends::patchify(B{}, batch, C, H, W, P, cl, static_cast<const T*>(sy->grad()), t.grad(sx), true, true);
        });
    }
    return y;
}

}  // namespace tinymim::ops
