// expect: reduction: the axis is out of range
// A rank-2 tensor has no axis 2 to take the maximum over.
#include <tinymim/ops/reduce.hpp>

int main() {
    tinymim::tape<tinymim::cpu> t;
    tinymim::tensor<float, tinymim::shape<3, 4>> x;
    (void)tinymim::ops::max<2>(tinymim::input(t, x), tinymim::ops::keepdim);
}
