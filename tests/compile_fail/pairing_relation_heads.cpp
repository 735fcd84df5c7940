// expect: pairing: relation heads: both the teacher's and the student's widths must divide by R
// Widths 48 and 20 do not both divide into 3 relation heads.
#include <tinymim/distill/pairing.hpp>

namespace d = tinymim::distill;
constexpr tinymim::nn::vit_config tc{.image = 8, .patch = 4, .channels = 1, .dim = 48, .depth = 2, .heads = 6};
constexpr tinymim::nn::vit_config sc{.image = 8, .patch = 4, .channels = 1, .dim = 20, .depth = 2, .heads = 5};
using P = d::pairing<tinymim::nn::vit<tc>, tinymim::nn::vit<sc>, d::relation_heads<3, d::qq, d::kk>, d::kl_divergence>;
int main() { return int(P::n_terms); }
