// A counter-based random generator: value i of stream s under seed k is a pure function of (k, s, i),
// so runs are reproducible on any backend and any thread count, and a checkpoint stores three integers.
#pragma once

#include <cmath>
#include <cstdint>

namespace tinymim {

class counter_rng {
public:
    constexpr counter_rng() = default;
    constexpr explicit counter_rng(std::uint64_t seed, std::uint64_t stream = 0) : seed_(seed), stream_(stream) {}

    // The i-th 64-bit value of this stream (two rounds of the SplitMix64 finaliser over the key).
    [[nodiscard]] constexpr std::uint64_t bits(std::uint64_t i) const {
        return mix(mix(seed_ ^ (stream_ * 0xD1B54A32D192ED03ULL)) ^
                   (i * 0x9E3779B97F4A7C15ULL + 0x632BE59BD9B4E019ULL));
    }
    // Uniform in [0, 1) with 53 (double) or 24 (float) random bits.
    [[nodiscard]] constexpr double uniform(std::uint64_t i) const { return double(bits(i) >> 11) * 0x1.0p-53; }
    [[nodiscard]] constexpr float uniform_float(std::uint64_t i) const { return float(bits(i) >> 40) * 0x1.0p-24f; }
    // Standard normal (Box-Muller over values 2i and 2i+1).
    [[nodiscard]] double normal(std::uint64_t i) const {
        const double u1 = 1.0 - uniform(2 * i), u2 = uniform(2 * i + 1);
        return std::sqrt(-2.0 * std::log(u1)) * std::cos(6.283185307179586476925 * u2);
    }

    // The next draw from a sequential view of the stream.
    [[nodiscard]] constexpr std::uint64_t next_bits() { return bits(counter_++); }
    [[nodiscard]] constexpr double next_uniform() { return uniform(counter_++); }
    [[nodiscard]] double next_normal() { return normal(counter_++); }

    // A derived, independent stream (for a sub-component: one per layer, one per step, ...); it keeps the
    // first sample below.
    [[nodiscard]] constexpr counter_rng fork(std::uint64_t sub) const {
        counter_rng r(bits(0xF0F0F0F0ULL + sub), stream_ + 1);
        r.first_sample_ = first_sample_;
        return r;
    }
    // The same stream for a slice of a batch that starts at sample `first` (a data-parallel rank's): the
    // draws made per sample (drop path, MAE masks) key on first_sample() + the sample's index in the slice,
    // so the slices draw what the whole batch draws.
    [[nodiscard]] constexpr counter_rng from_sample(std::uint64_t first) const {
        counter_rng r = *this;
        r.first_sample_ = first;
        return r;
    }
    [[nodiscard]] constexpr std::uint64_t first_sample() const { return first_sample_; }

    [[nodiscard]] constexpr std::uint64_t seed() const { return seed_; }
    [[nodiscard]] constexpr std::uint64_t stream() const { return stream_; }
    [[nodiscard]] constexpr std::uint64_t counter() const { return counter_; }
    constexpr void set_counter(std::uint64_t c) { counter_ = c; }

private:
    static constexpr std::uint64_t mix(std::uint64_t z) {
        z += 0x9E3779B97F4A7C15ULL;
        z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
        z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
        return z ^ (z >> 31);
    }
    std::uint64_t seed_ = 0, stream_ = 0, counter_ = 0;
    std::uint64_t first_sample_ = 0;
};

}  // namespace tinymim
