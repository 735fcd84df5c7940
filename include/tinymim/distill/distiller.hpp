// distiller<Pairing>: TinyMIM distillation steps. One step = teacher forward under no_grad (eval mode,
// only as far as its deepest tap) + student forward to its deepest tap + the pairing's loss terms, each on
// its own (teacher block, student block) pair + backward + AdamW. Projections for feature / CLS targets of unequal
// widths belong to the distiller.
#pragma once

#include <algorithm>
#include <array>
#include <cstddef>
#include <functional>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <tuple>
#include <utility>
#include <vector>

#include "tinymim/autograd/no_grad.hpp"
#include "tinymim/distill/pairing.hpp"
#include "tinymim/distill/trainable_view.hpp"
#include "tinymim/nn/linear.hpp"
#include "tinymim/nn/mae.hpp"
#include "tinymim/ops/elementwise.hpp"
#include "tinymim/optim/adamw.hpp"

namespace tinymim::distill {

struct distill_options {
    double drop_path = 0.1;         // student, uniform over its blocks except the tapped one; teacher: none
    double mask_ratio = 0.75;       // masked_input only
    std::vector<double> weights;    // one per term (empty: all 1)
    std::size_t teacher_block = 0;  // run-time override of the pairing's teacher tap (1-based; 0: the pairing's)
    // A run-time layer map: (teacher block, student block) pairs, 1-based; every term is applied at each
    // pair and its value is the sum over the pairs (empty: each term at its own taps).
    std::vector<std::pair<std::size_t, std::size_t>> layers;
    optim::adamw_options adamw{.beta1 = 0.9, .beta2 = 0.95, .eps = 1e-8, .weight_decay = 0.05};
    std::uint64_t seed = 0;
};

template <class Pairing>
class distiller {
public:
    using pairing_type = Pairing;
    using teacher_type = typename Pairing::teacher_type;
    using student_type = typename Pairing::student_type;
    using T = typename Pairing::value_type;
    using value_type = T;  // (io::load_weights / save_weights work on the distiller's own parameters)
    using B = typename Pairing::backend_type;
    using backend_type = B;
    using image_tensor = tensor<T, typename student_type::image_shape, B>;
    static constexpr std::size_t n_terms = Pairing::n_terms;
    static constexpr std::size_t Dt = teacher_type::D, Ds = student_type::D;

    struct step_result {
        double total = 0;
        std::array<double, n_terms> terms{};
        double grad_norm = 0;
    };

    distiller(teacher_type& teacher, student_type& student, distill_options opt = {})
        : teacher_(teacher), student_(student), opt_(std::move(opt)), rng_(opt_.seed) {
        if (opt_.weights.empty()) opt_.weights.assign(n_terms, 1.0);
        TINYMIM_CHECK(opt_.weights.size() == n_terms, "distiller: ", opt_.weights.size(), " weights for ", n_terms,
                      " terms");
        TINYMIM_CHECK(opt_.teacher_block <= teacher_type::depth, "distiller: teacher block ", opt_.teacher_block,
                      " is past the teacher's last block (", teacher_type::depth, ")");
        check_layers();
        init_projections(counter_rng(opt_.seed).fork(77));
        std::vector<nn::param_ref<T>> params;
        visit_trainable([&](nn::param_ref<T>& r) { params.push_back(r); });
        optimizer_.emplace(std::move(params), opt_.adamw);
    }

    // The weighted loss and its terms for one batch (records on the distiller's tape; the caller
    // runs backward). Teacher and student images may differ (student-only colour jitter).
    struct loss_vars {
        var<T, shape<>, B> total;
        std::array<var<T, shape<>, B>, n_terms> terms;
    };
    [[nodiscard]] loss_vars loss(tape<B>& t, const image_tensor& teacher_images, const image_tensor& student_images,
                                 bool training = true) {
        TINYMIM_CHECK(teacher_images.shape() == student_images.shape(), "distiller: teacher images ",
                      teacher_images.shape().str(), " and student images ", student_images.shape().str(), " differ");
        const counter_rng step_rng = rng_.fork(step_).from_sample(first_sample_);
        const std::size_t batch = teacher_images.extent(0);
        if constexpr (Pairing::input_policy::masked)
            mask_ = nn::mae_mask<B, T>::random(batch, student_type::P, opt_.mask_ratio, step_rng.fork(7));

        const tap_plan tplan = teacher_plan(), splan = student_plan();
        nn::vit_run trun;
        trun.stop_block = tplan.deepest;
        trun.stop_after_qkv = tplan.qkv_only_at_deepest;
        nn::vit_run srun;
        srun.training = training;
        srun.drop_path = opt_.drop_path;
        srun.drop_path_linear = false;
        srun.no_drop_path_last = true;
        srun.rng = step_rng.fork(1);
        srun.stop_block = splan.deepest;
        srun.stop_after_qkv = splan.qkv_only_at_deepest;

        loss_vars out;
        run_model(teacher_, t, teacher_images, trun, true, tplan, [&](auto& ttraces) {
            run_model(student_, t, student_images, srun, false, splan, [&](auto& straces) {
                out = combine(t, ttraces, tplan, straces, splan, std::make_index_sequence<n_terms>{});
            });
        });
        return out;
    }

