// expect: permute: the axes must be a permutation
// Axis 0 twice and axis 2 never: not a reordering of the axes.
#include <tinymim/ops/permute.hpp>

int main() {
    tinymim::tape<tinymim::cpu> t;
    tinymim::tensor<float, tinymim::shape<2, 3, 4>> x;
    (void)tinymim::ops::permute<0, 1, 0>(tinymim::input(t, x));
}
