// dist::mpi: the communicator of a run launched by mpirun (OpenMPI), over a duplicate of MPI_COMM_WORLD.
// The first one made initialises MPI (MPI_THREAD_FUNNELED: only the thread that made it calls MPI) and
// MPI is finalised at exit. Errors are returned, not fatal (MPI_ERRORS_RETURN): each call is checked and
// a failure is a tinymim::error naming the call, this rank and MPI's message. A rank that fails for its own
// reasons calls abort(): mpirun then ends every other rank instead of leaving them in a collective. A rank that
// hangs without dying is caught by the others' watchdogs: a collective that waits longer than the timeout
// (TINYMIM_DIST_TIMEOUT seconds, 600 unless set, 0: none) ends its process, and mpirun then ends the rest.
// Needs the CMake component `mpi` (find_package(TinyMIM COMPONENTS mpi), target TinyMIM::mpi).
#pragma once

#include <mpi.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <climits>
#include <condition_variable>
#include <cstddef>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "tinymim/core/bf16.hpp"
#include "tinymim/core/error.hpp"
#include "tinymim/dist/communicator.hpp"

namespace tinymim::dist {

class mpi {
public:
    mpi() {
        int initialised = 0;
        check(MPI_Initialized(&initialised), "MPI_Initialized");
        if (initialised == 0) {
            int provided = 0;
            check(MPI_Init_thread(nullptr, nullptr, MPI_THREAD_FUNNELED, &provided), "MPI_Init_thread");
            std::atexit(finalise);
        }
        check(MPI_Comm_dup(MPI_COMM_WORLD, &comm_), "MPI_Comm_dup");
        check(MPI_Comm_set_errhandler(comm_, MPI_ERRORS_RETURN), "MPI_Comm_set_errhandler");
        check(MPI_Comm_rank(comm_, &rank_), "MPI_Comm_rank");
        check(MPI_Comm_size(comm_, &size_), "MPI_Comm_size");
        const char* t = std::getenv("TINYMIM_DIST_TIMEOUT");
        const double timeout = t != nullptr ? std::atof(t) : 600.0;
        if (timeout > 0 && size_ > 1) watch_ = std::make_unique<watchdog>(timeout, rank_, size_);
    }
    ~mpi() {
        watch_.reset();
        int finalised = 0;
        MPI_Finalized(&finalised);
        if (finalised == 0) MPI_Comm_free(&comm_);
    }
    mpi(const mpi&) = delete;
    mpi& operator=(const mpi&) = delete;

    [[nodiscard]] int rank() const noexcept { return rank_; }
    [[nodiscard]] int size() const noexcept { return size_; }
    // This rank's place among the ranks on its machine (MPI_COMM_TYPE_SHARED), whatever the launcher: which of
    // the machine's GPUs it takes. Collective: every rank calls it (under the watchdog, as the other collectives).
    [[nodiscard]] int local_rank() const {
        MPI_Comm node = MPI_COMM_NULL;
        {
            const waiting w(watch_.get(), "MPI_Comm_split_type");
            check(MPI_Comm_split_type(comm_, MPI_COMM_TYPE_SHARED, rank_, MPI_INFO_NULL, &node), "MPI_Comm_split_type");
        }
        int r = 0;
        const int rc = MPI_Comm_rank(node, &r);
        MPI_Comm_free(&node);
        check(rc, "MPI_Comm_rank");
        return r;
    }

    void allreduce(float* x, std::size_t n, reduce_op op) { reduce(x, n, op, MPI_FLOAT); }
    void allreduce(double* x, std::size_t n, reduce_op op) { reduce(x, n, op, MPI_DOUBLE); }
    // MPI has no bf16: the values are summed in float and rounded to bf16 once.
    void allreduce(bf16* x, std::size_t n, reduce_op op) {
        std::vector<float> wide(x, x + n);
        allreduce(wide.data(), n, op);
        for (std::size_t i = 0; i < n; ++i) x[i] = bf16(wide[i]);
    }
    // Non-blocking (MPI_Iallreduce): started now, done by wait_all(); progress() tests the pending ones, which
    // is when OpenMPI moves them on.
    void start_allreduce(float* x, std::size_t n, reduce_op op) { start(x, n, op, MPI_FLOAT); }
    void start_allreduce(double* x, std::size_t n, reduce_op op) { start(x, n, op, MPI_DOUBLE); }
    void progress() {
        if (requests_.empty()) return;
        int done = 0;
        check(MPI_Testall(int(requests_.size()), requests_.data(), &done, MPI_STATUSES_IGNORE), "MPI_Testall");
    }
    void wait_all() {
        if (requests_.empty()) return;
        {
            const waiting w(watch_.get(), "MPI_Waitall");
            check(MPI_Waitall(int(requests_.size()), requests_.data(), MPI_STATUSES_IGNORE), "MPI_Waitall");
        }
        requests_.clear();
        for (const auto& a : averages_) a.divide(a.data, a.n, size_);
        averages_.clear();
    }

    void broadcast(void* bytes, std::size_t n, int root) {
        TINYMIM_CHECK(root >= 0 && root < size_, "dist::mpi: broadcast from rank ", root, " in a group of ", size_,
                      " (on rank ", rank_, ")");
        auto* p = static_cast<char*>(bytes);
        for (std::size_t done = 0; done < n;) {  // MPI counts are int
            const int part = int(std::min<std::size_t>(n - done, INT_MAX));
            const waiting w(watch_.get(), "MPI_Bcast");
            check(MPI_Bcast(p + done, part, MPI_BYTE, root, comm_), "MPI_Bcast");
            done += std::size_t(part);
        }
    }
    void barrier() {
        const waiting w(watch_.get(), "MPI_Barrier");
        check(MPI_Barrier(comm_), "MPI_Barrier");
    }

