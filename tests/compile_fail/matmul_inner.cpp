// expect: matmul: inner extents differ
#include <tinymim/ops/matmul.hpp>
int main() {
    using namespace tinymim;
    tape<cpu> t;
    tensor<float, shape<dyn, 50, 192>> a;
    tensor<float, shape<384, 10>> b;
    (void)ops::matmul(input(t, a), input(t, b));
}