    // One training step on one batch, at learning rate lr.
    step_result step(const image_tensor& teacher_images, const image_tensor& student_images, double lr) {
        tape_.reset();
        auto l = loss(tape_, teacher_images, student_images, true);
        step_result r = values(l);
        for (std::size_t i = 0; i < n_terms; ++i)
            TINYMIM_CHECK(std::isfinite(r.terms[i]), "distiller: loss term ", i, " (", term_names()[i], ") is ",
                          r.terms[i], " at step ", step_);
        l.total.backward();
        if (sync_) sync_(*optimizer_, r);
        r.grad_norm = optimizer_->step(lr);
        ++step_;
        return r;
    }

    // A data-parallel run (dist/data_parallel.hpp sets it): this rank's batches start at sample
    // `first_sample` of each global batch, `hook` (if any) hears during the backward which gradients are final
    // (to start their allreduce), and `sync` runs between the backward and the update (it finishes averaging
    // the gradients and averages the reported losses across ranks).
    using sync_fn = std::function<void(optim::adamw<T, B>&, step_result&)>;
    void data_parallel(std::size_t first_sample, sync_fn sync, gradient_hook* hook = nullptr) {
        first_sample_ = first_sample;
        sync_ = std::move(sync);
        tape_.set_gradient_hook(hook);
    }
    step_result step(const image_tensor& images, double lr) { return step(images, images, lr); }

    // The losses without an update (no drop path).
    step_result evaluate(const image_tensor& teacher_images, const image_tensor& student_images) {
        no_grad ng;
        tape_.reset();
        return values(loss(tape_, teacher_images, student_images, false));
    }

    // Student and projection parameters (what the optimizer trains), by name.
    template <class F>
    void visit_trainable(F&& f) {
        student_.visit(f);
        visit_projections(f);
    }
    // Student + projections seen as one model (anything with visit(f)): for gradient checks and saving.
    [[nodiscard]] trainable_view<distiller> trainable() { return {this}; }

    // The distiller's own parameters ("projections.<term>.weight/bias"), saved with its checkpoints.
    template <class F>
    void visit(F&& f) {
        visit_projections(f);
    }

    [[nodiscard]] static std::array<std::string, n_terms> term_names() {
        return [&]<std::size_t... I>(std::index_sequence<I...>) {
            return std::array<std::string, n_terms>{std::string(std::tuple_element_t<I, terms_t>::target_type::name) +
                                                    "/" + std::tuple_element_t<I, terms_t>::loss_type::name...};
        }
        (std::make_index_sequence<n_terms>{});
    }

    [[nodiscard]] optim::adamw<T, B>& optimizer() { return *optimizer_; }
    // The teacher block of the terms that tap the pairing's teacher block (1-based).
    [[nodiscard]] std::size_t teacher_tap() const noexcept {
        return opt_.teacher_block != 0 ? opt_.teacher_block : Pairing::teacher_tap;
    }
    // Per term, the teacher block it distils from (1-based; the run-time override applied).
    [[nodiscard]] std::array<std::size_t, n_terms> teacher_blocks() const noexcept {
        auto b = Pairing::term_teacher_block;
        for (std::size_t i = 0; i < n_terms; ++i)
            if (Pairing::term_default_teacher_tap[i]) b[i] = teacher_tap();
        return b;
    }
    [[nodiscard]] tape<B>& get_tape() { return tape_; }
    [[nodiscard]] std::size_t steps() const noexcept { return step_; }
    void set_steps(std::size_t s) noexcept { step_ = s; }
    [[nodiscard]] const distill_options& options() const noexcept { return opt_; }
    [[nodiscard]] teacher_type& teacher() noexcept { return teacher_; }
    [[nodiscard]] student_type& student() noexcept { return student_; }
    // Loss objects of the terms (to set a temperature or beta at run time).
    [[nodiscard]] auto& losses() noexcept { return losses_; }
    // Target objects of the terms (to set their run-time parameters: resplit<dyn, ...>'s heads_count).
    [[nodiscard]] auto& targets() noexcept { return targets_; }

private:
    using terms_t = typename Pairing::terms_type;

