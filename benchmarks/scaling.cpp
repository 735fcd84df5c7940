// Data-parallel TinyMIM distillation (fm-small -> fm-tiny, relations QK + VV, random weights and images) on the
// ranks mpirun starts, for benchmarks/scaling.sh. Prints one JSON line (rank 0) with the median step time of four
// trainers, stepped in turns (a few steps each, several rounds) so that the machine's drift hits them alike:
//   overlap   data-parallel steps as the library runs them: buckets start during the backward;
//   after     the same buckets, all started after the backward (no overlap);
//   barrier   a barrier where the allreduce would be: the ranks wait for each other, nothing is sent;
//   alone     each rank steps on its shard with no collective (the same compute).
// Besides each step, it times the data-parallel part of it on every rank: the reducer's work in the backward plus
// the sync after it (its finish, or the barrier), and keeps each step's least time over the ranks — the last rank
// to arrive, which waited for no one. overlap - barrier of that is the exposed communication; whole steps differ
// by that too, but their noise on two shared cores (several ms) is larger than the allreduce. Also the gradient
// allreduce alone (dist::average_gradients on the student's gradients) and dist::mpi's allreduce times over message
// sizes (loopback latency and bandwidth, for docs/results/scaling.md's model).
//   mpirun -np R tinymim_scaling [global_batch=256] [steps=24] [bucket_bytes]   (OMP_NUM_THREADS: threads per rank)
// bucket_bytes sets both buckets of dist::data_parallel_options (default: its defaults, 25 MB after a first 1 MB).
#include <algorithm>
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

enum class mode { overlap, after, barrier, alone };
constexpr const char* mode_names[] = {"overlap", "after", "barrier", "alone"};

using reducer_t = dist::gradient_reducer<dist::mpi, float, cpu>;

// Times what the data-parallel part of a step costs this rank: the reducer's work during the backward (each
// report) and the sync after it (the reducer's finish, or the barrier).
struct timed_hook final : gradient_hook {
    reducer_t* reducer = nullptr;
    double seconds = 0;
    void gradient_final(const void* g) override {
        const auto t = clock_type::now();
        reducer->gradient_final(g);
        seconds += since(t);
    }
    void backward_begins(const void* const* g, std::size_t n) override {
        const auto t = clock_type::now();
        reducer->backward_begins(g, n);
        seconds += since(t);
    }
};

struct trainer_run {
    std::unique_ptr<teacher_t> teacher = std::make_unique<teacher_t>();
    std::unique_ptr<student_t> student = std::make_unique<student_t>();
    std::unique_ptr<d::distiller<pairing_t>> trainer;
    std::unique_ptr<reducer_t> reducer;
    timed_hook hook;
    std::vector<double> step_seconds, sync_seconds, hook_seconds;  // per step; sync: the hook's and the sync's time
};

void set_up(trainer_run& r, mode m, dist::mpi& comm, std::size_t global, const dist::data_parallel_options& o) {
    r.teacher->init(counter_rng(1));
    r.student->init(counter_rng(2));
    r.trainer = std::make_unique<d::distiller<pairing_t>>(*r.teacher, *r.student, d::distill_options{.drop_path = 0.1});
    auto& t = *r.trainer;
    const std::size_t first = global / std::size_t(comm.size()) * std::size_t(comm.rank());
    if (m == mode::alone) return;
    dist::broadcast_parameters(comm, t.optimizer());
    r.reducer = std::make_unique<reducer_t>(comm, t.optimizer(), o);
    r.hook.reducer = r.reducer.get();
    t.data_parallel(
        first,
        [&r, &comm, m](auto&, auto&) {
            const auto t0 = clock_type::now();
            if (m == mode::barrier)
                comm.barrier();
            else
                r.reducer->finish();
            r.sync_seconds.push_back(since(t0) + r.hook.seconds);
            r.hook_seconds.push_back(r.hook.seconds);
            r.hook.seconds = 0;
        },
        m == mode::overlap ? &r.hook : nullptr);
}

