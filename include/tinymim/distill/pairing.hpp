// pairing<Teacher, Student, Targets, Loss, TeacherTap, StudentTap, Input>: one teacher-student
// distillation setting as a type. The compiler checks that it makes sense. Each term may tap its own
// (teacher block, student block) pair; the pairing's taps are the default.
#pragma once

#include <array>
#include <cstddef>
#include <tuple>
#include <type_traits>

#include "tinymim/distill/concepts.hpp"
#include "tinymim/distill/losses.hpp"
#include "tinymim/distill/targets.hpp"
#include "tinymim/nn/traceable.hpp"

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

// A term's tap that is the pairing's own (its TeacherTap or StudentTap).
struct pairing_tap {};

// A (target, loss) term on a (teacher block, student block) pair; its weight is a run-time value of the
// distiller (default 1). term<qk, kl_divergence, teacher_block<4>, student_block<3>> maps one layer pair.
template <target_policy Target, loss_policy Loss, class TeacherTap = pairing_tap, class StudentTap = pairing_tap>
struct term {
    using target_type = Target;
    using loss_type = Loss;
    using teacher_tap_type = TeacherTap;
    using student_tap_type = StudentTap;
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
// MiniLMv2's targets: relation_heads<R, qq, kk, vv> is targets<resplit<R, qq>, resplit<R, kk>, resplit<R, vv>>.
template <std::size_t R, class... Relations>
using relation_heads = targets<resplit<R, Relations>...>;

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
// A term's block: its own tap, or the pairing's.
template <class TermTap, class PairingTap, std::size_t Depth>
consteval std::size_t term_tap_index() {
    if constexpr (std::is_same_v<TermTap, pairing_tap>)
        return tap_index<PairingTap, Depth>();
    else
        return tap_index<TermTap, Depth>();
}
// A target's relation heads (resplit's R), 0 when it states none.
template <class Target>
consteval std::size_t relation_heads_of() {
    if constexpr (requires { Target::relation_heads; })
        return Target::relation_heads;
    else
        return 0;
}

// Per term, as arrays: the blocks tapped, what the target is and needs.
template <class Tuple>
struct term_table;
template <class... X>
struct term_table<std::tuple<X...>> {
    static constexpr std::size_t n = sizeof...(X);
    template <class TeacherTap, std::size_t Depth>
    static constexpr std::array<std::size_t, n> teacher_blocks{
        term_tap_index<typename X::teacher_tap_type, TeacherTap, Depth>()...};
    template <class StudentTap, std::size_t Depth>
    static constexpr std::array<std::size_t, n> student_blocks{
        term_tap_index<typename X::student_tap_type, StudentTap, Depth>()...};
    static constexpr std::array<bool, n> default_teacher_tap{
        std::is_same_v<typename X::teacher_tap_type, pairing_tap>...};
    static constexpr std::array<bool, n> relation{(X::target_type::kind == target_kind::relation)...};
    static constexpr std::array<std::size_t, n> relation_heads{relation_heads_of<typename X::target_type>()...};
    static constexpr std::array<bool, n> qkv_only{X::target_type::qkv_only...};
};

// The head count each term needs in its student block: the teacher's for a relation without relation heads,
// the student's own for one with them, none (0) for other targets.
template <std::size_t N>
consteval std::array<std::size_t, N> needed_heads(const std::array<bool, N>& relation,
                                                  const std::array<std::size_t, N>& relation_heads,
                                                  std::size_t teacher_heads, std::size_t student_heads) {
    std::array<std::size_t, N> h{};
    for (std::size_t i = 0; i < N; ++i)
        h[i] = !relation[i] ? 0 : relation_heads[i] == 0 ? teacher_heads : student_heads;
    return h;
}
// Per term, the head count its block runs with: what any term at that block needs (0: the block's own).
template <std::size_t N>
consteval std::array<std::size_t, N> block_heads(const std::array<std::size_t, N>& blocks,
                                                 const std::array<std::size_t, N>& needed, std::size_t own) {
    std::array<std::size_t, N> h{};
    for (std::size_t i = 0; i < N; ++i)
        for (std::size_t j = 0; j < N; ++j)
            if (blocks[j] == blocks[i] && needed[j] != 0 && needed[j] != own) h[i] = needed[j];
    return h;
}
template <std::size_t N>
consteval bool heads_agree(const std::array<std::size_t, N>& blocks, const std::array<std::size_t, N>& needed) {
    for (std::size_t i = 0; i < N; ++i)
        for (std::size_t j = 0; j < i; ++j)
            if (blocks[i] == blocks[j] && needed[i] != 0 && needed[j] != 0 && needed[i] != needed[j]) return false;
    return true;
}
template <std::size_t N>
consteval bool adaptive_fits(const std::array<bool, N>& relation, const std::array<std::size_t, N>& relation_heads,
                             std::size_t student_dim, std::size_t teacher_heads) {
    for (std::size_t i = 0; i < N; ++i)
        if (relation[i] && relation_heads[i] == 0 && student_dim % teacher_heads != 0) return false;
    return true;
}
template <std::size_t N>
consteval bool relation_heads_fit(const std::array<std::size_t, N>& relation_heads, std::size_t teacher_dim,
                                  std::size_t student_dim) {
    for (std::size_t r : relation_heads)  // (dyn: checked at run time)
        if (r != 0 && r != dyn && (teacher_dim % r != 0 || student_dim % r != 0)) return false;
    return true;
}
template <std::size_t N>
consteval bool taps_in_range(const std::array<std::size_t, N>& blocks, std::size_t depth) {
    for (std::size_t b : blocks)
        if (b < 1 || b > depth) return false;
    return true;
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

}  // namespace detail

// Teacher and student are any nn::traceable_model (nn/traceable.hpp): nn::vit, or a user's own model.
template <class Teacher, class Student, class Targets, class Loss, class TeacherTap = last_block,
          class StudentTap = last_block, class Input = raw_input>
struct pairing {
    static_assert(nn::traceable_model<Teacher>,
                  "pairing: the teacher is not a traceable_model (nn/traceable.hpp): it needs config, D, P, depth, "
                  "embed, prepend_cls, run_blocks with trace requests, and visit");
    static_assert(nn::traceable_model<Student>,
                  "pairing: the student is not a traceable_model (nn/traceable.hpp): it needs config, D, P, depth, "
                  "embed, prepend_cls, run_blocks with trace requests, and visit");
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
    using table = detail::term_table<terms_type>;

