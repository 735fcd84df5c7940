// Sequential distillation (the paper's L -> B -> S -> T): stages run one after the other, each stage's
// student becoming the next stage's teacher, in one call.
#pragma once

#include <cstddef>
#include <functional>
#include <tuple>
#include <type_traits>
#include <vector>

#include "tinymim/distill/distiller.hpp"
#include "tinymim/optim/schedule.hpp"

namespace tinymim::distill {

// One stage's schedule.
struct stage_options {
    std::size_t steps = 100;
    double lr = 1.5e-4;
    std::size_t warmup_steps = 0;
    distill_options distill{};
};

namespace detail {
template <class Pairings, std::size_t... I>
consteval bool linked(std::index_sequence<I...>) {
    return (std::is_same_v<typename std::tuple_element_t<I + 1, Pairings>::teacher_type,
                           typename std::tuple_element_t<I, Pairings>::student_type> &&
            ...);
}
}  // namespace detail

// A chain of pairings P1, P2, ... where P(i+1)'s teacher type is P(i)'s student type.
template <class... Pairings>
struct chain {
    static_assert(sizeof...(Pairings) >= 1, "chain: give at least one pairing");
    using pairings = std::tuple<Pairings...>;
    static constexpr std::size_t stages = sizeof...(Pairings);

    static_assert(detail::linked<pairings>(std::make_index_sequence<stages - 1>{}),
                  "chain: each stage's teacher type must be the previous stage's student type");

    // Runs every stage. models: the first teacher, then each stage's student (stages + 1 references).
    // batches(stage, step) returns the (teacher images, student images) pair for that step.
    // on_step(stage, step, result) observes progress (may be empty). Returns each stage's last losses.
    template <class... Models, class Batches, class OnStep>
    static auto run(std::tuple<Models&...> models, const std::array<stage_options, stages>& opts, Batches&& batches,
                    OnStep&& on_step) {
        static_assert(sizeof...(Models) == stages + 1, "chain::run: pass the first teacher and one student per stage");
        std::array<double, stages> last{};
        [&]<std::size_t... I>(std::index_sequence<I...>) {
            (
                [&] {
                    using P = std::tuple_element_t<I, pairings>;
                    distiller<P> d(std::get<I>(models), std::get<I + 1>(models), opts[I].distill);
                    optim::warmup_cosine sched{.base_lr = opts[I].lr,
                                               .min_lr = 0,
                                               .warmup_steps = opts[I].warmup_steps,
                                               .total_steps = opts[I].steps};
                    for (std::size_t s = 0; s < opts[I].steps; ++s) {
                        const auto& [ti, si] = batches(I, s);
                        auto r = d.step(ti, si, sched(s));
                        last[I] = r.total;
                        if constexpr (!std::is_same_v<std::decay_t<OnStep>, std::nullptr_t>) on_step(I, s, r.total);
                    }
                }(),
                ...);
        }
        (std::make_index_sequence<stages>{});
        return last;
    }
};

}  // namespace tinymim::distill
