// expect: tensor<T, S, B>: S must be a tinymim::shape<...>
#include <tinymim/tensor/tensor.hpp>
int main() {
    tinymim::tensor<float, int> t;
    (void)t;
}
