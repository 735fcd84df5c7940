// io::load_weights' modes: the legitimate partial loads (an MAE file into its encoder, an encoder into a
// classifier, a classifier of another class count) load and say what they skipped; a half-filled file, a
// foreign tensor or a wrong shape is an error that lists the tensors and leaves the model unchanged.
#include <boost/test/unit_test.hpp>

#include <unistd.h>

#include <filesystem>
#include <memory>
#include <string>

#include "tinymim/io/weights.hpp"
#include "tinymim/nn/mae.hpp"
#include "tinymim/nn/vit.hpp"

using namespace tinymim;
namespace fs = std::filesystem;

namespace {
fs::path temp_file(const std::string& name) {
    const fs::path dir = fs::temp_directory_path() / ("tinymim_load_modes_" + std::to_string(::getpid()));
    fs::create_directories(dir);
    return dir / name;
}

constexpr nn::vit_config encoder_cfg{.image = 8, .patch = 4, .channels = 1, .dim = 8, .depth = 2, .heads = 2};
constexpr nn::vit_config classifier_cfg = encoder_cfg.with_head(nn::pool::avg, 3);
constexpr nn::mae_decoder_config decoder_cfg{.dim = 8, .depth = 1, .heads = 2};
using encoder_t = nn::vit<encoder_cfg>;
using classifier_t = nn::vit<classifier_cfg>;
using mae_t = nn::mae<encoder_cfg, decoder_cfg>;

template <class Model>
fs::path saved(const std::string& name, std::uint64_t seed) {
    auto m = std::make_unique<Model>();
    m->init(counter_rng(seed));
    const auto p = temp_file(name);
    io::save_weights(*m, p);
    return p;
}

// The first `keep` tensors of a file, written as a new file: a half-filled weights file.
fs::path truncated(const fs::path& from, std::size_t keep, const std::string& name) {
    io::safetensors_reader in(from);
    io::safetensors_writer out;
    std::size_t n = 0;
    for (const auto& t : in.tensors()) {
        if (n++ == keep) break;
        std::vector<float> v(t.numel());
        in.read_into(t.name, v.data(), v.size());
        out.add(t.name, t.shape, v.data());
    }
    const auto p = temp_file(name);
    out.write(p);
    return p;
}

// The error a load throws (empty when it does not).
template <class Model>
std::string load_error(Model& m, const fs::path& p, const io::load_options& opt) {
    try {
        (void)io::load_weights(m, p, opt);
    } catch (const tinymim::error& e) {
        return e.what();
    }
    return {};
}

bool has(const std::string& text, const std::string& part) { return text.find(part) != std::string::npos; }
}  // namespace

BOOST_AUTO_TEST_SUITE(load_modes)

BOOST_AUTO_TEST_CASE(an_mae_file_loads_into_its_encoder_and_reports_the_decoder) {
    const auto p = saved<mae_t>("mae.safetensors", 1);
    auto e = std::make_unique<encoder_t>();
    const auto rep = io::load_weights(*e, p, io::load_options::as_encoder());
    BOOST_TEST(rep.missing.empty(), rep.summary());
    BOOST_TEST(!rep.unexpected.empty(), rep.summary());
    for (const auto& u : rep.unexpected) BOOST_TEST((u.rfind("decoder_", 0) == 0 || u.rfind("mask_token", 0) == 0), u);
    BOOST_TEST(rep.loaded.size() == io::collect(*e).size());
    // Strict refuses the same file, naming a decoder tensor.
    auto s = std::make_unique<encoder_t>();
    BOOST_TEST(has(load_error(*s, p, {}), "decoder_pred.weight"));
}

BOOST_AUTO_TEST_CASE(an_encoder_loads_into_a_classifier_whose_head_and_fc_norm_keep_their_init) {
    const auto p = saved<encoder_t>("encoder.safetensors", 2);
    auto c = std::make_unique<classifier_t>();
    c->init(counter_rng(3));
    const float head_before = c->head_weight.value[0];
    const auto rep = io::load_weights(*c, p, io::load_options::as_classifier());
    BOOST_TEST(rep.missing.size() == 4u, rep.summary());     // fc_norm.{weight,bias}, head.{weight,bias}
    BOOST_TEST(rep.unexpected.size() == 2u, rep.summary());  // norm.{weight,bias}: global pooling replaces them
    BOOST_TEST(c->head_weight.value[0] == head_before);
    // An MAE file into a classifier: its decoder and the final norm are left out the same way.
    auto c2 = std::make_unique<classifier_t>();
    const auto rep2 = io::load_weights(*c2, saved<mae_t>("mae2.safetensors", 4), io::load_options::as_classifier());
    BOOST_TEST(rep2.missing.size() == 4u, rep2.summary());
}

