// expect: dist: the communicator's memory must be the model's: a CPU model takes a host communicator
#include <tinymim/dist/data_parallel.hpp>
#include <tinymim/dist/single.hpp>
#include <tinymim/optim/adamw.hpp>
// A communicator whose buffers live on a device (as dist::nccl's), given a CPU model's optimizer.
struct device_comm : tinymim::dist::single {
    static constexpr bool device_memory = true;
};
int main() {
    using namespace tinymim;
    optim::adamw<float, cpu> opt({}, {});
    device_comm c;
    dist::broadcast_parameters(c, opt);
}
