// expect: precision_policy
#include <tinymim/nn/vit.hpp>
struct fp16 {};
int main() {
    using namespace tinymim;
    nn::vit<nn::fm_tiny, cpu, float, fp16> model;  // not one of the library's policies
    (void)model;
}