BOOST_AUTO_TEST_CASE(a_classifier_of_another_class_count_keeps_its_own_head) {
    constexpr nn::vit_config five = encoder_cfg.with_head(nn::pool::avg, 5);
    const auto p = saved<nn::vit<five>>("five.safetensors", 5);
    auto c = std::make_unique<classifier_t>();
    c->init(counter_rng(6));
    const auto rep = io::load_weights(*c, p, io::load_options::as_classifier());
    BOOST_TEST(rep.mismatched.size() == 2u, rep.summary());  // head.weight [3, 8] vs [5, 8], head.bias
    BOOST_TEST(rep.missing.empty(), rep.summary());
}

BOOST_AUTO_TEST_CASE(a_half_filled_file_is_refused_in_every_mode_and_nothing_is_loaded) {
    const auto full = saved<encoder_t>("full.safetensors", 7);
    const auto half = truncated(full, 2, "half.safetensors");
    for (const auto& opt : {io::load_options{}, io::load_options::as_encoder(), io::load_options::as_classifier()}) {
        auto e = std::make_unique<encoder_t>();
        e->init(counter_rng(8));
        const float before = e->blocks[1].mlp.fc2.weight.value[0];
        const float cls_before = e->cls_token.value[0];
        std::string err;
        if (opt.mode == io::load_mode::classifier) {
            auto c = std::make_unique<classifier_t>();
            c->init(counter_rng(8));
            const float c_before = c->cls_token.value[0];
            err = load_error(*c, half, opt);
            BOOST_TEST(c->cls_token.value[0] == c_before);
        } else {
            err = load_error(*e, half, opt);
        }
        BOOST_TEST_CONTEXT("mode " << int(opt.mode)) {
            BOOST_TEST(has(err, "half.safetensors"), err);
            BOOST_TEST(has(err, "missing from the file"), err);
            BOOST_TEST(has(err, "blocks.1.mlp.fc2.weight [8, 32]"), err);  // a missing encoder tensor, by name
            BOOST_TEST(has(err, "nothing was loaded"), err);
        }
        BOOST_TEST(e->blocks[1].mlp.fc2.weight.value[0] == before);
        BOOST_TEST(e->cls_token.value[0] == cls_before);
    }
}

BOOST_AUTO_TEST_CASE(a_foreign_tensor_or_a_wrong_shape_is_refused) {
    // A deeper model's file: its extra block is not something pre-training or a head adds.
    constexpr nn::vit_config deeper{.image = 8, .patch = 4, .channels = 1, .dim = 8, .depth = 3, .heads = 2};
    const auto p = saved<nn::vit<deeper>>("deeper.safetensors", 9);
    auto e = std::make_unique<encoder_t>();
    const std::string err = load_error(*e, p, io::load_options::as_encoder());
    BOOST_TEST(has(err, "unexpected in the file"), err);
    BOOST_TEST(has(err, "blocks.2.attn.qkv.weight"), err);
    BOOST_TEST(has(err, "as an encoder"), err);
    // A wider model's file into a classifier: the encoder's shapes differ, which only the head may.
    constexpr nn::vit_config wider{.image = 8, .patch = 4, .channels = 1, .dim = 12, .depth = 2, .heads = 2};
    auto c = std::make_unique<classifier_t>();
    const std::string err2 =
        load_error(*c, saved<nn::vit<wider>>("wider.safetensors", 10), io::load_options::as_classifier());
    BOOST_TEST(has(err2, "blocks.0.attn.qkv.weight: expected [24, 8], found [36, 12]"), err2);
    BOOST_TEST(has(err2, "as a classifier"), err2);
}

BOOST_AUTO_TEST_SUITE_END()
