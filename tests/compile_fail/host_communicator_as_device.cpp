// expect: dist: any_communicator views a host-memory communicator (dist::mpi), any_device_communicator a device-memory one
#include <tinymim/dist/any_communicator.hpp>
#include <tinymim/dist/single.hpp>
// A host communicator given where a GPU model's device communicator goes (train::task_options::device_comm).
int main() {
    tinymim::dist::single host;
    tinymim::dist::any_device_communicator view(host);
    (void)view;
}
