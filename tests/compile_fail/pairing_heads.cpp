// expect: pairing: relation targets need the student's tapped block to use the teacher's head count
#include <tinymim/distill/pairing.hpp>
int main() {
    using namespace tinymim;
    constexpr nn::vit_config t{.image = 28, .patch = 4, .channels = 1, .dim = 48, .depth = 3, .heads = 6};
    constexpr nn::vit_config s{.image = 28, .patch = 4, .channels = 1, .dim = 20, .depth = 2, .heads = 2};
    using p =
        distill::pairing<nn::vit<t>, nn::vit<s>, distill::relations<distill::qk, distill::vv>, distill::kl_divergence>;
    return int(p::relation_heads);
}