    // Ends every rank of the run: prints `why` naming this rank, then MPI_Abort (mpirun ends the others).
    [[noreturn]] void abort(const std::string& why, int code = 1) const {
        std::fprintf(stderr, "tinymim: rank %d of %d failed: %s\n", rank_, size_, why.c_str());
        std::fflush(stderr);
        MPI_Abort(MPI_COMM_WORLD, code);
        std::abort();  // MPI_Abort does not return; this is for the compiler
    }

private:
    // A thread that ends this process when one collective has waited longer than the timeout: the other ranks
    // are then gone or hung, and mpirun ends them once this one exits. It never calls MPI (the calls are
    // funnelled through the thread that made the communicator).
    class watchdog {
    public:
        watchdog(double timeout, int rank, int size)
            : timeout_(timeout), rank_(rank), size_(size), thread_([this] { run(); }) {}
        ~watchdog() {
            {
                const std::lock_guard<std::mutex> lock(m_);
                stop_ = true;
            }
            cv_.notify_one();
            thread_.join();
        }
        watchdog(const watchdog&) = delete;
        watchdog& operator=(const watchdog&) = delete;
        void enter(const char* call) {
            call_.store(call);
            since_.store(now());
        }
        void leave() { since_.store(0); }

    private:
        static double now() {
            return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count();
        }
        void run() {
            std::unique_lock<std::mutex> lock(m_);
            while (!cv_.wait_for(lock, std::chrono::milliseconds(200), [this] { return stop_; })) {
                const double since = since_.load();
                if (since == 0 || now() - since < timeout_) continue;
                std::fprintf(stderr,
                             "tinymim: rank %d of %d waited %.0f s in %s for the other ranks (TINYMIM_DIST_TIMEOUT): "
                             "a rank has died or hangs; ending the run\n",
                             rank_, size_, now() - since, call_.load());
                std::fflush(stderr);
                std::_Exit(124);
            }
        }
        double timeout_;
        int rank_, size_;
        std::atomic<double> since_{0};
        std::atomic<const char*> call_{""};
        std::mutex m_;
        std::condition_variable cv_;
        bool stop_ = false;
        std::thread thread_;
    };
    // Marks the duration of one collective for the watchdog.
    class waiting {
    public:
        waiting(watchdog* w, const char* call) : w_(w) {
            if (w_ != nullptr) w_->enter(call);
        }
        ~waiting() {
            if (w_ != nullptr) w_->leave();
        }
        waiting(const waiting&) = delete;
        waiting& operator=(const waiting&) = delete;

    private:
        watchdog* w_;
    };

    static void finalise() {
        int finalised = 0;
        MPI_Finalized(&finalised);
        if (finalised == 0) MPI_Finalize();
    }
    void check(int rc, const char* call) const {
        if (rc == MPI_SUCCESS) return;
        char text[MPI_MAX_ERROR_STRING] = {};
        int len = 0;
        MPI_Error_string(rc, text, &len);
        const std::string where = rank_ >= 0 ? detail::concat("rank ", rank_, " of ", size_) : "a rank not yet known";
        throw error(
            detail::concat("dist::mpi: ", call, " failed on ", where, ": ", std::string(text, std::size_t(len))));
    }
    template <class T>
    void reduce(T* x, std::size_t n, reduce_op op, MPI_Datatype type) {
        for (std::size_t done = 0; done < n;) {
            const int part = int(std::min<std::size_t>(n - done, INT_MAX));
            const waiting w(watch_.get(), "MPI_Allreduce");
            check(MPI_Allreduce(MPI_IN_PLACE, x + done, part, type, MPI_SUM, comm_), "MPI_Allreduce");
            done += std::size_t(part);
        }
        if (op == reduce_op::average && size_ > 1)
            for (std::size_t i = 0; i < n; ++i) x[i] /= T(size_);
    }

    template <class T>
    void start(T* x, std::size_t n, reduce_op op, MPI_Datatype type) {
        for (std::size_t done = 0; done < n;) {
            const int part = int(std::min<std::size_t>(n - done, INT_MAX));
            MPI_Request r = MPI_REQUEST_NULL;
            check(MPI_Iallreduce(MPI_IN_PLACE, x + done, part, type, MPI_SUM, comm_, &r), "MPI_Iallreduce");
            requests_.push_back(r);
            done += std::size_t(part);
        }
        if (op == reduce_op::average && size_ > 1)
            averages_.push_back({x, n, [](void* p, std::size_t m, int ranks) {
                                     auto* v = static_cast<T*>(p);
                                     for (std::size_t i = 0; i < m; ++i) v[i] /= T(ranks);
                                 }});
    }
    // A started allreduce that averages: its sum is divided by the group's size once it is done.
    struct pending_average {
        void* data;
        std::size_t n;
        void (*divide)(void*, std::size_t, int);
    };

    MPI_Comm comm_ = MPI_COMM_NULL;
    int rank_ = -1, size_ = 0;
    std::unique_ptr<watchdog> watch_;
    std::vector<MPI_Request> requests_;
    std::vector<pending_average> averages_;
};
static_assert(overlapping_communicator<mpi>);

}  // namespace tinymim::dist
