// ViT / MAE: position-embedding reference values, weights round trip and strict-load errors,
// gradient checks in double of a full block, a whole ViT and the MAE loss.
#include "../support/common.hpp"

#include <filesystem>

#include "tinymim/io/weights.hpp"
#include "tinymim/nn/mae.hpp"
#include "tinymim/nn/pos_embed.hpp"
#include "tinymim/nn/vit.hpp"
#include "tinymim/ops/losses.hpp"
#include "tinymim/ops/reduce.hpp"

using namespace tinymim;
namespace fs = std::filesystem;

namespace {
fs::path temp_file(const std::string& name) {
    const fs::path dir = fs::temp_directory_path() / ("tinymim_nn_test_" + std::to_string(::getpid()));
    fs::create_directories(dir);
    return dir / name;
}
constexpr nn::vit_config tiny_cfg{
    .image = 8, .patch = 4, .channels = 1, .dim = 8, .depth = 2, .heads = 2, .classes = 3, .head = nn::pool::avg};
// A block seen as a model (something with visit(f)) for check_parameter_gradients.
struct visit_block {
    nn::block<8, 32, cpu, double>& b;
    template <class F>
    void visit(F&& f) {
        b.visit("block", f);
    }
};
}  // namespace

BOOST_AUTO_TEST_SUITE(vit)

BOOST_AUTO_TEST_CASE(sincos_pos_embed_reference_values) {
    const auto e = nn::sincos_pos_embed_2d<double>(8, 2, true);
    const double want[5][8] = {{0, 0, 0, 0, 0, 0, 0, 0},
                               {0, 0, 1, 1, 0, 0, 1, 1},
                               {0.841471, 0.01, 0.540302, 0.99995, 0, 0, 1, 1},
                               {0, 0, 1, 1, 0.841471, 0.01, 0.540302, 0.99995},
                               {0.841471, 0.01, 0.540302, 0.99995, 0.841471, 0.01, 0.540302, 0.99995}};
    for (int r = 0; r < 5; ++r)
        for (int c = 0; c < 8; ++c) BOOST_TEST(std::abs(e[r * 8 + c] - want[r][c]) < 1e-6);  // 6 printed decimals
    // D = 192, G = 14, token 17 counting the CLS row as 0: patch 16, row 1, column 2.
    const auto big = nn::sincos_pos_embed_2d<float>(192, 14, true);
    const float* t17 = big.data() + 17 * 192;
    const std::pair<int, double> ref[] = {{0, 0.909297},  {1, 0.996801},  {47, 0.000242},  {48, -0.416147}, {95, 1.0},
                                          {96, 0.841471}, {97, 0.734822}, {143, 0.000121}, {144, 0.540302}, {191, 1.0}};
    for (auto [i, v] : ref) BOOST_TEST(std::abs(double(t17[i]) - v) < 1e-6, "dim " << i << ": " << t17[i]);
}

BOOST_AUTO_TEST_CASE(named_configurations) {
    static_assert(nn::vit_base.tokens() == 197 && nn::vit_base.head_dim() == 64);
    static_assert(nn::vit_large.depth == 24 && nn::vit_large.heads == 16);
    static_assert(nn::fm_tiny.tokens() == 50 && nn::fm_tiny.dim == 96 && nn::fm_tiny.heads == 3);
    static_assert(nn::fm_small.dim == 192 && nn::fm_small.heads == 6 && nn::fm_base.depth == 8 &&
                  nn::fm_base.heads == 12);
    BOOST_TEST(nn::fm_small.head_dim() == 32u);
}

BOOST_AUTO_TEST_CASE(save_load_round_trip_is_exact) {
    auto a = std::make_unique<nn::vit<tiny_cfg>>();
    a->init(counter_rng(5));
    const auto p = temp_file("round.safetensors");
    io::save_weights(*a, p);
    auto b = std::make_unique<nn::vit<tiny_cfg>>();
    b->init(counter_rng(6));
    const auto rep = io::load_weights(*b, p);
    BOOST_TEST(rep.complete());
    auto ra = io::collect(*a);
    auto rb = io::collect(*b);
    BOOST_REQUIRE_EQUAL(ra.size(), rb.size());
    for (std::size_t i = 0; i < ra.size(); ++i) {
        BOOST_TEST(ra[i].name == rb[i].name);
        BOOST_TEST(std::equal(ra[i].value, ra[i].value + ra[i].size, rb[i].value), ra[i].name);
    }
}

