// expect: kl_divergence: teacher and student must have one shape
#include <tinymim/ops/losses.hpp>
int main() {
    using namespace tinymim;
    tape<cpu> t;
    tensor<float, shape<dyn, 3, 50, 50>> teacher;
    tensor<float, shape<dyn, 6, 50, 50>> student;
    (void)ops::kl_divergence(input(t, teacher), input(t, student));
}
