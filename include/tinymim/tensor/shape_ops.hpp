// Shape arithmetic at compile time: replace/insert/remove extents, split and merge heads, matmul.
// Every derivation is a consteval computation over std::array, never a recursive template.
#pragma once

#include <array>
#include <cstddef>
#include <type_traits>
#include <utility>

#include "tinymim/core/shape.hpp"  // shape, dyn

namespace tinymim::shape_ops {

namespace detail {
template <auto Arr, class Seq>
struct from_array;
template <auto Arr, std::size_t... I>
struct from_array<Arr, std::index_sequence<I...>> {
    using type = shape<Arr[I]...>;
};
}  // namespace detail

// shape<...> from a constexpr std::array of extents.
template <auto Arr>
using from_array_t = typename detail::from_array<Arr, std::make_index_sequence<Arr.size()>>::type;

// Extent I of S replaced by N.
template <class S, std::size_t I, std::size_t N>
consteval auto set_extent_arr() {
    static_assert(I < S::rank, "set_extent: axis out of range");
    auto a = S::static_extents;
    a[I] = N;
    return a;
}
template <class S, std::size_t I, std::size_t N>
using set_extent_t = from_array_t<set_extent_arr<S, I, N>()>;

// Last extent replaced by N (a linear layer's output shape).
template <class S, std::size_t N>
using replace_last_t = set_extent_t<S, S::rank - 1, N>;

// Axis I removed (a reduction over that axis).
template <class S, std::size_t I>
consteval auto remove_axis_arr() {
    static_assert(I < S::rank, "remove_axis: axis out of range");
    std::array<std::size_t, S::rank - 1> a{};
    for (std::size_t i = 0, k = 0; i < S::rank; ++i)
        if (i != I) a[k++] = S::static_extents[i];
    return a;
}
template <class S, std::size_t I>
using remove_axis_t = from_array_t<remove_axis_arr<S, I>()>;

// [B, N, D] -> [B, H, N, D/H]: the head split of attention.
template <class S, std::size_t H>
consteval auto split_heads_arr() {
    static_assert(S::rank == 3, "split_heads: expects tokens of shape [batch, tokens, width]");
    static_assert(H > 0 && S::static_extents[2] != dyn && S::static_extents[2] % H == 0,
                  "split_heads: the width must be a static multiple of the head count");
    return std::array<std::size_t, 4>{S::static_extents[0], H, S::static_extents[1], S::static_extents[2] / H};
}
template <class S, std::size_t H>
using split_heads_t = from_array_t<split_heads_arr<S, H>()>;

// [B, H, N, d] -> [B, N, H*d].
template <class S>
consteval auto merge_heads_arr() {
    static_assert(S::rank == 4, "merge_heads: expects [batch, heads, tokens, head_dim]");
    return std::array<std::size_t, 3>{S::static_extents[0], S::static_extents[2],
                                      S::static_extents[1] * S::static_extents[3]};
}
template <class S>
using merge_heads_t = from_array_t<merge_heads_arr<S>()>;

// Shape of op(A) · op(B) for batched matrices [..., M, K] x [..., K, N]. B may be rank 2 (shared).
template <class A, class B, bool TA, bool TB>
consteval auto matmul_arr() {
    constexpr std::size_t ra = A::rank, rb = B::rank;
    static_assert(ra >= 2 && rb >= 2, "matmul: both operands need at least two axes");
    static_assert(rb == 2 || rb == ra, "matmul: B must be a matrix or have A's rank (a batch of matrices)");
    auto a = A::static_extents;
    auto b = B::static_extents;
    std::array<std::size_t, ra> out = a;
    out[ra - 2] = TA ? a[ra - 1] : a[ra - 2];
    out[ra - 1] = TB ? b[rb - 2] : b[rb - 1];
    return out;
}
template <class A, class B, bool TA, bool TB>
using matmul_t = from_array_t<matmul_arr<A, B, TA, TB>()>;

// The inner (contracted) extents of op(A) and op(B).
template <class A, bool TA>
inline constexpr std::size_t inner_a = TA ? A::static_extents[A::rank - 2] : A::static_extents[A::rank - 1];
template <class B, bool TB>
inline constexpr std::size_t inner_b = TB ? B::static_extents[B::rank - 1] : B::static_extents[B::rank - 2];

// Trailing shape Suffix of S (broadcast right-aligned).
template <class S, class Suffix>
consteval bool is_suffix_of() {
    if constexpr (Suffix::rank > S::rank) {
        return false;
    } else {
        constexpr std::size_t off = S::rank - Suffix::rank;
        for (std::size_t i = 0; i < Suffix::rank; ++i)
            if (!extents_compatible(S::static_extents[off + i], Suffix::static_extents[i])) return false;
        return true;
    }
}

// Whether Perm reorders the axes 0 .. Rank-1, each once.
template <std::size_t Rank, std::size_t... Perm>
consteval bool is_permutation() {
    if (sizeof...(Perm) != Rank) return false;
    constexpr std::array<std::size_t, sizeof...(Perm)> p{Perm...};
    std::array<bool, Rank> seen{};
    for (std::size_t a : p) {
        if (a >= Rank || seen[a]) return false;
        seen[a] = true;
    }
    return true;
}

// Axes reordered: result axis i is S's axis Perm[i] (Perm must be a permutation of 0..rank-1).
template <class S, std::size_t... Perm>
consteval auto permute_arr() {
    static_assert(sizeof...(Perm) == S::rank, "permute: give one axis index per axis of the shape");
    static_assert(is_permutation<S::rank, Perm...>(), "permute: the axes must be a permutation of 0 .. rank-1");
    std::array<std::size_t, S::rank> out{};
    if constexpr (is_permutation<S::rank, Perm...>()) {
        constexpr std::array<std::size_t, S::rank> p{Perm...};
        for (std::size_t i = 0; i < S::rank; ++i) out[i] = S::static_extents[p[i]];
    }
    return out;
}
template <class S, std::size_t... Perm>
using permute_t = from_array_t<permute_arr<S, Perm...>()>;

// A reshape of S to To: allowed when both are static and hold the same number of values, or when a
// dyn extent leaves it to the run-time check of var::view_as.
template <class S, class To>
consteval bool reshapeable() {
    if constexpr (S::is_static && To::is_static)
        return S::static_product() == To::static_product();
    else
        return true;
}
template <class S, class To>
using reshape_t = std::enable_if_t<reshapeable<S, To>(), To>;

// Axis 1 of a [B, N, ...] shape set to N (token count change: slicing, concatenation, gathering).
template <class S, std::size_t N>
using with_tokens_t = set_extent_t<S, 1, N>;

// NumPy broadcasting: the shapes right-aligned, a missing axis taken as 1; per axis, equal extents
// stay, a 1 takes the other's extent, a dyn beside a static N > 1 is N (the run time checks the rest).
template <class SA, class SB>
consteval bool numpy_broadcastable() {
    constexpr std::size_t r = SA::rank > SB::rank ? SA::rank : SB::rank;
    for (std::size_t i = 0; i < r; ++i) {
        const std::size_t a = i < SA::rank ? SA::static_extents[SA::rank - 1 - i] : 1;
        const std::size_t b = i < SB::rank ? SB::static_extents[SB::rank - 1 - i] : 1;
        if (a != b && a != 1 && b != 1 && a != dyn && b != dyn) return false;
    }
    return true;
}
template <class SA, class SB>
consteval auto broadcast_arr() {
    constexpr std::size_t r = SA::rank > SB::rank ? SA::rank : SB::rank;
    std::array<std::size_t, r> out{};
    for (std::size_t i = 0; i < r; ++i) {
        const std::size_t a = i < SA::rank ? SA::static_extents[SA::rank - 1 - i] : 1;
        const std::size_t b = i < SB::rank ? SB::static_extents[SB::rank - 1 - i] : 1;
        std::size_t e = a;
        if (a == 1)
            e = b;
        else if (b == 1)
            e = a;
        else if (a == dyn)
            e = b;
        out[r - 1 - i] = e;
    }
    return out;
}
template <class SA, class SB>
using broadcast_t = from_array_t<broadcast_arr<SA, SB>()>;

// Two shapes joined along axis I: every other extent compatible, axis I the sum (dyn if either is).
template <class SA, class SB, std::size_t I>
consteval bool concatenable() {
    if constexpr (SA::rank != SB::rank || I >= SA::rank) {
        return false;
    } else {
        for (std::size_t i = 0; i < SA::rank; ++i)
            if (i != I && !extents_compatible(SA::static_extents[i], SB::static_extents[i])) return false;
        return true;
    }
}
template <class SA, class SB, std::size_t I>
consteval auto concat_arr() {
    std::array<std::size_t, SA::rank> out{};
    for (std::size_t i = 0; i < SA::rank; ++i)
        out[i] = SA::static_extents[i] == dyn ? SB::static_extents[i] : SA::static_extents[i];
    const std::size_t a = SA::static_extents[I], b = SB::static_extents[I];
    out[I] = a == dyn || b == dyn ? dyn : a + b;
    return out;
}
template <class SA, class SB, std::size_t I>
using concat_t = from_array_t<concat_arr<SA, SB, I>()>;

// A new axis of extent N inserted before axis I (I == rank appends it).
template <class S, std::size_t I, std::size_t N>
consteval auto insert_axis_arr() {
    static_assert(I <= S::rank, "insert_axis: the position is beyond the rank");
    std::array<std::size_t, S::rank + 1> a{};
    for (std::size_t i = 0, k = 0; i <= S::rank; ++i) a[i] = i == I ? N : S::static_extents[k++];
    return a;
}
template <class S, std::size_t I, std::size_t N>
using insert_axis_t = from_array_t<insert_axis_arr<S, I, N>()>;

}  // namespace tinymim::shape_ops