BOOST_AUTO_TEST_CASE(strict_load_reports_every_problem_and_changes_nothing) {
    auto a = std::make_unique<nn::vit<tiny_cfg>>();
    const auto p = temp_file("other.safetensors");
    constexpr nn::vit_config other{.image = 8, .patch = 4, .channels = 1, .dim = 12, .depth = 1, .heads = 2};
    auto o = std::make_unique<nn::vit<other>>();
    io::save_weights(*o, p);
    const float before = a->blocks[0].attn.qkv.weight.value[0];
    try {
        (void)io::load_weights(*a, p);
        BOOST_FAIL("a strict load of a mismatching file must throw");
    } catch (const tinymim::error& e) {
        const std::string m = e.what();
        BOOST_TEST(m.find("blocks.1.norm1.weight [8]") != std::string::npos, m);  // missing
        BOOST_TEST(m.find("norm.weight [12]") != std::string::npos, m);           // unexpected
        BOOST_TEST(m.find("blocks.0.attn.qkv.weight: expected [24, 8], found [36, 12]") != std::string::npos, m);
        BOOST_TEST(m.find("other.safetensors") != std::string::npos, m);
    }
    BOOST_TEST(a->blocks[0].attn.qkv.weight.value[0] == before);
    // Non-strict: loads nothing that mismatches, reports the rest.
    const auto rep = io::load_weights(*a, p, io::load_options::non_strict());
    BOOST_TEST(!rep.complete());
    BOOST_TEST(!rep.mismatched.empty());
}

BOOST_AUTO_TEST_CASE(encoder_only_file_into_a_classifier_non_strict) {
    constexpr nn::vit_config enc = tiny_cfg.with_head(nn::pool::none, 0);
    auto e = std::make_unique<nn::vit<enc>>();
    e->init(counter_rng(9));
    const auto p = temp_file("enc.safetensors");
    io::save_weights(*e, p);
    auto c = std::make_unique<nn::vit<tiny_cfg>>();
    const auto rep = io::load_weights(*c, p, io::load_options::non_strict());
    BOOST_TEST(rep.mismatched.empty());
    BOOST_TEST(rep.missing.size() == 4u, rep.summary());     // fc_norm.{weight,bias}, head.{weight,bias}
    BOOST_TEST(rep.unexpected.size() == 2u, rep.summary());  // norm.{weight,bias}
    BOOST_TEST(c->blocks[1].mlp.fc2.weight.value[3] == e->blocks[1].mlp.fc2.weight.value[3]);
}

BOOST_AUTO_TEST_CASE(gradient_check_of_one_full_block_in_double) {
    nn::block<8, 32, cpu, double> blk;
    blk.heads = 2;
    blk.init(counter_rng(3));
    auto x = tt::randn<shape<dyn, 5, 8>>(4, 2, 5, 8);
    tensor<double, shape<dyn, 5, 8>> r(x.shape());
    counter_rng rr(5);
    for (std::size_t i = 0; i < r.size(); ++i) r[i] = rr.normal(i);
    // Parameters: the block's; the input: through a closure.
    auto loss = [&](tape<cpu>& t) {
        return ops::sum(ops::mul(blk.forward(t, input(t, x), nn::block_run{}), input(t, r)));
    };
    visit_block adapter{blk};
    auto rep = testing::check_parameter_gradients(adapter, loss);
    BOOST_TEST(rep.ok, rep.message);
    // And the input gradient, with the block's parameters fixed.
    TT_CHECK_GRADIENTS([&](tape<cpu>& t, auto xv) { return blk.forward(t, xv, nn::block_run{}); }, x);
}

