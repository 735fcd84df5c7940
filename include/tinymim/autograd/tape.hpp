// tape<B>: reverse-mode autograd as a flat list of nodes in creation order, walked backwards.
//
// The one gradient convention of the library: a node's backward ACCUMULATES into the gradients
// of its inputs (+=). Gradient buffers start at zero when first touched in a step; a parameter's
// gradient buffer lives outside the tape and is zeroed on its first touch in a step.
#pragma once

#include <algorithm>
#include <cstddef>
#include <functional>
#include <limits>
#include <new>
#include <type_traits>
#include <utility>
#include <vector>

#include "tinymim/autograd/arena.hpp"
#include "tinymim/autograd/grad_pool.hpp"
#include "tinymim/autograd/gradient_hook.hpp"
#include "tinymim/autograd/no_grad.hpp"
#include "tinymim/core/bf16.hpp"
#include "tinymim/core/error.hpp"
#include "tinymim/tensor/tensor.hpp"

namespace tinymim {

// The per-step record of one tensor value: where its value and gradient live.
struct slot_base {
    static constexpr std::size_t no_node = std::numeric_limits<std::size_t>::max();
    void* grad_raw = nullptr;        // null until some backward writes a gradient
    std::size_t producer = no_node;  // the first node recorded with this slot as its output
    std::size_t grad_bytes = 0;      // > 0: grad_raw came from the tape's gradient pool
};

template <element T>
struct slot : slot_base {
    T* value = nullptr;
    std::size_t size = 0;
    bool requires_grad = false;
    T* ext_grad = nullptr;     // a gradient buffer owned outside the tape (parameters)
    bool* ext_flag = nullptr;  // true once ext_grad holds this step's gradient
    [[nodiscard]] T* grad() const noexcept { return static_cast<T*>(grad_raw); }
};

// What the tape's scratch memory may hold: values, and bf16 GEMM operands (mixed precision).
template <class T>
concept stored_element = element<T> || std::is_same_v<T, bf16>;

// The poison-mode fill of scratch memory: a quiet NaN of the type.
template <stored_element T>
[[nodiscard]] constexpr T poison_value() noexcept {
    if constexpr (std::is_same_v<T, bf16>)
        return bf16::from_bits(0x7FC0u);
    else
        return std::numeric_limits<T>::quiet_NaN();
}

template <backend B>
class tape {
public:
    using backend_type = B;

    explicit tape(std::size_t initial_bytes = std::size_t(1) << 22) : data_(initial_bytes), host_(1u << 16) {
        nodes_.reserve(1024);
    }
    tape(const tape&) = delete;
    tape& operator=(const tape&) = delete;

    // A fresh value buffer of n elements from the activation arena.
    template <element T>
    [[nodiscard]] slot<T>* make_slot(std::size_t n, bool requires_grad) {
        return wrap(scratch<T>(n), n, requires_grad);
    }
    // A slot over memory the tape does not own (inputs, parameters).
    template <element T>
    [[nodiscard]] slot<T>* wrap(T* value, std::size_t n, bool requires_grad, T* ext_grad = nullptr,
                                bool* ext_flag = nullptr) {
        auto* s = new (host_.allocate(sizeof(slot<T>))) slot<T>{};
        s->value = value;
        s->size = n;
        s->requires_grad = requires_grad;
        s->ext_grad = ext_grad;
        s->ext_flag = ext_flag;
        if (ext_grad != nullptr && requires_grad) leaves_.push_back({ext_grad, nodes_.size(), leaves_.size()});
        return s;
    }
    // Temporary memory valid until reset(); filled with NaN in poison mode.
    template <stored_element T>
    [[nodiscard]] T* scratch(std::size_t n) {
        T* p = static_cast<T*>(data_.allocate(n * sizeof(T)));
        if (poison_) fill(B{}, p, n, poison_value<T>());
        return p;
    }
    // n host values of a trivially copyable type, valid until reset(): what a backward closure needs
    // beyond a few scalars (a closure may capture only trivially destructible values).
    template <class U>
    [[nodiscard]] U* host_array(std::size_t n) {
        static_assert(std::is_trivially_copyable_v<U> && std::is_trivially_destructible_v<U>,
                      "tape::host_array: the tape's host arena never runs destructors");
        static_assert(alignof(U) <= 64, "tape::host_array: over-aligned type");
        return static_cast<U*>(host_.allocate(n * sizeof(U)));
    }
    // A buffer that lives only inside one op: a fused op's intermediate that its backward recomputes
    // (GELU output, drop-path-scaled gradient). Taken from the gradient pool, given back when the
    // holder goes out of scope, so it is not activation memory: the next op of the same size reuses it.
    // NaN-filled in poison mode.
    template <stored_element T>
    class temporary {
    public:
        temporary(tape& t, std::size_t n)
            : t_(&t), bytes_(n * sizeof(T)), p_(static_cast<T*>(t.grads_.acquire(bytes_))) {
            if (t.poison_) fill(B{}, p_, n, poison_value<T>());
        }
        temporary(const temporary&) = delete;
        temporary& operator=(const temporary&) = delete;
        ~temporary() { t_->grads_.release(p_, bytes_); }
        [[nodiscard]] T* get() const noexcept { return p_; }

