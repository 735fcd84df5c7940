// expect: term: this loss compares distributions
#include <tinymim/distill/pairing.hpp>
int main() {
    using namespace tinymim;
    using p =
        distill::pairing<nn::vit<nn::fm_small>, nn::vit<nn::fm_tiny>, distill::block_output, distill::kl_divergence>;
    return int(p::n_terms);
}