    template <class Term>
    static constexpr bool needs_projection = Term::target_type::kind != target_kind::relation&& Ds != Dt;
    struct no_projection {};
    template <class Term>
    using projection_t = std::conditional_t<needs_projection<Term>, nn::linear<Ds, Dt, B, T>, no_projection>;
    template <class Tuple>
    struct projections_of;
    template <class... X>
    struct projections_of<std::tuple<X...>> {
        using type = std::tuple<projection_t<X>...>;
        using losses = std::tuple<typename X::loss_type...>;
        using targets = std::tuple<typename X::target_type...>;
    };

    void init_projections(const counter_rng& rng) {
        [&]<std::size_t... I>(std::index_sequence<I...>) {
            (
                [&] {
                    if constexpr (needs_projection<std::tuple_element_t<I, terms_t>>)
                        std::get<I>(projections_).init_xavier(rng.fork(I));
                }(),
                ...);
        }
        (std::make_index_sequence<n_terms>{});
    }
    template <class F>
    void visit_projections(F&& f) {
        [&]<std::size_t... I>(std::index_sequence<I...>) {
            (
                [&] {
                    if constexpr (needs_projection<std::tuple_element_t<I, terms_t>>)
                        std::get<I>(projections_).visit("projections." + std::to_string(I), f);
                }(),
                ...);
        }
        (std::make_index_sequence<n_terms>{});
    }

    // The layer map's pairs must lie within both models, and the terms must agree on the head count of
    // the student blocks (each term runs at every pair).
    void check_layers() {
        if (opt_.layers.empty()) return;
        TINYMIM_CHECK(opt_.teacher_block == 0, "distiller: give either a teacher block or a layer map, not both");
        for (const auto& [tb, sb] : opt_.layers)
            TINYMIM_CHECK(tb >= 1 && tb <= teacher_type::depth && sb >= 1 && sb <= student_type::depth,
                          "distiller: the layer pair ", tb, ":", sb, " is outside the teacher's blocks 1..",
                          teacher_type::depth, " or the student's 1..", student_type::depth);
        for (std::size_t i = 0; i < n_terms; ++i) {
            const std::size_t h = Pairing::term_needed_heads[i];
            TINYMIM_CHECK(h == 0 || layer_heads_ == 0 || h == layer_heads_,
                          "distiller: a layer map runs every term at each student block, but the terms need "
                          "different head counts there (relations with and without relation heads)");
            if (h != 0) layer_heads_ = h;
        }
        if (layer_heads_ == Pairing::sc.heads) layer_heads_ = 0;
    }
    // The term applications of a step: term i at each layer pair p (index p * n_terms + i), or once at its taps.
    [[nodiscard]] std::size_t layer_pairs() const noexcept { return opt_.layers.empty() ? 1 : opt_.layers.size(); }

    // The blocks one model traces: distinct blocks (each with its head count), each application's slot among
    // them, the deepest (where the model stops) and whether every term there needs only LN1 + qkv.
    struct tap_plan {
        std::vector<std::size_t> block, heads, slot;
        std::size_t deepest = 0;
        bool qkv_only_at_deepest = true;
    };
    static tap_plan make_plan(const std::vector<std::size_t>& blocks, const std::vector<std::size_t>& heads) {
        tap_plan p;
        for (std::size_t a = 0; a < blocks.size(); ++a) {
            std::size_t s = 0;
            while (s < p.block.size() && p.block[s] != blocks[a]) ++s;
            if (s == p.block.size()) p.block.push_back(blocks[a]), p.heads.push_back(heads[a]);
            p.slot.push_back(s);
            p.deepest = std::max(p.deepest, blocks[a]);
        }
        for (std::size_t a = 0; a < blocks.size(); ++a)
            if (blocks[a] == p.deepest)
                p.qkv_only_at_deepest = p.qkv_only_at_deepest && Pairing::term_qkv_only[a % n_terms];
        return p;
    }
    tap_plan teacher_plan() const {
        std::vector<std::size_t> blocks, heads;
        const auto own = teacher_blocks();
        for (std::size_t a = 0; a < layer_pairs() * n_terms; ++a) {
            blocks.push_back(opt_.layers.empty() ? own[a] : opt_.layers[a / n_terms].first);
            heads.push_back(0);
        }
        return make_plan(blocks, heads);
    }
    tap_plan student_plan() const {
        std::vector<std::size_t> blocks, heads;
        for (std::size_t a = 0; a < layer_pairs() * n_terms; ++a) {
            blocks.push_back(opt_.layers.empty() ? Pairing::term_student_block[a] : opt_.layers[a / n_terms].second);
            heads.push_back(opt_.layers.empty() ? Pairing::term_student_heads[a] : layer_heads_);
        }
        return make_plan(blocks, heads);
    }

