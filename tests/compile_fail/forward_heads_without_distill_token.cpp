// expect: vit::forward_heads: this configuration has no distillation token
#include <tinymim/nn/vit.hpp>
int main() {
    using namespace tinymim;
    constexpr nn::vit_config c =
        nn::vit_config{.image = 8, .patch = 4, .channels = 1, .dim = 8, .depth = 1, .heads = 2}.with_head(nn::pool::avg,
                                                                                                          3);
    nn::vit<c> m;
    tape<cpu> t;
    tensor<float, shape<dyn, 1, 8, 8>> img({1, 1, 8, 8});
    (void)m.forward_heads(t, input(t, img), nn::vit_run{});
}
