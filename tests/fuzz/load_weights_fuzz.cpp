// libFuzzer target: io::load_weights of arbitrary bytes into small ViTs in every load mode (strict, as an
// encoder, as a classifier from an encoder, report) and into an MAE. A load either succeeds or throws a
// tinymim::error; one that throws must leave the model exactly as it was.
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <vector>

#include "input_file.hpp"
#include "small_models.hpp"
#include "tinymim/io/weights.hpp"

namespace {
using namespace tinymim;

template <class Model>
std::vector<float> values_of(Model& m) {
    std::vector<float> v;
    for (auto& r : io::collect(m)) v.insert(v.end(), r.value, r.value + r.size);
    return v;
}

template <class Model>
void load_into(Model& m, const std::filesystem::path& p, const io::load_options& opt) {
    const auto before = values_of(m);
    try {
        (void)io::load_weights(m, p, opt);
    } catch (const tinymim::error&) {
        const auto after = values_of(m);
        if (std::memcmp(before.data(), after.data(), before.size() * sizeof(float)) != 0) std::abort();
    }
}

struct models {
    fuzz::encoder_t encoder;
    fuzz::classifier_t classifier;
    fuzz::mae_t mae;
    models() {
        encoder.init(counter_rng(1));
        classifier.init(counter_rng(2));
        mae.init(counter_rng(3));
    }
};
}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    static auto m = std::make_unique<models>();
    const auto& p = fuzz::write_input("load_weights", data, size);
    load_into(m->encoder, p, {});
    load_into(m->encoder, p, io::load_options::as_encoder());
    load_into(m->classifier, p, io::load_options::as_classifier());
    load_into(m->classifier, p, io::load_options::non_strict());
    load_into(m->mae, p, {});
    return 0;
}
