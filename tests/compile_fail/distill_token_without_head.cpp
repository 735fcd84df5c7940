// expect: a distillation token comes after a class token and needs a classification head
#include <tinymim/nn/vit.hpp>
int main() {
    using namespace tinymim;
    constexpr nn::vit_config c{
        .image = 8, .patch = 4, .channels = 1, .dim = 8, .depth = 1, .heads = 2, .distill_token = true};
    nn::vit<c> m;  // pool::none: nothing reads the distillation token
    (void)m;
}
