// shape<E...> (compile-time extents with a dyn sentinel) and extents<S> (the run-time values).
#pragma once

#include <array>    // static extent tables
#include <cstddef>  // std::size_t
#include <string>   // to_string for messages
#include <utility>  // index_sequence

#include "tinymim/core/error.hpp"  // TINYMIM_CHECK

namespace tinymim {

// An extent not known at compile time (the batch, usually).
inline constexpr std::size_t dyn = static_cast<std::size_t>(-1);

// A tensor shape: static rank, each extent a number or dyn. Modelled on std::extents.
template <std::size_t... E>
struct shape {
    static constexpr std::size_t rank = sizeof...(E);
    static constexpr std::array<std::size_t, rank> static_extents{E...};
    static constexpr std::size_t num_dyn = ((E == dyn ? 1u : 0u) + ... + 0u);
    static constexpr bool is_static = num_dyn == 0;

    // Index among the dynamic extents of extent i (only meaningful when extent i is dyn).
    static consteval std::size_t dyn_index(std::size_t i) {
        std::size_t k = 0;
        for (std::size_t j = 0; j < i; ++j) k += static_extents[j] == dyn ? 1 : 0;
        return k;
    }
    // Product of the static extents (dyn counted as 1).
    static consteval std::size_t static_product() {
        std::size_t p = 1;
        for (std::size_t e : static_extents) p *= e == dyn ? 1 : e;
        return p;
    }
};

template <class S>
inline constexpr bool is_shape_v = false;
template <std::size_t... E>
inline constexpr bool is_shape_v<shape<E...>> = true;

// The run-time extents of a shape: static ones cost no storage, dynamic ones are stored.
template <class S>
class extents {
    static_assert(is_shape_v<S>, "extents<S>: S must be a tinymim::shape<...>");

public:
    using shape_type = S;
    static constexpr std::size_t rank = S::rank;

    constexpr extents() = default;
    // Construct from the full list of extents (static ones are checked against the shape).
    explicit extents(const std::array<std::size_t, rank>& all) {
        for (std::size_t i = 0; i < rank; ++i) {
            if (S::static_extents[i] == dyn) {
                dyn_[dyn_slot(i)] = all[i];
            } else {
                TINYMIM_CHECK(all[i] == S::static_extents[i], "shape mismatch: extent ", i, " must be ",
                              S::static_extents[i], ", found ", all[i], " (shape ", to_string(all), ")");
            }
        }
    }

    [[nodiscard]] constexpr std::size_t operator[](std::size_t i) const {
        return S::static_extents[i] == dyn ? dyn_[dyn_slot(i)] : S::static_extents[i];
    }
    [[nodiscard]] constexpr std::size_t size() const {
        std::size_t p = 1;
        for (std::size_t i = 0; i < rank; ++i) p *= (*this)[i];
        return p;
    }
    [[nodiscard]] std::array<std::size_t, rank> all() const {
        std::array<std::size_t, rank> a{};
        for (std::size_t i = 0; i < rank; ++i) a[i] = (*this)[i];
        return a;
    }
    [[nodiscard]] std::string str() const { return to_string(all()); }

    template <std::size_t N>
    static std::string to_string(const std::array<std::size_t, N>& a) {
        std::string s = "[";
        for (std::size_t i = 0; i < N; ++i) s += (i ? ", " : "") + std::to_string(a[i]);
        return s + "]";
    }

    friend bool operator==(const extents& a, const extents& b) { return a.dyn_ == b.dyn_; }

private:
    static constexpr std::size_t dyn_slot(std::size_t i) {
        std::size_t k = 0;
        for (std::size_t j = 0; j < i; ++j) k += S::static_extents[j] == dyn ? 1 : 0;
        return k;
    }
    std::array<std::size_t, S::num_dyn> dyn_{};
};

// Two extents can describe the same axis when equal or when either is dynamic.
consteval bool extents_compatible(std::size_t a, std::size_t b) { return a == b || a == dyn || b == dyn; }

// Two shapes can describe the same tensor: same rank, pairwise compatible extents.
template <class A, class B>
consteval bool shapes_compatible() {
    if constexpr (A::rank != B::rank) {
        return false;
    } else {
        for (std::size_t i = 0; i < A::rank; ++i)
            if (!extents_compatible(A::static_extents[i], B::static_extents[i])) return false;
        return true;
    }
}

// The shape that keeps the more static of two compatible extents.
template <class A, class B>
struct common_shape;
template <std::size_t... EA, std::size_t... EB>
struct common_shape<shape<EA...>, shape<EB...>> {
    using type = shape<(EA == dyn ? EB : EA)...>;
};
template <class A, class B>
using common_shape_t = typename common_shape<A, B>::type;

}  // namespace tinymim
