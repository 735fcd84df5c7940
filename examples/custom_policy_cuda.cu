// The policy of custom_policy.hpp trained on the GPU: the same source as on the CPU, instantiated by nvcc.
// Without a CUDA device it says so and exits with 77 (CTest: skipped).
#include "custom_policy.hpp"

#include <cstdlib>

#include <tinymim/backend/cuda/cuda.cuh>

int main() {
    if (!tinymim::cuda_device_available()) {
        std::printf("SKIPPED: no CUDA device here; custom_policy_cuda was compiled and needs a GPU to run\n");
        return 77;
    }
    std::printf("CUDA device: %s\n", tinymim::cuda_device_name().c_str());
    return my::train_custom_policy<tinymim::backends::cuda>();
}
