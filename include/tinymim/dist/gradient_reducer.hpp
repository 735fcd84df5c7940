// dist::gradient_reducer: averages a trainer's gradients across ranks in buckets that start as soon as their
// gradients are final in the backward, so the allreduce of the later layers runs while the earlier layers'
// backward computes (PyTorch DDP's scheme). Attached to the trainer's tape, it is told when each parameter's
// gradient is final (gradient_hook); finish(), after the backward, waits for the buckets and writes the means
// back. Buckets hold the optimizer's parameters in reverse order (the order a backward finishes them), about
// `bucket_bytes` each, the first at most `first_bucket_bytes`; every rank starts bucket k only after bucket k - 1, so
// the collectives match across ranks whatever order this rank's gradients came in. A parameter's bucket also carries a
// flag (1: it got a gradient on this rank): one that got a gradient on some rank and none on another counts zero on the
// latter; one that got none anywhere stays without a gradient (the optimizer skips it, as in a single process).
#pragma once

#include <algorithm>
#include <cstddef>
#include <unordered_map>
#include <vector>

#include "tinymim/autograd/gradient_hook.hpp"
#include "tinymim/autograd/tape.hpp"
#include "tinymim/backend/kernels.hpp"
#include "tinymim/dist/communicator.hpp"
#include "tinymim/optim/adamw.hpp"
#include "tinymim/tensor/tensor.hpp"

namespace tinymim::dist {

struct data_parallel_options {
    std::size_t bucket_bytes = std::size_t(25) << 20;       // PyTorch DDP's default bucket
    std::size_t first_bucket_bytes = std::size_t(1) << 20;  // the last layers' bucket: small, to start early (DDP's)
};

// Host-memory models need a host-memory communicator (MPI), device models a device one (NCCL).
template <class C, class B>
inline constexpr bool fits_backend = B::host_memory != device_communicator<C>;

template <communicator C, element T, backend B>
class gradient_reducer final : public gradient_hook {
    static_assert(fits_backend<C, B>,
                  "dist: the communicator's memory must be the model's: a CPU model takes a "
                  "host communicator (dist::mpi), a GPU model a device one (dist::nccl)");

public:
    // `comm` and `opt` must outlive the reducer.
    gradient_reducer(C& comm, optim::adamw<T, B>& opt, const data_parallel_options& o = {}) : comm_(comm), opt_(opt) {
        auto& slots = opt.slots();
        auto cap = [&] {
            const std::size_t bytes =
                buckets_.size() == 1 ? std::min(o.first_bucket_bytes, o.bucket_bytes) : o.bucket_bytes;
            return std::max<std::size_t>(bytes / sizeof(T), 1);
        };
        where_.resize(slots.size());
        for (std::size_t i = slots.size(); i-- > 0;) {
            const std::size_t n = slots[i].param.size;
            if (buckets_.empty() || (buckets_.back().values > 0 && buckets_.back().values + n > cap()))
                buckets_.emplace_back();
            bucket& b = buckets_.back();
            where_[i] = {buckets_.size() - 1, b.values};
            b.members.push_back(i);
            b.values += n;
            slot_of_.emplace(static_cast<const void*>(slots[i].param.grad), i);
        }
        for (bucket& b : buckets_) b.buffer = tensor<T, shape<dyn>, B>({b.values + b.members.size()});
        final_.assign(slots.size(), false);
    }
    ~gradient_reducer() { detach(); }
    gradient_reducer(const gradient_reducer&) = delete;
    gradient_reducer& operator=(const gradient_reducer&) = delete;

    // Reports of t's backward passes start buckets early (otherwise every bucket starts in finish()).
    void attach(tape<B>& t) {
        detach();
        tape_ = &t;
        t.set_gradient_hook(this);
    }
    void detach() {
        if (tape_ != nullptr && tape_->hook() == this) tape_->set_gradient_hook(nullptr);
        tape_ = nullptr;
    }

    void gradient_final(const void* grad) override {
        const auto it = slot_of_.find(grad);
        if (it == slot_of_.end() || final_[it->second]) return;  // not one of the optimizer's parameters
        final_[it->second] = true;
        ++buckets_[where_[it->second].bucket].final_members;
        start_ready();
        if constexpr (overlapping_communicator<C>) comm_.progress();
    }

