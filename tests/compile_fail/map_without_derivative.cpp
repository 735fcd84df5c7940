// expect: ops::map: f needs
// A functor without a derivative cannot be mapped: the backward would have nothing to call.
#include <tinymim/ops/map.hpp>

struct no_derivative {
    float operator()(float x) const { return x; }
};

int main() {
    tinymim::tape<tinymim::cpu> t;
    tinymim::tensor<float, tinymim::shape<4>> x;
    (void)tinymim::ops::map(tinymim::input(t, x), no_derivative{});
}
