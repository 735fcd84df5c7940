// expect: bf16_mixed keeps float master weights
#include <tinymim/nn/vit.hpp>
int main() {
    using namespace tinymim;
    nn::vit<nn::fm_tiny, cpu, double, bf16_mixed> model;  // mixed precision on the gradient checks' type
    (void)model;
}
