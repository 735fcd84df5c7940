// TinyMIM's losses against PyTorch (tests/reference/make_distill_fixtures.py): a 3-head student whose
// tapped last block runs with the 6 heads of the teacher, tapped at its intermediate block 2; and the
// feature and CLS targets with a learned projection; MiniLMv2's relation heads; a map of two layer pairs. Loss
// values <= 1e-5, student gradients <= 1e-4.
#include "../support/fixture.hpp"
#include "../support/golden_configs.hpp"

#include "tinymim/distill/distiller.hpp"
#include "tinymim/io/weights.hpp"

using namespace tinymim;
namespace d = tinymim::distill;

namespace {
using teacher_t = nn::vit<tt::distill_teacher_cfg>;
using student_t = nn::vit<tt::distill_student_cfg>;

template <class Targets, class Loss>
void golden(const std::string& name, d::distill_options opt = {}) {
    using P = d::pairing<teacher_t, student_t, Targets, Loss, d::teacher_block<2>, d::last_block>;
    auto& f = tt::fixture("distill.safetensors");
    auto teacher = std::make_unique<teacher_t>();
    auto student = std::make_unique<student_t>();
    const auto rt = io::load_weights(*teacher, f.path(), io::load_options::non_strict("teacher."));
    const auto rs = io::load_weights(*student, f.path(), io::load_options::non_strict("student."));
    BOOST_TEST((rt.missing.empty() && rs.missing.empty()), rt.summary() << "\n" << rs.summary());
    opt.drop_path = 0;
    d::distiller<P> dist(*teacher, *student, std::move(opt));
    (void)io::load_weights(dist, f.path(), io::load_options::non_strict());
    auto images = tt::load<shape<dyn, 1, 28, 28>>(f, "images");
    tape<cpu> t;
    t.set_poison(true);
    auto l = dist.loss(t, images, images, false);
    tt::check_close(f, name + ".loss", l.total.data(), 1, 1e-5);
    l.total.backward();
    std::size_t compared = 0;
    dist.visit_trainable([&](nn::param_ref<float>& r) {
        if (!r.trainable()) return;  // the fixed sin-cos pos_embed (learned in the timm reference: not compared)
        const std::string key = name + ".grad." + r.name;
        if (f.find(key) == nullptr) {
            BOOST_TEST(!*r.has_grad, r.name << " got a gradient PyTorch did not");
            return;
        }
        BOOST_TEST_CONTEXT(key) { tt::check_close(f, key, r.grad, r.size, 1e-4); }
        ++compared;
    });
    BOOST_TEST(compared > 5u);
}
}  // namespace

BOOST_AUTO_TEST_SUITE(distill_golden_pytorch)

BOOST_AUTO_TEST_CASE(relations_qk_vv_adaptive_heads_intermediate_teacher_block) {
    golden<d::relations<d::qk, d::vv>, d::kl_divergence>("relation");
}
BOOST_AUTO_TEST_CASE(feature_block_output_smooth_l1_with_projection) {
    golden<d::block_output, d::smooth_l1>("feature");
}
BOOST_AUTO_TEST_CASE(cls_token_kl_with_projection) { golden<d::cls_token, d::kl_divergence>("cls"); }
// MiniLMv2: R = 4 relation heads on both sides, the student's block with its own 3 heads (no adaptive block).
BOOST_AUTO_TEST_CASE(minilm_relation_heads_qq_kk_vv) {
    golden<d::relation_heads<4, d::qq, d::kk, d::vv>, d::kl_divergence>("relation_heads");
}

// A layer map: relations at student block 1 <- teacher block 2 and last <- last, both student blocks with
// the teacher's 6 heads; as per-term taps, and as the run-time map the tool's --layers "2:1,3:2" makes.
BOOST_AUTO_TEST_CASE(layer_map_relations_at_two_pairs) {
    using map = d::terms<d::term<d::qk, d::kl_divergence, d::teacher_block<2>, d::student_block<1>>,
                         d::term<d::vv, d::kl_divergence, d::teacher_block<2>, d::student_block<1>>,
                         d::term<d::qk, d::kl_divergence, d::teacher_block<3>, d::student_block<2>>,
                         d::term<d::vv, d::kl_divergence, d::teacher_block<3>, d::student_block<2>>>;
    golden<map, d::per_term>("layer_map");
}
BOOST_AUTO_TEST_CASE(run_time_layer_map_relations_at_two_pairs) {
    golden<d::relations<d::qk, d::vv>, d::kl_divergence>("layer_map", {.layers = {{2, 1}, {3, 2}}});
}

BOOST_AUTO_TEST_SUITE_END()
