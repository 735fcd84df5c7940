// loader<S>: batches of augmented images (and labels) prepared on a background thread while the
// current batch trains. Deterministic: batch b of epoch e depends only on (seed, e, b), not on timing.
// For TinyMIM's input policy it renders two views of one crop: the teacher's (no jitter) and the
// student's (colour jitter). In a data-parallel run (options.part) each rank renders its slice of every
// global batch (data/shard.hpp). A streamed data set is decoded here, `workers` threads per batch, and its random
// crops are taken from each image at its stored size (torchvision's RandomResizedCrop).
#pragma once

#include <algorithm>
#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <exception>
#include <mutex>
#include <numeric>
#include <optional>
#include <thread>
#include <vector>

#include "tinymim/core/random.hpp"
#include "tinymim/data/augment.hpp"
#include "tinymim/data/dataset.hpp"
#include "tinymim/data/shard.hpp"
#include "tinymim/tensor/tensor.hpp"

namespace tinymim::data {

template <class S>
struct batch {
    tensor<float, S> images;          // the student's view (or the only view)
    tensor<float, S> teacher_images;  // the teacher's view (empty unless two views were asked for)
    tensor<std::int32_t, shape<dyn>> labels;
    std::size_t epoch = 0, index = 0;
    std::size_t offset = 0;  // the position of images[0] in the global batch (data-parallel runs; else 0)
};

struct loader_options {
    std::size_t batch_size = 64;
    bool shuffle = true;
    bool drop_last = true;
    bool two_views = false;             // TinyMIM: teacher view + jittered student view of one crop
    augment_options augment{};          // the (student) view
    augment_options teacher_augment{};  // crop/flip are shared; only its jitter settings are used
    std::uint64_t seed = 0;
    shard part{};             // data-parallel runs: batch_size is the global batch, this rank renders its slice
    std::size_t workers = 1;  // threads that render a batch (decode, for a streamed data set); the same batches
};

template <class S>
class loader {
    static_assert(S::rank == 4, "loader: the image shape must be [batch, channels, height, width]");
    static constexpr std::size_t C = S::static_extents[1], H = S::static_extents[2], W = S::static_extents[3];

public:
    loader(const image_dataset& d, loader_options o) : d_(d), o_(std::move(o)) {
        TINYMIM_CHECK(d.channels == C, "loader: the model takes ", C, " channels, the data set has ", d.channels);
        TINYMIM_CHECK(d.size() > 0, "loader: the data set is empty");
        TINYMIM_CHECK(o_.batch_size > 0, "loader: batch size must be positive");
        TINYMIM_CHECK(o_.augment.center_crop >= 0 && o_.augment.center_crop <= 1, "loader: center_crop ",
                      o_.augment.center_crop, " is outside [0, 1]");
        TINYMIM_CHECK(!o_.drop_last || d.size() >= o_.batch_size, "loader: the data set (", d.size(),
                      " images) is smaller than one batch (", o_.batch_size, ")");
        o_.part.check(o_.batch_size);
        // Every rank must take the same number of steps: the tail that does not fill a global batch is left
        // out of the epoch (reshuffled each epoch, as PyTorch's DistributedSampler with drop_last).
        TINYMIM_CHECK(o_.part.ranks == 1 || o_.drop_last, "loader: a data-parallel loader (", o_.part.ranks,
                      " ranks) must drop the last partial batch");
    }
    ~loader() { stop(); }
    loader(const loader&) = delete;
    loader& operator=(const loader&) = delete;

    [[nodiscard]] std::size_t batches_per_epoch() const {
        return o_.drop_last ? d_.size() / o_.batch_size : (d_.size() + o_.batch_size - 1) / o_.batch_size;
    }

