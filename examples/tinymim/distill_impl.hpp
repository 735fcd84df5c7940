// tinymim distill: TinyMIM distillation. The run-time choices (--target, --input) select one of the
// pairing types instantiated here; --teacher-block is a run-time tap.
#pragma once

#include "commands.hpp"
#include "loop_for.hpp"
#include "models.hpp"

namespace tool {

namespace distill_detail {
namespace d = tinymim::distill;

inline std::string target_text(const distill_args& a, std::size_t relation_heads) {
    return a.target == "relation-heads" ? a.target + " (R = " + std::to_string(relation_heads) + ")" : a.target;
}

// --relation-heads (0: the teacher's head count), checked against both widths before any work.
template <class Pairing>
std::size_t relation_heads_of(const distill_args& a) {
    const std::size_t r = a.relation_heads != 0 ? a.relation_heads : Pairing::tc.heads;
    TINYMIM_CHECK(a.target != "relation-heads" || (Pairing::tc.dim % r == 0 && Pairing::sc.dim % r == 0),
                  "distill: --relation-heads ", r, ": the teacher's width ", Pairing::tc.dim, " and the student's ",
                  Pairing::sc.dim, " must both divide by it");
    return r;
}
// --layers "4:3,6:6" as (teacher block, student block) pairs, each within its model, before any work.
inline std::vector<std::pair<std::size_t, std::size_t>> parse_layers(const std::string& text, std::size_t teacher_depth,
                                                                     std::size_t student_depth) {
    std::vector<std::pair<std::size_t, std::size_t>> pairs;
    std::size_t begin = 0;
    while (!text.empty() && begin <= text.size()) {
        const std::size_t end = std::min(text.find(',', begin), text.size());
        const std::string item = text.substr(begin, end - begin);
        const std::size_t colon = item.find(':');
        std::size_t tb = 0, sb = 0;
        bool ok = colon != std::string::npos && colon > 0 && colon + 1 < item.size() &&
                  item.find_first_not_of("0123456789:") == std::string::npos &&
                  item.find(':', colon + 1) == std::string::npos && colon < 6 && item.size() - colon - 1 < 6;
        if (ok) tb = std::stoul(item.substr(0, colon)), sb = std::stoul(item.substr(colon + 1));
        TINYMIM_CHECK(ok, "distill: --layers: '", item,
                      "' is not teacher:student (1-based block numbers, pairs separated by commas, e.g. 4:3,6:6)");
        TINYMIM_CHECK(tb >= 1 && tb <= teacher_depth && sb >= 1 && sb <= student_depth, "distill: --layers: ", item,
                      " is outside the teacher's blocks 1..", teacher_depth, " or the student's 1..", student_depth);
        pairs.emplace_back(tb, sb);
        begin = end + 1;
    }
    return pairs;
}

// The teacher from --teacher-weights: the file's encoder (an MAE file's decoder, or a classifier's head, is left
// out), with what loaded said.
template <class Teacher>
void load_teacher(Teacher& teacher, const distill_args& a) {
    TINYMIM_CHECK(!a.teacher_weights.empty(),
                  "distill: --teacher-weights FILE is required (an MAE-pre-trained teacher)");
    const auto rep = io::load_weights(teacher, a.teacher_weights, io::load_options::as_encoder());
    std::fprintf(stderr, "teacher %s: %s\n", a.teacher_weights.c_str(), rep.summary().c_str());
}

// R into every resplit<dyn, ...> target of the distiller's pairing.
template <class Distiller>
void set_relation_heads(Distiller& dist, std::size_t r) {
    std::apply(
        [&](auto&... target) {
            (
                [&](auto& t) {
                    if constexpr (requires { t.heads_count; }) t.heads_count = r;
                }(target),
                ...);
        },
        dist.targets());
}

template <class Pairing>
train::loop_result distill_with(const common_options& c, const distill_args& a) {
    using teacher_t = typename Pairing::teacher_type;
    using student_t = typename Pairing::student_type;
    constexpr nn::vit_config SC = student_t::config;
    const std::size_t relation_heads = relation_heads_of<Pairing>(a);
    const auto layers = parse_layers(a.layers, teacher_t::depth, student_t::depth);
    TINYMIM_CHECK(layers.empty() || a.teacher_block == 0, "distill: give --teacher-block or --layers, not both");
    const auto train_set = load_split(c, "train", SC.channels, SC.image);
    auto teacher = std::make_unique<teacher_t>();
    auto student = std::make_unique<student_t>();
    student->init(counter_rng(c.seed));
    load_teacher(*teacher, a);
    d::distill_options dop;
    dop.drop_path = a.drop_path;
    dop.mask_ratio = a.mask_ratio;
    dop.teacher_block = a.teacher_block;
    dop.layers = layers;
    dop.seed = c.seed;
    dop.adamw.weight_decay = a.weight_decay;
    d::distiller<Pairing> dist(*teacher, *student, dop);
    set_relation_heads(dist, relation_heads);
    train::task_options o;
    o.loop = loop_for(c, a);
    o.comm = c.comm;
    o.device_comm = c.device_comm;
    o.workers = c.workers;
    o.batch_size = a.batch;
    o.jitter = a.jitter;
    o.crop_scale_min = a.crop_scale_min;
    std::fprintf(stderr, "distill: %s -> %s, target %s, %s, %s input, %zu images, batch %zu, lr %.2e, %s\n",
                 a.teacher.c_str(), a.student.c_str(), target_text(a, relation_heads).c_str(),
                 a.layers.empty() ? ("teacher block " + std::to_string(dist.teacher_tap())).c_str()
                                  : ("layers " + a.layers).c_str(),
                 a.input.c_str(), train_set.size(), a.batch, o.loop.lr, teacher_t::precision_type::name);
    return train::distill(dist, train_set, o);
}

// --target dmae: the student is an MAE (its decoder the tool's for the family), trained with its MAE loss plus
// L1 to the teacher's block-k features on the visible patches (k: --teacher-block, default the last).
template <class Teacher, class StudentMae>
train::loop_result distill_dmae_with(const common_options& c, const distill_args& a) {
    TINYMIM_CHECK(a.layers.empty(),
                  "distill: --target dmae distils from one teacher block (--teacher-block), not "
                  "a layer map (--layers)");
    TINYMIM_CHECK(a.teacher_block <= Teacher::depth, "distill: --teacher-block ", a.teacher_block,
                  " is past the teacher's last block (", Teacher::depth, ")");
    constexpr nn::vit_config SC = StudentMae::encoder_type::config;
    const auto train_set = load_split(c, "train", SC.channels, SC.image);
    auto teacher = std::make_unique<Teacher>();
    auto student = std::make_unique<StudentMae>();
    student->init(counter_rng(c.seed));
    load_teacher(*teacher, a);
    d::dmae_options dop;
    dop.teacher_block = a.teacher_block;
    dop.mask_ratio = a.mask_ratio;
    dop.seed = c.seed;
    dop.adamw.weight_decay = a.weight_decay;
    d::dmae<Teacher, StudentMae> dm(*teacher, *student, dop);
    train::task_options o;
    o.loop = loop_for(c, a);
    o.comm = c.comm;
    o.device_comm = c.device_comm;
    o.workers = c.workers;
    o.batch_size = a.batch;
    o.crop_scale_min = a.crop_scale_min;
    std::fprintf(stderr,
                 "distill: %s -> %s, target dmae (MAE loss + L1 to teacher block %zu on the visible patches, mask "
                 "ratio %.2f), %zu images, batch %zu, lr %.2e, %s\n",
                 a.teacher.c_str(), a.student.c_str(), dm.teacher_block(), a.mask_ratio, train_set.size(), a.batch,
                 o.loop.lr, Teacher::precision_type::name);
    return train::distill_dmae(dm, train_set, o);
}

// Every (target, input) for a teacher-student pair.
template <class B, class P, nn::vit_config TC, nn::vit_config SC, bool AllPolicies>
train::loop_result distill_pair(const common_options& c, const distill_args& a) {
    using T = nn::vit<TC, B, float, P>;
    using S = nn::vit<SC, B, float, P>;
    const bool masked = a.input == "masked";
    TINYMIM_CHECK(masked || a.input == "raw", "distill: --input must be raw or masked, not '", a.input, "'");
    if (a.target == "relation") {
        if (!masked) return distill_with<d::pairing<T, S, d::relations<d::qk, d::vv>, d::kl_divergence>>(c, a);
        if constexpr (AllPolicies)
            return distill_with<d::pairing<T, S, d::relations<d::qk, d::vv>, d::kl_divergence, d::last_block,
                                           d::last_block, d::masked_input>>(c, a);
    }
    if constexpr (AllPolicies) {
        if (a.target == "feature") {
            if (!masked) return distill_with<d::pairing<T, S, d::block_output, d::smooth_l1>>(c, a);
            return distill_with<
                d::pairing<T, S, d::block_output, d::smooth_l1, d::last_block, d::last_block, d::masked_input>>(c, a);
        }
        if (a.target == "relation-heads") {
            using minilm = d::relation_heads<tinymim::dyn, d::qq, d::kk, d::vv>;
            if (!masked) return distill_with<d::pairing<T, S, minilm, d::kl_divergence>>(c, a);
            return distill_with<
                d::pairing<T, S, minilm, d::kl_divergence, d::last_block, d::last_block, d::masked_input>>(c, a);
        }
        if (a.target == "dmae") return distill_dmae_with<T, mae_for<SC, B, P>>(c, a);  // always masked
        if (a.target == "cls") {
            if (!masked) return distill_with<d::pairing<T, S, d::cls_token, d::kl_divergence>>(c, a);
            return distill_with<
                d::pairing<T, S, d::cls_token, d::kl_divergence, d::last_block, d::last_block, d::masked_input>>(c, a);
        }
        throw tinymim::error("distill: --target must be relation, relation-heads, feature, cls or dmae, not '" +
                             a.target + "'");
    }
    throw tinymim::error("distill: the tool instantiates only relation distillation from raw input for " + a.teacher +
                         " -> " + a.student + "; other policies: write the pairing in C++ (see docs/policies.md)");
}
}  // namespace distill_detail

template <class B, class P>
distill_args::result run_on(const common_options& c, const distill_args& a) {
    using namespace distill_detail;
    const std::string pair = a.teacher + ">" + a.student;
    if (pair == "fm-small>fm-tiny") return distill_pair<B, P, nn::fm_small, nn::fm_tiny, true>(c, a);
    if (pair == "fm-base>fm-small") return distill_pair<B, P, nn::fm_base, nn::fm_small, true>(c, a);
    if (pair == "fm-base>fm-tiny") return distill_pair<B, P, nn::fm_base, nn::fm_tiny, true>(c, a);
    if (pair == "vit-small>vit-tiny") return distill_pair<B, P, nn::vit_small, nn::vit_tiny, false>(c, a);
    if (pair == "vit-base>vit-small") return distill_pair<B, P, nn::vit_base, nn::vit_small, false>(c, a);
    if (pair == "vit-large>vit-base") return distill_pair<B, P, nn::vit_large, nn::vit_base, false>(c, a);
    throw tinymim::error("distill: the pairing " + a.teacher + " -> " + a.student +
                         " is not instantiated in the tool; available: fm-small -> fm-tiny, fm-base -> fm-small, "
                         "fm-base -> fm-tiny, vit-small -> vit-tiny, vit-base -> vit-small, vit-large -> vit-base");
}

}  // namespace tool
