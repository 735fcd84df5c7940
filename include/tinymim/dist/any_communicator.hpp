// dist::any_communicator: a type-erased view of any host-memory dist::communicator (dist::mpi...), and
// dist::any_device_communicator of any device-memory one (dist::nccl), so that the recipe functions
// (train/tasks.hpp) take a data-parallel group through task_options without depending on MPI or NCCL. Which
// memory the buffers live in stays part of the type: a gradient_reducer checks it against the model's backend
// at compile time. A view refers to the communicator it views, which must outlive it; copies are handles to the
// same view, and the collectives are const (they change the buffers, not the view).
#pragma once

#include <cstddef>
#include <memory>

#include "tinymim/dist/communicator.hpp"

namespace tinymim::dist {

template <bool Device>
class erased_communicator {
public:
    template <communicator C>
    explicit erased_communicator(C& c) : impl_(std::make_shared<model<C>>(c)) {
        static_assert(device_communicator<C> == Device,
                      "dist: any_communicator views a host-memory communicator (dist::mpi), "
                      "any_device_communicator a device-memory one (dist::nccl)");
    }
    static constexpr bool device_memory = Device;  // where the buffers of the collectives live

    [[nodiscard]] int rank() const { return impl_->rank(); }
    [[nodiscard]] int size() const { return impl_->size(); }
    void allreduce(float* p, std::size_t n, reduce_op op) const { impl_->allreduce(p, n, op); }
    void allreduce(double* p, std::size_t n, reduce_op op) const { impl_->allreduce(p, n, op); }
    void allreduce(bf16* p, std::size_t n, reduce_op op) const { impl_->allreduce(p, n, op); }
    // A communicator that cannot overlap (not an overlapping_communicator) runs these allreduces at once.
    void start_allreduce(float* p, std::size_t n, reduce_op op) const { impl_->start_allreduce(p, n, op); }
    void start_allreduce(double* p, std::size_t n, reduce_op op) const { impl_->start_allreduce(p, n, op); }
    void progress() const { impl_->progress(); }
    void wait_all() const { impl_->wait_all(); }
    void broadcast(void* p, std::size_t bytes, int root) const { impl_->broadcast(p, bytes, root); }
    void barrier() const { impl_->barrier(); }

private:
    struct base {
        virtual ~base() = default;
        [[nodiscard]] virtual int rank() const = 0;
        [[nodiscard]] virtual int size() const = 0;
        virtual void allreduce(float*, std::size_t, reduce_op) = 0;
        virtual void allreduce(double*, std::size_t, reduce_op) = 0;
        virtual void allreduce(bf16*, std::size_t, reduce_op) = 0;
        virtual void start_allreduce(float*, std::size_t, reduce_op) = 0;
        virtual void start_allreduce(double*, std::size_t, reduce_op) = 0;
        virtual void progress() = 0;
        virtual void wait_all() = 0;
        virtual void broadcast(void*, std::size_t, int) = 0;
        virtual void barrier() = 0;
    };
    template <class C>
    struct model final : base {
        explicit model(C& c) : c_(c) {}
        [[nodiscard]] int rank() const override { return c_.rank(); }
        [[nodiscard]] int size() const override { return c_.size(); }
        void allreduce(float* p, std::size_t n, reduce_op op) override { c_.allreduce(p, n, op); }
        void allreduce(double* p, std::size_t n, reduce_op op) override { c_.allreduce(p, n, op); }
        void allreduce(bf16* p, std::size_t n, reduce_op op) override { c_.allreduce(p, n, op); }
        void start_allreduce(float* p, std::size_t n, reduce_op op) override { start(p, n, op); }
        void start_allreduce(double* p, std::size_t n, reduce_op op) override { start(p, n, op); }
        void progress() override {
            if constexpr (overlapping_communicator<C>) c_.progress();
        }
        void wait_all() override {
            if constexpr (overlapping_communicator<C>) c_.wait_all();
        }
        template <class T>
        void start(T* p, std::size_t n, reduce_op op) {
            if constexpr (overlapping_communicator<C>)
                c_.start_allreduce(p, n, op);
            else
                c_.allreduce(p, n, op);
        }
        void broadcast(void* p, std::size_t bytes, int root) override { c_.broadcast(p, bytes, root); }
        void barrier() override { c_.barrier(); }
        C& c_;
    };
    std::shared_ptr<base> impl_;
};
using any_communicator = erased_communicator<false>;
using any_device_communicator = erased_communicator<true>;
static_assert(overlapping_communicator<any_communicator> && !device_communicator<any_communicator>);
static_assert(overlapping_communicator<any_device_communicator> && device_communicator<any_device_communicator>);

}  // namespace tinymim::dist