    // Batch `index` of `epoch`, computed here (no thread).
    [[nodiscard]] batch<S> make(std::size_t epoch, std::size_t index) const {
        const auto order = permutation(epoch);
        const std::size_t start = index * o_.batch_size, b0 = start + o_.part.offset(o_.batch_size);
        const std::size_t n = std::min(o_.part.local(o_.batch_size), d_.size() - b0);
        batch<S> b;
        b.epoch = epoch;
        b.index = index;
        b.offset = o_.part.offset(o_.batch_size);
        b.images = tensor<float, S>({n, C, H, W});
        if (o_.two_views) b.teacher_images = tensor<float, S>({n, C, H, W});
        b.labels = tensor<std::int32_t, shape<dyn>>({n});
        // Samples i, i + step, ... of the batch; `im` holds a streamed image while it is rendered.
        auto render_from = [&](std::size_t first, std::size_t step) {
            planar_image im;
            for (std::size_t i = first; i < n; i += step) {
                const std::size_t idx = order[b0 + i];
                const std::uint8_t* src = nullptr;
                std::size_t h = d_.height, w = d_.width;
                if (d_.streamed()) {
                    d_.read(idx, im);
                    TINYMIM_CHECK(im.pixels.size() == C * im.height * im.width, "loader: image ", idx, " read as ",
                                  im.pixels.size(), " bytes for ", C, " x ", im.height, " x ", im.width);
                    src = im.pixels.data();
                    h = im.height;
                    w = im.width;
                } else {
                    src = d_.image(idx);
                }
                const counter_rng r = counter_rng(o_.seed).fork(epoch).fork(1 + idx);
                const crop_box box = sample_crop(h, w, o_.augment, r);  // from the image as it is stored
                render(src, C, h, w, box, H, W, o_.augment, r.fork(1), d_.mean, d_.std,
                       b.images.data() + i * C * H * W);
                if (o_.two_views)
                    render(src, C, h, w, box, H, W, o_.teacher_augment, r.fork(2), d_.mean, d_.std,
                           b.teacher_images.data() + i * C * H * W);
                b.labels[i] = d_.labels[idx];
            }
        };
        const std::size_t workers = std::clamp<std::size_t>(o_.workers, 1, std::max<std::size_t>(n, 1));
        if (workers == 1) {
            render_from(0, 1);
        } else {
            std::exception_ptr error;
            std::mutex m;
            auto guarded = [&](std::size_t first) {
                try {
                    render_from(first, workers);
                } catch (...) {
                    const std::lock_guard lk(m);
                    if (!error) error = std::current_exception();
                }
            };
            std::vector<std::thread> threads;
            for (std::size_t t = 1; t < workers; ++t) threads.emplace_back(guarded, t);
            guarded(0);
            for (auto& t : threads) t.join();
            if (error) std::rethrow_exception(error);
        }
        return b;
    }

    // Starts preparing batches from (epoch, index) on, one ahead, on a background thread.
    void start(std::size_t epoch, std::size_t index) {
        stop();
        next_epoch_ = epoch;
        next_index_ = index;
        running_ = true;
        worker_ = std::thread([this] { work(); });
    }
    // The next batch, in order (waits for the background thread when it is behind).
    [[nodiscard]] batch<S> next() {
        if (!running_) start(next_epoch_, next_index_);
        std::unique_lock lk(m_);
        cv_.wait(lk, [&] { return ready_.has_value() || error_; });
        if (error_) std::rethrow_exception(error_);
        batch<S> b = std::move(*ready_);
        ready_.reset();
        cv_.notify_all();
        return b;
    }
    void stop() {
        if (!running_) return;
        {
            std::lock_guard lk(m_);
            running_ = false;
        }
        cv_.notify_all();
        if (worker_.joinable()) worker_.join();
        ready_.reset();
    }

private:
    std::vector<std::size_t> permutation(std::size_t epoch) const {
        std::vector<std::size_t> p(d_.size());
        std::iota(p.begin(), p.end(), 0);
        if (o_.shuffle) {
            const counter_rng r = counter_rng(o_.seed ^ 0xA5A5A5A5ULL).fork(epoch);
            for (std::size_t i = p.size(); i > 1; --i) std::swap(p[i - 1], p[r.bits(i) % i]);
        }
        return p;
    }
    void work() {
        try {
            for (;;) {
                batch<S> b = make(next_epoch_, next_index_);
                if (++next_index_ == batches_per_epoch()) {
                    next_index_ = 0;
                    ++next_epoch_;
                }
                std::unique_lock lk(m_);
                cv_.wait(lk, [&] { return !ready_.has_value() || !running_; });
                if (!running_) return;
                ready_ = std::move(b);
                cv_.notify_all();
            }
        } catch (...) {
            std::lock_guard lk(m_);
            error_ = std::current_exception();
            cv_.notify_all();
        }
    }

    const image_dataset& d_;
    loader_options o_;
    std::thread worker_;
    std::mutex m_;
    std::condition_variable cv_;
    std::optional<batch<S>> ready_;
    std::exception_ptr error_;
    bool running_ = false;
    std::size_t next_epoch_ = 0, next_index_ = 0;
};

}  // namespace tinymim::data
