// expect: pairing: teacher and student must see the same tokens
#include <tinymim/distill/pairing.hpp>
int main() {
    using namespace tinymim;
    using p = distill::pairing<nn::vit<nn::vit_small>, nn::vit<nn::fm_tiny>, distill::block_output, distill::smooth_l1>;
    return int(p::n_terms);
}
