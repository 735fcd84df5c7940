// A separate project using an installed TinyMIM: one differentiable computation, checked.
#include <cstdio>

#include <tinymim/tinymim.hpp>

int main() {
    using namespace tinymim;
    tape<cpu> t;
    tensor<float, shape<2, 3>> x;
    for (std::size_t i = 0; i < x.size(); ++i) x[i] = float(i);
    auto v = leaf(t, x);
    auto y = ops::sum(ops::mul(v, v));  // sum of squares: 0+1+4+9+16+25 = 55, gradient 2x
    y.backward();
    const bool ok = y.data()[0] == 55.0f && v.grad()[5] == 10.0f;
    std::printf(ok ? "consumer ok\n" : "consumer wrong\n");
    return ok ? 0 : 1;
}
