// expect: split_heads: the width must be a static multiple of the head count
#include <tinymim/tensor/shape_ops.hpp>
int main() {
    using bad = tinymim::shape_ops::split_heads_t<tinymim::shape<tinymim::dyn, 50, 192>, 5>;
    return int(bad::rank);
}