    // The parameters this backward will not reach are final at once (they get no gradient on this rank).
    void backward_begins(const void* const* grads, std::size_t n) override {
        reached_.assign(final_.size(), false);
        for (std::size_t k = 0; k < n; ++k) {
            const auto it = slot_of_.find(grads[k]);
            if (it != slot_of_.end()) reached_[it->second] = true;
        }
        for (std::size_t i = 0; i < final_.size(); ++i)
            if (!reached_[i] && !final_[i]) {
                final_[i] = true;
                ++buckets_[where_[i].bucket].final_members;
            }
        start_ready();
    }

    // After the backward: every bucket reduced, each gradient the mean over the ranks; ready for the next.
    void finish() {
        for (std::size_t i = 0; i < final_.size(); ++i)
            if (!final_[i]) {
                final_[i] = true;
                ++buckets_[where_[i].bucket].final_members;
            }
        start_ready();
        wait_all(comm_);
        auto& slots = opt_.slots();
        for (bucket& b : buckets_) {
            flags_.resize(b.members.size());
            B::copy_to_host(flags_.data(), b.buffer.data() + b.values, flags_.size() * sizeof(T));
            for (std::size_t j = 0; j < b.members.size(); ++j) {
                if (flags_[j] == T(0)) continue;  // no rank gave it a gradient
                auto& p = slots[b.members[j]].param;
                B::copy(p.grad, b.buffer.data() + where_[b.members[j]].offset, p.size * sizeof(T));
                *p.has_grad = true;
            }
            b.final_members = 0;
        }
        std::fill(final_.begin(), final_.end(), false);
        started_ = 0;
    }

    [[nodiscard]] std::size_t bucket_count() const noexcept { return buckets_.size(); }
    // Buckets started by this backward so far (before finish(): how many started early).
    [[nodiscard]] std::size_t started() const noexcept { return started_; }

private:
    struct bucket {
        std::vector<std::size_t> members;  // optimizer slots, in the order the buffer holds them
        std::size_t values = 0;            // gradient values; the members' flags follow them in the buffer
        std::size_t final_members = 0;
        tensor<T, shape<dyn>, B> buffer;
    };
    struct place {
        std::size_t bucket = 0, offset = 0;
    };

    // Starts, in order, every bucket whose gradients are all final.
    void start_ready() {
        auto& slots = opt_.slots();
        for (; started_ < buckets_.size() && buckets_[started_].final_members == buckets_[started_].members.size();
             ++started_) {
            bucket& b = buckets_[started_];
            T* buf = b.buffer.data();
            for (std::size_t j = 0; j < b.members.size(); ++j) {
                const auto& p = slots[b.members[j]].param;
                T* at = buf + where_[b.members[j]].offset;
                if (*p.has_grad)
                    B::copy(at, p.grad, p.size * sizeof(T));
                else
                    fill(B{}, at, p.size, T(0));
                fill(B{}, buf + b.values + j, 1, *p.has_grad ? T(1) : T(0));
            }
            start_allreduce(comm_, buf, b.values + b.members.size());
        }
    }
    // A communicator that cannot overlap reduces each bucket when it starts.
    static void start_allreduce(C& c, T* p, std::size_t n) {
        if constexpr (overlapping_communicator<C>)
            c.start_allreduce(p, n, reduce_op::average);
        else
            c.allreduce(p, n, reduce_op::average);
    }
    static void wait_all(C& c) {
        if constexpr (overlapping_communicator<C>) c.wait_all();
    }

    C& comm_;
    optim::adamw<T, B>& opt_;
    std::vector<bucket> buckets_;
    std::vector<place> where_;  // each slot's bucket and offset
    std::unordered_map<const void*, std::size_t> slot_of_;
    std::vector<bool> final_;
    std::vector<bool> reached_;  // in backward_begins: the parameters the backward may write
    std::vector<T> flags_;       // in finish: one bucket's flags on the host (kept: no allocation per step)
    std::size_t started_ = 0;
    tape<B>* tape_ = nullptr;
};

}  // namespace tinymim::dist
