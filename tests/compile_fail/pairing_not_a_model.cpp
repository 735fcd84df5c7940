// expect: pairing: the teacher is not a traceable_model
#include <tinymim/distill/pairing.hpp>
// Looks like a ViT (a config and the constants) but cannot run its blocks with trace requests.
struct almost_a_vit {
    using value_type = float;
    using backend_type = tinymim::cpu;
    using image_shape = tinymim::shape<tinymim::dyn, 1, 28, 28>;
    static constexpr tinymim::nn::vit_config config = tinymim::nn::fm_tiny;
    static constexpr std::size_t D = config.dim, P = config.patches(), depth = config.depth;
};
int main() {
    using namespace tinymim;
    using p = distill::pairing<almost_a_vit, nn::vit<nn::fm_tiny>, distill::block_output, distill::smooth_l1>;
    return int(p::n_terms);
}
