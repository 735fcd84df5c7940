// Data-parallel training over a dist::communicator: the trainable parameters start equal on every rank
// (broadcast from rank 0), each rank runs its shard of the global batch, and between the backward and the
// update the gradients are averaged across ranks in buckets of about `bucket_bytes` (one allreduce each),
// so every rank takes the same optimizer step; the frozen teacher is never communicated. The reported
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

namespace tinymim::dist {

struct data_parallel_options {
    std::size_t bucket_bytes = std::size_t(25) << 20;  // PyTorch DDP's default bucket
};

// Every trainable parameter's value from rank 0 (host-memory backends).
template <communicator C, element T, backend B>
void broadcast_parameters(C& comm, optim::adamw<T, B>& opt) {
    static_assert(B::host_memory, "dist::broadcast_parameters: MPI reads host memory (use NCCL on a GPU)");
    for (auto& s : opt.slots()) comm.broadcast(s.param.value, s.param.size * sizeof(T), 0);
}

// The mean over ranks of every gradient, in place. A parameter that got a gradient on some rank and none
// on another (no sample reached it there) counts a zero gradient on the latter, so every rank steps it.
template <communicator C, element T, backend B>
void average_gradients(C& comm, optim::adamw<T, B>& opt, const data_parallel_options& o = {}) {
    static_assert(B::host_memory, "dist::average_gradients: MPI reads host memory (use NCCL on a GPU)");
    auto& slots = opt.slots();
    std::vector<T> reached(slots.size());
    for (std::size_t i = 0; i < slots.size(); ++i) reached[i] = *slots[i].param.has_grad ? T(1) : T(0);
    comm.allreduce(reached.data(), reached.size(), reduce_op::sum);
    const std::size_t bucket = std::max<std::size_t>(o.bucket_bytes / sizeof(T), 1);
    // Kept between steps (cleared, not freed): no allocation per step once the buckets have been seen.
    static thread_local std::vector<T> buffer;
    static thread_local std::vector<std::size_t> members;  // the slots packed in the buffer
    buffer.clear();
    members.clear();
    auto flush = [&] {
        if (buffer.empty()) return;
        comm.allreduce(buffer.data(), buffer.size(), reduce_op::average);
        std::size_t at = 0;
        for (std::size_t i : members) {
            std::memcpy(slots[i].param.grad, buffer.data() + at, slots[i].param.size * sizeof(T));
            at += slots[i].param.size;
        }
        buffer.clear();
        members.clear();
    };
    for (std::size_t i = 0; i < slots.size(); ++i) {
        if (reached[i] == T(0)) continue;
        auto& p = slots[i].param;
        if (!*p.has_grad) {
            std::fill(p.grad, p.grad + p.size, T(0));
            *p.has_grad = true;
        }
        if (p.size >= bucket) {  // a large gradient goes alone, in place
            flush();
            comm.allreduce(p.grad, p.size, reduce_op::average);
            continue;
        }
        if (buffer.size() + p.size > bucket) flush();
        buffer.insert(buffer.end(), p.grad, p.grad + p.size);
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
        comm.allreduce(losses.data(), losses.size(), reduce_op::average);
        result.total = losses[0];
        std::copy(losses.begin() + 1, losses.end(), result.terms.begin());
    });
}

}  // namespace tinymim::dist
