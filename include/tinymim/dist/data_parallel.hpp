// Data-parallel training over a dist::communicator: the trainable parameters start equal on every rank
// (broadcast from rank 0), each rank runs its shard of the global batch, and between the backward and the
// update the gradients are averaged across ranks in buckets of about `bucket_bytes` (one allreduce each),
// so every rank takes the same optimizer step; the frozen teacher is never communicated. Host-memory models
// take a host communicator (dist::mpi), device models a device one (dist::nccl, dist/nccl.cuh). The reported
// losses are averaged too. The buckets are reduced once the backward is over (no overlap with it yet).
#pragma once

#include <algorithm>
#include <cstddef>
#include <cstring>
#include <vector>

#include "tinymim/backend/kernels.hpp"
#include "tinymim/core/error.hpp"
#include "tinymim/data/shard.hpp"
#include "tinymim/dist/communicator.hpp"
#include "tinymim/optim/adamw.hpp"
#include "tinymim/tensor/tensor.hpp"

namespace tinymim::dist {

struct data_parallel_options {
    std::size_t bucket_bytes = std::size_t(25) << 20;  // PyTorch DDP's default bucket
};

// A communicator whose buffers live on the device (dist::nccl), not in host memory (dist::mpi).
template <class C>
inline constexpr bool device_communicator = requires {
    requires C::device_memory;
};

// Host-memory models need a host-memory communicator (MPI), device models a device one (NCCL).
template <class C, class B>
inline constexpr bool fits_backend = B::host_memory != device_communicator<C>;

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

// The mean over ranks of every gradient, in place. A parameter that got a gradient on some rank and none
// on another (no sample reached it there) counts a zero gradient on the latter, so every rank steps it.
template <communicator C, element T, backend B>
void average_gradients(C& comm, optim::adamw<T, B>& opt, const data_parallel_options& o = {}) {
    static_assert(fits_backend<C, B>,
                  "dist: the communicator's memory must be the model's: a CPU model takes a "
                  "host communicator (dist::mpi), a GPU model a device one (dist::nccl)");
    auto& slots = opt.slots();
    std::vector<T> reached(slots.size());
    for (std::size_t i = 0; i < slots.size(); ++i) reached[i] = *slots[i].param.has_grad ? T(1) : T(0);
    allreduce_host<B>(comm, reached, reduce_op::sum);
    const std::size_t bucket = std::max<std::size_t>(o.bucket_bytes / sizeof(T), 1);
    std::size_t packed = 0;
    for (std::size_t i = 0; i < slots.size(); ++i)
        if (reached[i] != T(0) && slots[i].param.size < bucket) packed = std::min(bucket, packed + slots[i].param.size);
    // The bucket: kept between steps on the host (cleared, not freed: no allocation per step once the buckets
    // have been seen); from the backend's caching allocator on a device.
    static thread_local std::vector<T> host_buffer;
    tensor<T, shape<dyn>, B> device_buffer;
    T* buffer = nullptr;
    if constexpr (B::host_memory) {
        host_buffer.resize(std::max(host_buffer.size(), packed));
        buffer = host_buffer.data();
    } else if (packed > 0) {
        device_buffer = tensor<T, shape<dyn>, B>({packed});
        buffer = device_buffer.data();
    }
    static thread_local std::vector<std::size_t> members;  // the slots packed in the buffer
    members.clear();
    std::size_t used = 0;
    auto flush = [&] {
        if (used == 0) return;
        comm.allreduce(buffer, used, reduce_op::average);
        std::size_t at = 0;
        for (std::size_t i : members) {
            B::copy(slots[i].param.grad, buffer + at, slots[i].param.size * sizeof(T));
            at += slots[i].param.size;
        }
        used = 0;
        members.clear();
    };
    for (std::size_t i = 0; i < slots.size(); ++i) {
        if (reached[i] == T(0)) continue;
        auto& p = slots[i].param;
        if (!*p.has_grad) {
            fill(B{}, p.grad, p.size, T(0));
            *p.has_grad = true;
        }
        if (p.size >= bucket) {  // a large gradient goes alone, in place
            flush();
            comm.allreduce(p.grad, p.size, reduce_op::average);
            continue;
        }
        if (used + p.size > bucket) flush();
        B::copy(buffer + used, p.grad, p.size * sizeof(T));
        used += p.size;
        members.push_back(i);
    }
    flush();
}

// Makes `trainer` (the distiller, or any trainer with optimizer() and data_parallel(first, sync)) train
// this rank's shard of each global batch of `global_batch` samples: parameters from rank 0 now, gradients
// and reported losses averaged every step. `comm` must outlive the trainer's steps.
template <communicator C, class Trainer>
void make_data_parallel(Trainer& trainer, C& comm, std::size_t global_batch, const data_parallel_options& o = {}) {
    const data::shard part{std::size_t(comm.rank()), std::size_t(comm.size())};
    part.check(global_batch);
    broadcast_parameters(comm, trainer.optimizer());
    trainer.data_parallel(part.offset(global_batch), [&comm, o](auto& opt, auto& result) {
        average_gradients(comm, opt, o);
        std::vector<double> losses{result.total};
        losses.insert(losses.end(), result.terms.begin(), result.terms.end());
        allreduce_host<typename Trainer::backend_type>(comm, losses, reduce_op::average);
        result.total = losses[0];
        std::copy(losses.begin() + 1, losses.end(), result.terms.begin());
    });
}

}  // namespace tinymim::dist
