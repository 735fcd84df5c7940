// expect: linear: the input's last extent must equal the weight's in_features
#include <tinymim/ops/linear.hpp>
int main() {
    using namespace tinymim;
    tape<cpu> t;
    tensor<float, shape<dyn, 50, 192>> x;
    tensor<float, shape<576, 384>> w;
    (void)ops::linear(input(t, x), input(t, w));
}
