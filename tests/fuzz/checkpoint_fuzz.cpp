// libFuzzer target: what `--resume` does with a checkpoint file, on arbitrary bytes: its metadata read
// (train::read_checkpoint_meta) and the model and AdamW state loaded (train::detail::load_model_checkpoint).
// A tinymim::error is the expected answer to a bad file; metadata read without error must be usable (an
// optimizer step count per parameter group, or the load refuses it).
#include <cstdint>
#include <memory>

#include "input_file.hpp"
#include "small_models.hpp"
#include "tinymim/optim/adamw.hpp"
#include "tinymim/train/checkpoint.hpp"
#include "tinymim/train/tasks.hpp"

namespace {
using namespace tinymim;
struct state {
    fuzz::classifier_t model;
    optim::adamw<float> opt;
    state() : opt(io::collect(model), {}) { model.init(counter_rng(2)); }
};
}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    static auto s = std::make_unique<state>();
    const auto& p = fuzz::write_input("checkpoint", data, size);
    try {
        const auto meta = train::read_checkpoint_meta(p);
        train::detail::load_model_checkpoint(p, meta, s->model, s->opt);
    } catch (const tinymim::error&) {}
    return 0;
}
