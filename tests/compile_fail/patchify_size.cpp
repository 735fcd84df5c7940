// expect: patchify: the image size must be a multiple of the patch size
#include <tinymim/ops/tokens.hpp>
int main() {
    using namespace tinymim;
    tape<cpu> t;
    tensor<float, shape<dyn, 1, 28, 28>> img;
    (void)ops::patchify<5>(input(t, img));
}