double median(std::vector<double> v) {
    std::sort(v.begin(), v.end());
    return v[v.size() / 2];
}
// The median over steps of the sync time of each step's last rank to arrive (the least time of the ranks): what
// the collective itself cost, without the wait for a slower rank.
double last_rank_median(dist::mpi& comm, const std::vector<double>& mine) {
    const std::size_t n = mine.size(), ranks = std::size_t(comm.size());
    std::vector<double> all(n * ranks, 0.0);
    std::copy(mine.begin(), mine.end(), all.begin() + std::ptrdiff_t(n * std::size_t(comm.rank())));
    comm.allreduce(all.data(), all.size(), dist::reduce_op::sum);
    std::vector<double> least(n);
    for (std::size_t s = 0; s < n; ++s) {
        least[s] = all[s];
        for (std::size_t r = 1; r < ranks; ++r) least[s] = std::min(least[s], all[r * n + s]);
    }
    return median(least);
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
    const std::size_t steps = argc > 2 ? std::strtoul(argv[2], nullptr, 10) : 24;
    dist::data_parallel_options o;
    if (argc > 3) o.bucket_bytes = o.first_bucket_bytes = std::strtoul(argv[3], nullptr, 10);
    trainer_run runs[4];
    for (int m = 0; m < 4; ++m) set_up(runs[m], mode(m), comm, global, o);
    const auto x = images(global / std::size_t(comm.size()), 3 + std::uint64_t(comm.rank()));
    for (auto& r : runs) {  // warm-up: buffers allocated
        (void)r.trainer->step(x, x, 1e-4);
        r.sync_seconds.clear();
        r.hook_seconds.clear();
    }
    const std::size_t turn = 4;
    for (std::size_t done = 0; done < steps; done += turn)
        for (auto& r : runs) {
            comm.barrier();
            for (std::size_t s = 0; s < turn; ++s) {
                const auto t = clock_type::now();
                (void)r.trainer->step(x, x, 1e-4);
                r.step_seconds.push_back(since(t));
            }
        }
    double step[4], sync[3];
    for (int m = 0; m < 4; ++m) step[m] = median(runs[m].step_seconds);  // rank 0's
    for (int m = 0; m < 3; ++m) sync[m] = last_rank_median(comm, runs[m].sync_seconds);
    const double hooks = last_rank_median(comm, runs[0].hook_seconds);  // of the overlap's sync[0]
    std::vector<double> alone_steps(std::size_t(comm.size()), 0.0);     // the alone mode: the slower rank's
    alone_steps[std::size_t(comm.rank())] = step[3];
    comm.allreduce(alone_steps.data(), alone_steps.size(), dist::reduce_op::sum);
    step[3] = *std::max_element(alone_steps.begin(), alone_steps.end());
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
    nlohmann::json j{
        {"ranks", comm.size()},
        {"threads_per_rank", num_threads()},
        {"global_batch", global},
        {"steps", steps},
        {"images_per_second", double(global) / step[0]},
        {"step_seconds",
         {{mode_names[0], step[0]}, {mode_names[1], step[1]}, {mode_names[2], step[2]}, {mode_names[3], step[3]}}},
        {"sync_seconds", {{mode_names[0], sync[0]}, {mode_names[1], sync[1]}, {mode_names[2], sync[2]}}},
        {"overlap_hook_seconds", hooks},
        {"bucket_bytes", o.bucket_bytes},
        {"buckets", runs[0].reducer->bucket_count()},
        {"exposed_communication_seconds", sync[0] - sync[2]},
        {"exposed_communication_seconds_without_overlap", sync[1] - sync[2]},
        {"barrier_seconds", sync[2]},
        {"gradient_allreduce_seconds", alone},
        {"gradient_values", values},
        {"allreduce", sizes}};
    std::printf("%s\n", j.dump().c_str());
}