    private:
        tape* t_;
        std::size_t bytes_;
        T* p_;
    };

    // Zero-filled temporary memory.
    template <element T>
    [[nodiscard]] T* zeros(std::size_t n) {
        T* p = static_cast<T*>(data_.allocate(n * sizeof(T)));
        fill(B{}, p, n, T(0));
        return p;
    }

    // The gradient buffer of s, created (zeroed) on first use in this step.
    template <element T>
    [[nodiscard]] T* grad(slot<T>* s) {
        bool fresh = false;
        T* g = grad_for_write(s, fresh);
        if (fresh) fill(B{}, g, s->size, T(0));
        return g;
    }

    // The gradient buffer of s for a backward that writes every one of its values. When s has no
    // gradient yet in this step, the buffer is handed out unzeroed and `overwrite` is true: the caller
    // must then write (=), not add (a GEMM with beta 0, a copy) — this saves a zero-fill and a read of
    // every value. Otherwise `overwrite` is false and the caller adds, as with grad().
    template <element T>
    [[nodiscard]] T* grad_for_write(slot<T>* s, bool& overwrite) {
        overwrite = false;
        if (s->grad_raw != nullptr) return s->grad();
        overwrite = true;
        if (s->ext_grad != nullptr) {
            if (s->ext_flag != nullptr) {
                overwrite = !*s->ext_flag;  // a flag already set: this step adds to an earlier step's gradient
                *s->ext_flag = true;
            }
            s->grad_raw = s->ext_grad;
        } else {
            const std::size_t bytes = s->size * sizeof(T);
            s->grad_raw = grads_.acquire(bytes);
            s->grad_bytes = bytes;
        }
        if (overwrite && poison_) fill(B{}, s->grad(), s->size, std::numeric_limits<T>::quiet_NaN());
        return s->grad();
    }

    // Inside the backward of the node that produced `from`: hands from's gradient buffer to `to` when
    // `to` has no gradient yet in this step — to's gradient then equals from's, as a copy would make it,
    // without the copy (a residual connection's d residual = d out). Only for a buffer from the tape's
    // pool and gradients not retained for inspection; false otherwise (the caller copies). The caller may
    // still read the buffer in this backward, and must not write `to`'s gradient through another pointer.
    template <element T>
    [[nodiscard]] bool pass_grad(slot<T>* from, slot<T>* to) noexcept {
        if (retain_grads_ || from == to || to->grad_raw != nullptr || to->ext_grad != nullptr ||
            from->grad_bytes == 0 || from->size != to->size)
            return false;
        to->grad_raw = from->grad_raw;
        to->grad_bytes = from->grad_bytes;
        from->grad_raw = nullptr;
        from->grad_bytes = 0;
        return true;
    }

