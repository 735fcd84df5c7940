// pairing<Teacher, Student, Targets, Loss, TeacherTap, StudentTap, Input>: one teacher-student
// distillation setting as a type. The compiler checks that it makes sense.
#pragma once

#include <cstddef>
#include <tuple>
#include <type_traits>

#include "tinymim/distill/concepts.hpp"
#include "tinymim/distill/losses.hpp"
#include "tinymim/distill/targets.hpp"
#include "tinymim/nn/vit.hpp"

namespace tinymim::distill {

// Taps, 1-based as the paper: teacher block K, student block J.
template <std::size_t K>
struct teacher_block {
    static_assert(K >= 1, "teacher_block<K>: blocks are numbered from 1, as in the paper");
    static constexpr std::size_t index = K;
};
template <std::size_t J>
struct student_block {
    static_assert(J >= 1, "student_block<J>: blocks are numbered from 1, as in the paper");
    static constexpr std::size_t index = J;
};
// The last block of a model (the paper's default for the student, and for ViT-B/S teachers).
struct last_block {};

// Input policies. raw_input: both models see the (augmented) images; masked_input: an MAE-style random
// mask removes the same patches for both (relations need the same tokens on both sides).
struct raw_input {
    static constexpr bool masked = false;
    static constexpr const char* name = "raw";
};
struct masked_input {
    static constexpr bool masked = true;
    static constexpr const char* name = "masked";
};

// A (target, loss) term; its weight is a run-time value of the distiller (default 1).
template <target_policy Target, loss_policy Loss>
struct term {
    using target_type = Target;
    using loss_type = Loss;
    static_assert(!Loss::needs_distribution || Target::distribution,
                  "term: this loss compares distributions (softmax inside), but the target does not yield logits "
                  "of a distribution; use mse, smooth_l1 or cosine, or a relation / cls target");
};

// Several targets sharing the pairing's loss: relations<qk, vv> is TinyMIM's default.
template <target_policy... Targets>
struct targets {
    static_assert(sizeof...(Targets) > 0, "targets<...>: name at least one target");
};
template <target_policy... Targets>
using relations = targets<Targets...>;

// Several terms, each with its own loss (pass `per_term` as the pairing's loss).
template <class... Terms>
struct terms {};
struct per_term {};

namespace detail {
template <class Targets, class Loss>
struct term_list;
template <class... Ts, class Loss>
struct term_list<targets<Ts...>, Loss> {
    using type = std::tuple<term<Ts, Loss>...>;
};
template <class... Terms>
struct term_list<terms<Terms...>, per_term> {
    using type = std::tuple<Terms...>;
};
template <target_policy T, class Loss>
struct term_list<T, Loss> {
    using type = std::tuple<term<T, Loss>>;
};

template <class Tap, std::size_t Depth>
consteval std::size_t tap_index() {
    if constexpr (std::is_same_v<Tap, last_block>)
        return Depth;
    else
        return Tap::index;
}

template <class Tuple>
struct any_relation;
template <class... X>
struct any_relation<std::tuple<X...>> {
    static constexpr bool value = ((X::target_type::kind == target_kind::relation) || ...);
};
template <class Tuple>
struct all_qkv_only;
template <class... X>
struct all_qkv_only<std::tuple<X...>> {
    static constexpr bool value = (X::target_type::qkv_only && ...);
};

template <class M>
inline constexpr bool is_vit_v = false;
template <nn::vit_config C, class B, class T, class P>
inline constexpr bool is_vit_v<nn::vit<C, B, T, P>> = true;
}  // namespace detail

// A Vision Transformer type of this library (what a pairing distils from and into).
template <class M>
concept vision_transformer = detail::is_vit_v<M>;

template <vision_transformer Teacher, vision_transformer Student, class Targets, class Loss,
          class TeacherTap = last_block, class StudentTap = last_block, class Input = raw_input>
struct pairing {
    using teacher_type = Teacher;
    using student_type = Student;
    using terms_type = typename detail::term_list<Targets, Loss>::type;
    using input_policy = Input;
    using value_type = typename Student::value_type;
    using backend_type = typename Student::backend_type;
    static constexpr std::size_t n_terms = std::tuple_size_v<terms_type>;
    static constexpr std::size_t teacher_tap = detail::tap_index<TeacherTap, Teacher::depth>();
    static constexpr std::size_t student_tap = detail::tap_index<StudentTap, Student::depth>();
    static constexpr nn::vit_config tc = Teacher::config, sc = Student::config;

    static constexpr bool has_relation = detail::any_relation<terms_type>::value;
    static constexpr bool qkv_only = detail::all_qkv_only<terms_type>::value;

    static_assert(std::is_same_v<typename Teacher::backend_type, typename Student::backend_type> &&
                      std::is_same_v<typename Teacher::value_type, typename Student::value_type>,
                  "pairing: teacher and student must live on one backend with one element type");
    static_assert(teacher_tap >= 1 && teacher_tap <= tc.depth,
                  "pairing: teacher_block<K> is past the teacher's last block");
    static_assert(student_tap >= 1 && student_tap <= sc.depth,
                  "pairing: student_block<J> is past the student's last block");
    static_assert(tc.image == sc.image && tc.patch == sc.patch && tc.channels == sc.channels &&
                      tc.class_token == sc.class_token,
                  "pairing: teacher and student must see the same tokens: equal image size, patch size, channels and "
                  "class token");
    // The adaptive block: relation targets need equal head counts, so the student's tapped block runs
    // with the teacher's head count over its own width.
    static_assert(!has_relation || sc.dim % tc.heads == 0,
                  "pairing: relation targets need the student's tapped block to use the teacher's head count (the "
                  "adaptive block), but the student's width is not divisible by the teacher's heads; pick a student "
                  "width that is a multiple of the teacher's head count, or a teacher with fewer heads");
    static constexpr std::size_t relation_heads = tc.heads;
};

}  // namespace tinymim::distill