    // Embeds (and masks) the images, runs the blocks up to the deepest tap, and calls k(traces). A frozen
    // model (the teacher) runs under no_grad: it records nothing and gets no gradient; k runs outside that.
    template <class Model, class K>
    void run_model(Model& m, tape<B>& t, const image_tensor& images, const nn::vit_run& run, bool frozen,
                   const tap_plan& plan, K&& k) {
        std::optional<no_grad> guard;
        if (frozen) guard.emplace();
        auto x = m.embed(t, input(t, images));
        auto xc = [&] {
            if constexpr (Pairing::input_policy::masked)
                return m.prepend_cls(t, ops::gather_tokens(x, mask_->ids_keep));
            else
                return m.prepend_cls(t, x);
        }();
        using S = typename decltype(xc)::shape_type;
        std::vector<nn::block_trace<T, S, B>> traces(plan.block.size());
        std::vector<nn::trace_request<T, S, B>> requests;
        for (std::size_t s = 0; s < plan.block.size(); ++s)
            requests.push_back({plan.block[s], plan.heads[s], &traces[s]});
        (void)m.run_blocks(t, xc, run, std::span<const nn::trace_request<T, S, B>>(requests));
        guard.reset();
        k(traces);
    }

    // Term I's value on one (teacher trace, student trace) pair.
    template <std::size_t I, class TTrace, class STrace>
    var<T, shape<>, B> term_value(tape<B>& t, const TTrace& tt, const STrace& st) {
        using term_t = std::tuple_element_t<I, terms_t>;
        const auto& target = std::get<I>(targets_);
        if constexpr (whole_relation_loss<typename term_t::loss_type, typename term_t::target_type>) {
            // The loss takes the relations from their operands: neither is built as a tensor.
            auto teacher_ops = [&] {
                no_grad ng;
                return target.operands(tt);
            }();
            return std::get<I>(losses_).relation(target.operands(st), teacher_ops);
        } else {  // (not instantiated for a whole relation: no dead relation tensors compiled)
            auto teacher_repr = [&] {
                no_grad ng;
                return target.teacher(tt);
            }();
            auto s = target.student(st);
            if constexpr (needs_projection<term_t>)
                return std::get<I>(losses_)(std::get<I>(projections_)(t, s), teacher_repr);
            else
                return std::get<I>(losses_)(s, teacher_repr);
        }
    }

    template <class TT, class ST, std::size_t... I>
    loss_vars combine(tape<B>& t, const TT& ttraces, const tap_plan& tplan, const ST& straces, const tap_plan& splan,
                      std::index_sequence<I...>) {
        loss_vars out;
        for (std::size_t p = 0; p < layer_pairs(); ++p) {
            (
                [&] {
                    const std::size_t a = p * n_terms + I;
                    auto v = term_value<I>(t, ttraces[tplan.slot[a]], straces[splan.slot[a]]);
                    out.terms[I] = p == 0 ? v : ops::add(out.terms[I], v);
                }(),
                ...);
        }
        out.total = ops::scale(out.terms[0], T(opt_.weights[0]));
        for (std::size_t i = 1; i < n_terms; ++i)
            out.total = ops::add(out.total, ops::scale(out.terms[i], T(opt_.weights[i])));
        return out;
    }

    step_result values(const loss_vars& l) const {
        step_result r;
        T v;
        B::copy_to_host(&v, l.total.data(), sizeof(T));
        r.total = double(v);
        for (std::size_t i = 0; i < n_terms; ++i) {
            B::copy_to_host(&v, l.terms[i].data(), sizeof(T));
            r.terms[i] = double(v);
        }
        return r;
    }

    teacher_type& teacher_;
    student_type& student_;
    distill_options opt_;
    counter_rng rng_;
    std::size_t step_ = 0;
    std::size_t first_sample_ = 0;
    sync_fn sync_;
    std::size_t layer_heads_ = 0;  // with a layer map: the head count of every tapped student block (0: its own)
    tape<B> tape_;
    typename projections_of<terms_t>::type projections_;
    typename projections_of<terms_t>::losses losses_;
    typename projections_of<terms_t>::targets targets_;
    std::optional<optim::adamw<T, B>> optimizer_;
    std::optional<nn::mae_mask<B, T>> mask_;
};

}  // namespace tinymim::distill
