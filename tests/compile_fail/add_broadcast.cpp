// expect: add: the shapes do not broadcast
#include <tinymim/ops/elementwise.hpp>
int main() {
    using namespace tinymim;
    tape<cpu> t;
    tensor<float, shape<dyn, 50, 192>> x;
    tensor<float, shape<1, 49, 192>> pos;
    (void)ops::add(input(t, x), input(t, pos));
}