// An untraced block runs fused branches (attention without kept probabilities, residual linear,
// GELU recomputed); a traced one runs the separate ops a distillation target reads. Same values and
// gradients, with drop path on.
BOOST_AUTO_TEST_CASE(fused_block_equals_traced_block_with_drop_path) {
    nn::block<8, 32, cpu, double> blk;
    blk.heads = 2;
    blk.init(counter_rng(6));
    const auto x = tt::randn<shape<dyn, 5, 8>>(7, 4, 5, 8);
    const auto w = tt::randn<shape<dyn, 5, 8>>(8, 4, 5, 8);
    nn::block_run run{.drop_path = 0.5, .rng = counter_rng(9), .training = true};
    auto go = [&](bool traced) {
        std::vector<double> all;
        blk.visit("block", [](nn::param_ref<double>& p) { *p.has_grad = false; });
        tape<cpu> t;
        auto xv = leaf(t, x);
        nn::block_trace<double, shape<dyn, 5, 8>, cpu> tr;
        auto y = blk.forward(t, xv, run, traced ? &tr : nullptr);
        ops::sum(ops::mul(y, input(t, w))).backward();
        all.assign(y.data(), y.data() + y.size());
        all.insert(all.end(), xv.grad(), xv.grad() + xv.size());
        blk.visit("block", [&](nn::param_ref<double>& p) { all.insert(all.end(), p.grad, p.grad + p.size); });
        return all;
    };
    const auto a = go(false), b = go(true);
    BOOST_REQUIRE(a.size() == b.size());
    double worst = 0;
    for (std::size_t i = 0; i < a.size(); ++i) worst = std::max(worst, std::abs(a[i] - b[i]));
    BOOST_TEST(worst < 1e-12);
    // Parameter gradients of a block in training mode with drop path, checked numerically.
    visit_block adapter{blk};
    auto rep = testing::check_parameter_gradients(
        adapter, [&](tape<cpu>& t) { return ops::sum(ops::mul(blk.forward(t, input(t, x), run), input(t, w))); });
    BOOST_TEST(rep.ok, rep.message);
}

BOOST_AUTO_TEST_CASE(gradient_check_of_a_whole_vit_in_double) {
    auto m = std::make_unique<nn::vit<tiny_cfg, cpu, double>>();
    m->init(counter_rng(11));
    auto img = tt::randn<shape<dyn, 1, 8, 8>>(12, 2, 1, 8, 8);
    tensor<std::int32_t, shape<dyn>> labels({2});
    labels[0] = 1, labels[1] = 2;
    // Lift the head from its tiny init so its gradient path is exercised at a realistic scale.
    for (auto& v : m->head_weight.value) v *= 1e4;
    auto rep = testing::check_parameter_gradients(
        *m, [&](tape<cpu>& t) { return ops::cross_entropy(m->forward(t, input(t, img)), labels); });
    BOOST_TEST(rep.ok, rep.message);
    BOOST_TEST(rep.checked > 300u);
}

BOOST_AUTO_TEST_CASE(gradient_check_of_the_mae_loss_in_double) {
    constexpr nn::vit_config enc{.image = 8, .patch = 4, .channels = 1, .dim = 8, .depth = 1, .heads = 2};
    constexpr nn::mae_decoder_config dec{.dim = 8, .depth = 1, .heads = 2};
    auto m = std::make_unique<nn::mae<enc, dec, cpu, double>>();
    m->init(counter_rng(13));
    auto img = tt::randn<shape<dyn, 1, 8, 8>>(14, 2, 1, 8, 8);
    auto mask = nn::mae_mask<cpu, double>::random(2, 4, 0.5, counter_rng(15));
    auto rep =
        testing::check_parameter_gradients(*m, [&](tape<cpu>& t) { return m->forward(t, input(t, img), mask).loss; });
    BOOST_TEST(rep.ok, rep.message);
    BOOST_TEST(rep.checked > 300u);
}

BOOST_AUTO_TEST_CASE(a_block_can_stop_after_qkv_and_use_other_head_counts) {
    auto m = std::make_unique<nn::vit<tiny_cfg>>();
    auto img = tt::randn<shape<dyn, 1, 8, 8>, float>(16, 2, 1, 8, 8);
    tape<cpu> t;
    nn::block_trace<float, shape<dyn, 5, 8>, cpu> tr;
    nn::vit_run run;
    run.stop_block = 2;
    run.stop_after_qkv = true;
    run.trace_block = 2;
    run.trace_heads = 4;  // the adaptive block: 4 heads of width 2 instead of 2 of width 4
    const std::size_t before = m->blocks_run();
    (void)m->forward_features(t, input(t, img), run, &tr);
    BOOST_TEST(m->blocks_run() - before == 2u);
    BOOST_TEST(!tr.complete);
    BOOST_TEST(tr.q.extent(1) == 4u);
    BOOST_TEST(tr.q.extent(3) == 2u);
    run.stop_block = 1;
    run.stop_after_qkv = false;
    run.trace_block = 1;
    run.trace_heads = 0;
    (void)m->forward_features(t, input(t, img), run, &tr);
    BOOST_TEST(m->blocks_run() - before == 3u);
    BOOST_TEST(tr.complete);
    BOOST_TEST(tr.attn.extent(1) == 2u);
}

BOOST_AUTO_TEST_SUITE_END()
