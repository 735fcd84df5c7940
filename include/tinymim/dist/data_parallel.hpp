// Data-parallel training over a dist::communicator: the trainable parameters start equal on every rank
// (broadcast from rank 0), each rank runs its shard of the global batch, and the gradients are averaged across
// ranks in buckets of about `bucket_bytes` (one allreduce each; dist/gradient_reducer.hpp), each started as soon
// as the backward has finished its gradients, so every rank takes the same optimizer step; the frozen teacher
// is never communicated. Host-memory models take a host communicator (dist::mpi), device models a device one
// (dist::nccl, dist/nccl.cuh). The reported losses are averaged too.
#pragma once

#include <algorithm>
#include <cstddef>
#include <cstring>
#include <memory>
#include <vector>

#include "tinymim/backend/kernels.hpp"
#include "tinymim/core/error.hpp"
#include "tinymim/data/shard.hpp"
#include "tinymim/dist/communicator.hpp"
#include "tinymim/dist/gradient_reducer.hpp"
#include "tinymim/optim/adamw.hpp"
#include "tinymim/tensor/tensor.hpp"

namespace tinymim::dist {

// An allreduce of a few host values (flags, reported losses): through a device buffer for a device communicator.
template <class B, communicator C, class U>
void allreduce_host(C& comm, std::vector<U>& v, reduce_op op) {
    if constexpr (device_communicator<C>) {
        tensor<U, shape<dyn>, B> d({v.size()});
        d.copy_from(v);
        comm.allreduce(d.data(), v.size(), op);
        v = d.to_vector();
    } else {
        comm.allreduce(v.data(), v.size(), op);
    }
}

// Every trainable parameter's value from rank 0.
template <communicator C, element T, backend B>
void broadcast_parameters(C& comm, optim::adamw<T, B>& opt) {
    static_assert(fits_backend<C, B>,
                  "dist: the communicator's memory must be the model's: a CPU model takes a "
                  "host communicator (dist::mpi), a GPU model a device one (dist::nccl)");
    for (auto& s : opt.slots()) comm.broadcast(s.param.value, s.param.size * sizeof(T), 0);
}

// The mean over ranks of every gradient, in place, after a backward that reported to no reducer: every bucket
// starts now. A parameter that got a gradient on some rank and none on another counts a zero gradient on the
// latter, so every rank steps it.
template <communicator C, element T, backend B>
void average_gradients(C& comm, optim::adamw<T, B>& opt, const data_parallel_options& o = {}) {
    gradient_reducer<C, T, B>(comm, opt, o).finish();
}

template <communicator C, element T, backend B>
[[nodiscard]] std::shared_ptr<gradient_reducer<C, T, B>> shared_reducer(C& comm, optim::adamw<T, B>& opt,
                                                                        const data_parallel_options& o) {
    return std::make_shared<gradient_reducer<C, T, B>>(comm, opt, o);
}

// Makes `trainer` (the distiller, or any trainer with optimizer() and data_parallel(first, sync, hook)) train
// this rank's shard of each global batch of `global_batch` samples: parameters from rank 0 now, gradients
// (overlapping the backward) and reported losses averaged every step. `comm` must outlive the trainer's steps.
template <communicator C, class Trainer>
void make_data_parallel(Trainer& trainer, C& comm, std::size_t global_batch, const data_parallel_options& o = {}) {
    const data::shard part{std::size_t(comm.rank()), std::size_t(comm.size())};
    part.check(global_batch);
    broadcast_parameters(comm, trainer.optimizer());
    auto reducer = shared_reducer(comm, trainer.optimizer(), o);
    trainer.data_parallel(
        part.offset(global_batch),
        [&comm, reducer](auto&, auto& result) {
            reducer->finish();
            std::vector<double> losses{result.total};
            losses.insert(losses.end(), result.terms.begin(), result.terms.end());
            allreduce_host<typename Trainer::backend_type>(comm, losses, reduce_op::average);
            result.total = losses[0];
            std::copy(losses.begin() + 1, losses.end(), result.terms.begin());
        },
        reducer.get());
}

}  // namespace tinymim::dist