    // Records a backward closure for the node whose output is `out`. The closure is called with
    // the tape and must only capture trivially destructible values (pointers, sizes, scalars):
    // it lives in the tape's arena and is never destroyed.
    template <class F>
    void record(slot_base* out, F&& f) {
        record(out, nullptr, std::forward<F>(f));
    }
    // A node with two outputs (out2 may be null): it runs when either received a gradient.
    template <class F>
    void record(slot_base* out, slot_base* out2, F&& f) {
        using fn_t = std::decay_t<F>;
        static_assert(std::is_trivially_destructible_v<fn_t>,
                      "tape::record: a backward closure may capture only trivially destructible values "
                      "(pointers, sizes, scalars); it lives in the tape's arena");
        void* mem = host_.allocate(sizeof(fn_t));
        auto* obj = new (mem) fn_t(std::forward<F>(f));
        slot_base* const outs[2] = {out, out2};
        for (slot_base* o : outs)
            if (o != nullptr && o->producer == slot_base::no_node) o->producer = nodes_.size();
        nodes_.push_back({[](void* c, tape& t) { (*static_cast<fn_t*>(c))(t); }, obj, out, out2});
    }

    // Runs every recorded node backwards, seeding `out`'s gradient with `seed` (device memory of
    // out->size values) or with ones when seed is null.
    //
    // As in PyTorch, the gradient of an intermediate value (one a recorded node produced) is freed as
    // soon as its producer's backward has consumed it, and the value's grad() reads null afterwards:
    // the step then holds the gradients of a few values at a time, not of every activation. Leaves and
    // parameters keep theirs. retain_grads(true) keeps every gradient until reset() (for inspection).
    template <element T>
    void backward(slot<T>* out, const T* seed = nullptr) {
        TINYMIM_CHECK(out->requires_grad,
                      "backward: the value does not require a gradient (made under no_grad, detached, or from "
                      "inputs that need none)");
        T* g = grad(out);
        if (seed == nullptr) {
            fill(B{}, g, out->size, T(1));
        } else {
            B::copy(g, seed, out->size * sizeof(T));
        }
        std::size_t unreported = 0;
        if (hook_ != nullptr) {
            unreported = order_leaves();
            leaf_grads_.clear();
            for (const leaf_record& l : leaves_) leaf_grads_.push_back(l.grad);
            hook_->backward_begins(leaf_grads_.data(), leaf_grads_.size());
        }
        for (std::size_t i = nodes_.size(); i-- > 0;) {
            // Parameters wrapped after node i are written only by nodes after it, which have all run.
            for (; unreported > 0 && leaves_[unreported - 1].first_node > i; --unreported)
                hook_->gradient_final(leaves_[unreported - 1].grad);
            const node& n = nodes_[i];
            if (n.out->grad_raw == nullptr && (n.out2 == nullptr || n.out2->grad_raw == nullptr)) continue;
            n.fn(n.closure, *this);
            // Every consumer of an output of n was recorded after n and has run: its gradient is
            // complete and used.
            if (retain_grads_) continue;
            slot_base* const outs[2] = {n.out, n.out2};  // (an array: nvcc's front end rejects a braced list here)
            for (slot_base* o : outs) {
                if (o != nullptr && o->producer == i && o->grad_bytes != 0) {
                    grads_.release(o->grad_raw, o->grad_bytes);
                    o->grad_raw = nullptr;
                    o->grad_bytes = 0;
                }
            }
        }
        for (; unreported > 0; --unreported) hook_->gradient_final(leaves_[unreported - 1].grad);
    }

    // Tells `h` during each backward when each parameter's gradient is final (null: no one). It stays set
    // across reset(); `h` must outlive the backward passes that report to it.
    void set_gradient_hook(gradient_hook* h) noexcept { hook_ = h; }
    [[nodiscard]] gradient_hook* hook() const noexcept { return hook_; }

