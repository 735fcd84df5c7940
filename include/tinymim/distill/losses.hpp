// Distillation losses: how a student representation is compared with the teacher's. A loss maps
// (student var, teacher var) of one shape to a scalar var. Parameters are run-time members.
#pragma once

#include <type_traits>

#include "tinymim/fused/relation_kl.hpp"
#include "tinymim/ops/losses.hpp"
#include "tinymim/ops/softmax.hpp"

namespace tinymim::distill {

// KL(teacher || student) over the last axis: teacher probabilities softmax(t / tau), student
// log-probabilities log_softmax(s / tau). No temperature by default (tau = 1), as TinyMIM.
struct kl_divergence {
    static constexpr bool needs_distribution = true;
    static constexpr const char* name = "kl";
    double temperature = 1.0;
    template <class VS, class VT>
    [[nodiscard]] auto operator()(const VS& student, const VT& teacher) const {
        using T = typename VS::value_type;
        return ops::kl_divergence(ops::softmax(teacher, T(1.0 / temperature)), student, T(temperature));
    }
    // The same loss on relations given by their operands (a relation target's operands(trace)): the
    // distiller calls this instead of building both relations, and the CPU runs it in cache.
    template <class SO, class TO>
    [[nodiscard]] auto relation(const SO& student, const TO& teacher) const {
        using T = typename std::remove_cvref_t<decltype(student.a)>::value_type;
        return fused::relation_kl(student.a, student.b, student.scale, teacher.a, teacher.b, teacher.scale,
                                  T(temperature));
    }
};

// Smooth-L1 with beta (the paper's feature loss: beta = 2).
struct smooth_l1 {
    static constexpr bool needs_distribution = false;
    static constexpr const char* name = "smooth_l1";
    double beta = 2.0;
    template <class VS, class VT>
    [[nodiscard]] auto operator()(const VS& student, const VT& teacher) const {
        using T = typename VS::value_type;
        return ops::smooth_l1(student, teacher, T(beta));
    }
};

struct mse {
    static constexpr bool needs_distribution = false;
    static constexpr const char* name = "mse";
    template <class VS, class VT>
    [[nodiscard]] auto operator()(const VS& student, const VT& teacher) const {
        return ops::mse(student, teacher);
    }
};

// 1 - cosine similarity along the last axis, averaged.
struct cosine {
    static constexpr bool needs_distribution = false;
    static constexpr const char* name = "cosine";
    template <class VS, class VT>
    [[nodiscard]] auto operator()(const VS& student, const VT& teacher) const {
        return ops::cosine(student, teacher);
    }
};

}  // namespace tinymim::distill
