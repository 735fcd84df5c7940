// The tool's model names -> compile-time configurations, and the instantiated distillation pairings.
#pragma once

#include <string>
#include <vector>

#include <tinymim/tinymim.hpp>

namespace tool {

using namespace tinymim;

inline const std::vector<std::string> model_names = {"fm-tiny",   "fm-small", "fm-base",  "vit-tiny",
                                                     "vit-small", "vit-base", "vit-large"};

// Calls f.template operator()<cfg>() for the named configuration (head: none).
template <class F>
decltype(auto) with_model(const std::string& name, F&& f) {
    if (name == "fm-tiny") return f.template operator()<nn::fm_tiny>();
    if (name == "fm-small") return f.template operator()<nn::fm_small>();
    if (name == "fm-base") return f.template operator()<nn::fm_base>();
    if (name == "vit-tiny") return f.template operator()<nn::vit_tiny>();
    if (name == "vit-small") return f.template operator()<nn::vit_small>();
    if (name == "vit-base") return f.template operator()<nn::vit_base>();
    if (name == "vit-large") return f.template operator()<nn::vit_large>();
    std::string all;
    for (const auto& n : model_names) all += (all.empty() ? "" : ", ") + n;
    throw tinymim::error("unknown model '" + name + "'; choose one of: " + all);
}

// MAE decoder for a model family: MAE's (512 wide, 8 blocks) for the 224 models, a small one for 28 x 28.
template <nn::vit_config C>
inline constexpr nn::mae_decoder_config decoder_for = C.image == 28 ? nn::mae_decoder_fm : nn::mae_decoder_large;

template <nn::vit_config C, class B = cpu, class P = fp32>
using mae_for = nn::mae<C, decoder_for<C>, B, float, P>;

// The tool's backend-generic commands: <name>_on<B>, instantiated for the CPU in cmd_*.cpp and for
// CUDA in cuda_commands.cu (when the tool is built with the CUDA backend).

// Number of classes of the fine-tuning head: Fashion-MNIST 10, ImageNet-sized models 1000 unless told.
inline std::size_t default_classes(const std::string& model) { return model.rfind("fm-", 0) == 0 ? 10 : 1000; }

}  // namespace tool
