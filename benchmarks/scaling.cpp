// Data-parallel TinyMIM distillation (fm-small -> fm-tiny, relations QK + VV, random weights and images) on the
// ranks mpirun starts, for benchmarks/scaling.sh. Prints one JSON line (rank 0): the group's images/s with its
// gradient allreduce (data-parallel steps) and without (each rank steps alone on its shard: the same compute),
// the exposed communication per step (their step-time difference), the gradient allreduce alone per step
// (dist::average_gradients on the student's gradients), and dist::mpi's allreduce times over message sizes
// (loopback latency and bandwidth, for docs/results/scaling.md's model).
//   mpirun -np R tinymim_scaling [global_batch=256] [steps=8]      (OMP_NUM_THREADS: threads per rank)
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <vector>

#include <nlohmann/json.hpp>

#include <tinymim/dist/data_parallel.hpp>
#include <tinymim/dist/mpi.hpp>
#include <tinymim/distill/distiller.hpp>

using namespace tinymim;
namespace d = tinymim::distill;

namespace {
using clock_type = std::chrono::steady_clock;
double since(clock_type::time_point t) { return std::chrono::duration<double>(clock_type::now() - t).count(); }

using teacher_t = nn::vit<nn::fm_small>;
using student_t = nn::vit<nn::fm_tiny>;
using pairing_t = d::pairing<teacher_t, student_t, d::relations<d::qk, d::vv>, d::kl_divergence>;

tensor<float, shape<dyn, 1, 28, 28>> images(std::size_t n, std::uint64_t seed) {
    tensor<float, shape<dyn, 1, 28, 28>> x({n, 1, 28, 28});
    const counter_rng r(seed);
    for (std::size_t i = 0; i < x.size(); ++i) x[i] = float(r.normal(i));
    return x;
}

// Seconds per step of `steps` distillation steps after one warm-up step, the group waiting for its slowest rank.
double seconds_per_step(dist::mpi& comm, bool data_parallel, std::size_t global, std::size_t steps) {
    auto teacher = std::make_unique<teacher_t>();
    auto student = std::make_unique<student_t>();
    teacher->init(counter_rng(1));
    student->init(counter_rng(2));
    d::distiller<pairing_t> trainer(*teacher, *student, {.drop_path = 0.1});
    if (data_parallel) dist::make_data_parallel(trainer, comm, global);
    const auto x = images(global / std::size_t(comm.size()), 3 + std::uint64_t(comm.rank()));
    (void)trainer.step(x, x, 1e-4);
    comm.barrier();
    const auto t = clock_type::now();
    for (std::size_t s = 0; s < steps; ++s) (void)trainer.step(x, x, 1e-4);
    comm.barrier();
    return since(t) / double(steps);
}

// Seconds of one dist::average_gradients over the student's gradients (each rank's, from one backward).
double allreduce_alone(dist::mpi& comm, std::size_t global, std::size_t* values) {
    auto teacher = std::make_unique<teacher_t>();
    auto student = std::make_unique<student_t>();
    teacher->init(counter_rng(1));
    student->init(counter_rng(2));
    d::distiller<pairing_t> trainer(*teacher, *student, {.drop_path = 0.1});
    const auto x = images(global / std::size_t(comm.size()), 3);
    tape<cpu> t;
    auto l = trainer.loss(t, x, x);
    l.total.backward();
    auto& opt = trainer.optimizer();
    *values = 0;
    for (const auto& s : opt.slots()) *values += s.param.size;
    dist::average_gradients(comm, opt);  // warm-up: the bucket buffer is allocated
    const int reps = 20;
    comm.barrier();
    const auto t0 = clock_type::now();
    for (int i = 0; i < reps; ++i) dist::average_gradients(comm, opt);
    comm.barrier();
    return since(t0) / reps;
}
}  // namespace

int main(int argc, char** argv) {
    dist::mpi comm;
    const std::size_t global = argc > 1 ? std::strtoul(argv[1], nullptr, 10) : 256;
    const std::size_t steps = argc > 2 ? std::strtoul(argv[2], nullptr, 10) : 8;
    const double with = seconds_per_step(comm, true, global, steps);
    const double without = seconds_per_step(comm, false, global, steps);
    std::size_t values = 0;
    const double alone = allreduce_alone(comm, global, &values);
    nlohmann::json sizes = nlohmann::json::array();
    for (std::size_t n = 1; n <= (std::size_t(1) << 24); n *= 16) {  // 4 B .. 64 MB of floats
        std::vector<float> buf(n, 1.0f);
        const int reps = n < 65536 ? 200 : 10;
        comm.allreduce(buf.data(), n, dist::reduce_op::sum);
        comm.barrier();
        const auto t = clock_type::now();
        for (int i = 0; i < reps; ++i) comm.allreduce(buf.data(), n, dist::reduce_op::sum);
        sizes.push_back({{"bytes", n * sizeof(float)}, {"seconds", since(t) / reps}});
    }
    if (comm.rank() != 0) return 0;
    nlohmann::json j{{"ranks", comm.size()},
                     {"threads_per_rank", num_threads()},
                     {"global_batch", global},
                     {"steps", steps},
                     {"images_per_second", double(global) / with},
                     {"images_per_second_without_allreduce", double(global) / without},
                     {"exposed_communication_seconds", with - without},
                     {"gradient_allreduce_seconds", alone},
                     {"gradient_values", values},
                     {"allreduce", sizes}};
    std::printf("%s\n", j.dump().c_str());
}