    // Inference memory: a position on the tape, and keep(m, value, n) that frees everything made after m
    // except `value` (n elements), which moves to m's position. Only for values made under no_grad (no
    // node may have been recorded since m): a frozen teacher then holds one block's temporaries at a time.
    struct mark_t {
        typename arena<B>::mark_t data;
        typename arena<cpu>::mark_t host;
        std::size_t nodes;
    };
    [[nodiscard]] mark_t mark() const noexcept { return {data_.mark(), host_.mark(), nodes_.size()}; }
    template <element T>
    [[nodiscard]] slot<T>* keep(const mark_t& m, const slot<T>* value) {
        TINYMIM_CHECK(nodes_.size() == m.nodes,
                      "tape::keep: nodes were recorded since the mark (keep is for no_grad code)");
        const std::size_t n = value->size;
        const T* src = value->value;
        data_.rewind(m.data);
        host_.rewind(m.host);
        T* dst = static_cast<T*>(data_.allocate(n * sizeof(T)));
        if (dst != src) B::move(dst, src, n * sizeof(T));  // the regions may overlap
        return wrap(dst, n, false);
    }

    // Forgets every node and frees the activation memory; every var of this step becomes invalid.
    void reset() {
        nodes_.clear();
        leaves_.clear();
        data_.reset();
        host_.reset();
        grads_.reset();
    }

    // Keep the gradients of intermediate values until reset() instead of freeing them during backward.
    void retain_grads(bool on) noexcept { retain_grads_ = on; }
    [[nodiscard]] bool retains_grads() const noexcept { return retain_grads_; }

    // In poison mode every new activation buffer starts as NaN, so a kernel that forgets to write
    // an entry shows up as NaN in its output (used by testing::check_gradients).
    void set_poison(bool on) noexcept { poison_ = on; }
    [[nodiscard]] bool poison() const noexcept { return poison_; }

    [[nodiscard]] std::size_t node_count() const noexcept { return nodes_.size(); }
    [[nodiscard]] std::size_t arena_allocations() const noexcept {
        return data_.block_allocations() + host_.block_allocations() + grads_.allocations();
    }
    [[nodiscard]] std::size_t activation_bytes() const noexcept { return data_.high_water(); }
    // Most bytes of non-parameter gradients alive at once (the pool's size).
    [[nodiscard]] std::size_t gradient_bytes() const noexcept { return grads_.capacity(); }
    [[nodiscard]] std::size_t arena_capacity() const noexcept { return data_.capacity() + host_.capacity(); }

private:
    struct node {
        void (*fn)(void*, tape&);
        void* closure;
        slot_base* out;
        slot_base* out2;
    };
    // A parameter's gradient buffer and the node count when its leaf was made: only nodes from there on use it.
    struct leaf_record {
        const void* grad;
        std::size_t first_node;
        std::size_t made;  // its place among the leaves: ties are reported latest first
    };
    // The parameters, each once at its first leaf (a parameter used twice is final only below its first
    // use), by first node; returns how many.
    std::size_t order_leaves() {
        // By buffer, then by when made, so unique() keeps each parameter's first leaf (std::sort: stable_sort
        // would take a temporary buffer every step).
        std::sort(leaves_.begin(), leaves_.end(), [](const leaf_record& a, const leaf_record& b) {
            return a.grad != b.grad ? std::less<const void*>{}(a.grad, b.grad) : a.made < b.made;
        });
        leaves_.erase(std::unique(leaves_.begin(), leaves_.end(),
                                  [](const leaf_record& a, const leaf_record& b) { return a.grad == b.grad; }),
                      leaves_.end());
        std::sort(leaves_.begin(), leaves_.end(), [](const leaf_record& a, const leaf_record& b) {
            return a.first_node != b.first_node ? a.first_node < b.first_node : a.made < b.made;
        });
        return leaves_.size();
    }

    arena<B> data_;
    arena<cpu> host_;
    grad_pool<B> grads_;
    std::vector<node> nodes_;
    std::vector<leaf_record> leaves_;
    std::vector<const void*> leaf_grads_;
    gradient_hook* hook_ = nullptr;
    bool poison_ = false;
    bool retain_grads_ = false;
};

}  // namespace tinymim
