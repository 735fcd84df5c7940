// Writes the seed corpora of the load_weights and checkpoint targets: the small models' weights (encoder,
// classifier, MAE) and a classifier's checkpoint after one AdamW step.
//   build-fuzz/tests/fuzz/fuzz_make_seeds tests/fuzz/corpus
#include <cstdio>
#include <filesystem>
#include <memory>

#include "small_models.hpp"
#include "tinymim/io/weights.hpp"
#include "tinymim/optim/adamw.hpp"
#include "tinymim/train/tasks.hpp"

int main(int argc, char** argv) {
    using namespace tinymim;
    if (argc != 2) {
        std::fprintf(stderr, "usage: %s <corpus folder>\n", argv[0]);
        return 2;
    }
    const std::filesystem::path out = argv[1];
    std::filesystem::create_directories(out / "load_weights");
    std::filesystem::create_directories(out / "checkpoint");
    auto enc = std::make_unique<fuzz::encoder_t>();
    auto cls = std::make_unique<fuzz::classifier_t>();
    auto mae = std::make_unique<fuzz::mae_t>();
    enc->init(counter_rng(1));
    cls->init(counter_rng(2));
    mae->init(counter_rng(3));
    io::save_weights(*enc, out / "load_weights" / "encoder.safetensors");
    io::save_weights(*cls, out / "load_weights" / "classifier.safetensors");
    io::save_weights(*mae, out / "load_weights" / "mae.safetensors");
    optim::adamw<float> opt(io::collect(*cls), {});
    train::detail::save_model_checkpoint(out / "checkpoint" / "classifier.ckpt", 1, "finetune", 7, *cls, opt);
    std::printf("wrote the seeds under %s\n", out.c_str());
    return 0;
}