    // Per term: the teacher and student blocks it taps (1-based), and whether its teacher tap is the
    // pairing's (which distill_options::teacher_block may move at run time).
    static constexpr std::array<std::size_t, n_terms> term_teacher_block =
        table::template teacher_blocks<TeacherTap, Teacher::depth>;
    static constexpr std::array<std::size_t, n_terms> term_student_block =
        table::template student_blocks<StudentTap, Student::depth>;
    static constexpr std::array<bool, n_terms> term_default_teacher_tap = table::default_teacher_tap;
    static constexpr std::array<bool, n_terms> term_qkv_only = table::qkv_only;

    static constexpr bool has_relation = detail::any_relation<terms_type>::value;
    static constexpr bool qkv_only = detail::all_qkv_only<terms_type>::value;
    // The adaptive block's head count (the teacher's), for relation terms without relation heads.
    static constexpr std::size_t relation_heads = tc.heads;

    // Per term, the head count its student block runs with (0: the block's own; the teacher's where a
    // relation without relation heads taps it: the adaptive block).
    static constexpr std::array<std::size_t, n_terms> term_needed_heads =
        detail::needed_heads(table::relation, table::relation_heads, tc.heads, sc.heads);
    static constexpr std::array<std::size_t, n_terms> term_student_heads =
        detail::block_heads(term_student_block, term_needed_heads, sc.heads);

    static_assert(std::is_same_v<typename Teacher::backend_type, typename Student::backend_type> &&
                      std::is_same_v<typename Teacher::value_type, typename Student::value_type>,
                  "pairing: teacher and student must live on one backend with one element type");
    static_assert(teacher_tap >= 1 && teacher_tap <= tc.depth && detail::taps_in_range(term_teacher_block, tc.depth),
                  "pairing: teacher_block<K> is past the teacher's last block");
    static_assert(student_tap >= 1 && student_tap <= sc.depth && detail::taps_in_range(term_student_block, sc.depth),
                  "pairing: student_block<J> is past the student's last block");
    static_assert(tc.image == sc.image && tc.patch == sc.patch && tc.channels == sc.channels &&
                      tc.class_token == sc.class_token && tc.distill_token == sc.distill_token,
                  "pairing: teacher and student must see the same tokens: equal image size, patch size, channels, "
                  "class token and distillation token");
    // The adaptive block: relation targets without relation heads need equal head counts, so the student's
    // tapped block runs with the teacher's head count over its own width.
    static_assert(detail::adaptive_fits(table::relation, table::relation_heads, sc.dim, tc.heads),
                  "pairing: relation targets need the student's tapped block to use the teacher's head count (the "
                  "adaptive block), but the student's width is not divisible by the teacher's heads; pick a student "
                  "width that is a multiple of the teacher's head count, a teacher with fewer heads, or relation "
                  "heads (resplit<R, ...>, relation_heads<R, ...>) that both widths divide by");
    static_assert(detail::relation_heads_fit(table::relation_heads, tc.dim, sc.dim),
                  "pairing: relation heads: both the teacher's and the student's widths must divide by R");
    static_assert(detail::heads_agree(term_student_block, term_needed_heads),
                  "pairing: two terms tap one student block with different head counts (a relation without relation "
                  "heads runs the block with the teacher's heads, one with relation heads with the student's own); "
                  "tap them at different student blocks, or give both relation heads");
};

}  // namespace tinymim::distill
