// expect: concat: the static extents differ outside the axis
// Joining [2, 3, 4] and [2, 5, 6] along axis 1 leaves widths 4 and 6 in one tensor.
#include <tinymim/ops/concat.hpp>

int main() {
    tinymim::tape<tinymim::cpu> t;
    tinymim::tensor<float, tinymim::shape<2, 3, 4>> a;
    tinymim::tensor<float, tinymim::shape<2, 5, 6>> b;
    (void)tinymim::ops::concat<1>(tinymim::input(t, a), tinymim::input(t, b));
}
