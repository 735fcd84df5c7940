// expect: pairing: two terms tap one student block with different head counts
// At student block 2, qk (no relation heads) needs the teacher's 6 heads and resplit<4, qq> the student's 3.
#include <tinymim/distill/pairing.hpp>

namespace d = tinymim::distill;
constexpr tinymim::nn::vit_config tc{.image = 8, .patch = 4, .channels = 1, .dim = 24, .depth = 2, .heads = 6};
constexpr tinymim::nn::vit_config sc{.image = 8, .patch = 4, .channels = 1, .dim = 12, .depth = 2, .heads = 3};
using P = d::pairing<tinymim::nn::vit<tc>, tinymim::nn::vit<sc>,
                     d::terms<d::term<d::qk, d::kl_divergence>, d::term<d::resplit<4, d::qq>, d::kl_divergence>>,
                     d::per_term>;
int main() { return int(P::n_terms); }
