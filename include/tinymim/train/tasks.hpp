// The TinyMIM recipe as functions: MAE pre-training, TinyMIM distillation (and DMAE), fine-tuning (and DeiT
// distillation while fine-tuning), evaluation.
// Each writes <out>/<name>.ckpt (resumable), <name>_metrics.csv, <name>_loss.png and the final weights
// <name>.safetensors (timm / MAE names).
#pragma once

#include <cmath>
#include <cstddef>
#include <cstdio>
#include <memory>
#include <optional>
#include <string>
#include <type_traits>
#include <vector>

#include "tinymim/data/loader.hpp"
#include "tinymim/dist/agree.hpp"
#include "tinymim/dist/any_communicator.hpp"
#include "tinymim/dist/data_parallel.hpp"
#include "tinymim/distill/deit.hpp"
#include "tinymim/distill/distiller.hpp"
#include "tinymim/distill/dmae.hpp"
#include "tinymim/io/weights.hpp"
#include "tinymim/nn/mae.hpp"
#include "tinymim/nn/vit.hpp"
#include "tinymim/ops/losses.hpp"
#include "tinymim/optim/adamw.hpp"
#include "tinymim/tensor/row_argmax.hpp"
#include "tinymim/train/device_batch.hpp"
#include "tinymim/train/loop.hpp"

namespace tinymim::train {

struct task_options {
    loop_options loop{};
    std::size_t batch_size = 64;
    double weight_decay = 0.05;
    double beta2 = 0.95;  // 0.95 for pre-training and distillation, 0.999 for fine-tuning
    double drop_path = 0;
    double mask_ratio = 0.75;
    double layer_decay = 1.0;
    double label_smoothing = 0;
    double clip_grad_norm = 0;
    double crop_scale_min = 0.2;  // RandomResizedCrop area range lower end
    bool flip = true;
    double jitter = 0.4;      // distillation: colour jitter of the student view
    std::size_t workers = 1;  // threads rendering each batch (decoding a streamed ImageFolder), evaluation too
    // What fine-tuning's evaluation set is, in <name>_eval.csv's columns and the messages: "test", or "holdout" for
    // images held out of the training set (data/holdout.hpp) to make choices on.
    std::string eval_name = "test";
    // A data-parallel group (dist/any_communicator.hpp over dist::mpi...): batch_size is the global batch, each
    // rank trains its shard of it, rank 0 writes the outputs. Empty: one process.
    std::optional<dist::any_communicator> comm;
    // A GPU model's run also takes the same group's device communicator (dist::nccl): the gradients and the
    // parameters move in device memory through it, while `comm` carries the settings, losses and stop flags.
    std::optional<dist::any_device_communicator> device_comm;
};

namespace detail {
// This rank's part of each global batch, and the loop options of this rank (only rank 0 writes).
[[nodiscard]] inline data::shard shard_of(const task_options& o) {
    return o.comm ? data::shard{std::size_t(o.comm->rank()), std::size_t(o.comm->size())} : data::shard{};
}
[[nodiscard]] inline loop_options loop_of(const task_options& o) {
    loop_options l = o.loop;
    l.leader = !o.comm || o.comm->rank() == 0;
    if (o.comm)  // a stop asked of any rank (its signal, request_stop) stops every rank after the same step
        l.agree_stop = [c = *o.comm](bool mine) {
            double v = mine ? 1.0 : 0.0;
            c.allreduce(&v, 1, dist::reduce_op::sum);
            return v > 0;
        };
    return l;
}
[[nodiscard]] inline std::size_t ranks_of(const task_options& o) { return o.comm ? std::size_t(o.comm->size()) : 1; }

// Before the first step of a data-parallel run: the communicators fit the model's memory, and every rank has
// the same settings (and a global batch that divides over them). Nothing without a group.
template <class B, class T>
void join_group(const task_options& o, const char* task, std::size_t images, optim::adamw<T, B>& opt) {
    TINYMIM_CHECK(o.comm || !o.device_comm, task,
                  ": task_options::device_comm needs task_options::comm too, the same group's host communicator "
                  "(dist::mpi), which carries the settings, losses and stop flags");
    if (!o.comm) return;
    if constexpr (B::host_memory) {
        TINYMIM_CHECK(!o.device_comm, task,
                      ": the model is in host memory, so its data-parallel run takes task_options::comm only; "
                      "task_options::device_comm (dist::nccl) is for a GPU model");
    } else {
        TINYMIM_CHECK(o.device_comm, task,
                      ": a GPU model's data-parallel run needs task_options::device_comm (dist::nccl over the "
                      "group of task_options::comm): its gradients live in device memory");
        TINYMIM_CHECK(o.device_comm->size() == o.comm->size() && o.device_comm->rank() == o.comm->rank(), task,
                      ": task_options::device_comm is rank ", o.device_comm->rank(), " of ", o.device_comm->size(),
                      " but task_options::comm is rank ", o.comm->rank(), " of ", o.comm->size(),
                      ": they must be the same group");
    }
    {
        std::uint64_t values = 0;
        for (const auto& sl : opt.slots()) values += sl.param.size;
        dist::agree(*o.comm, {{"task", dist::setting_hash(task)},
                              {"global batch", o.batch_size},
                              {"seed", o.loop.seed},
                              {"epochs", o.loop.epochs},
                              {"steps per epoch", o.loop.steps_per_epoch},
                              {"training images", images},
                              {"trainable values", values}});
        shard_of(o).check(o.batch_size);
    }
}
// join_group, then the trainable parameters from rank 0.
template <class T, class B>
void start_group(const task_options& o, const char* task, std::size_t images, optim::adamw<T, B>& opt) {
    join_group(o, task, images, opt);
    if (!o.comm) return;
    if constexpr (B::host_memory)
        dist::broadcast_parameters(*o.comm, opt);
    else
        dist::broadcast_parameters(*o.device_comm, opt);
}
// The communicator a model on backend B averages its gradients through.
template <class B>
using gradient_communicator = std::conditional_t<B::host_memory, dist::any_communicator, dist::any_device_communicator>;
// The gradient averaging of a data-parallel run (none without task_options::comm): buckets start during each
// backward of a tape that reports to hook(), and finish() after it completes the means. It refers to itself:
// it is never moved.
template <class T, class B>
class rank_gradients {
public:
    rank_gradients(const task_options& o, optim::adamw<T, B>& opt) {
        if (!o.comm) return;
        if constexpr (B::host_memory)
            comm_.emplace(*o.comm);
        else
            comm_.emplace(*o.device_comm);  // join_group checked it is there
        reducer_ = std::make_unique<reducer_type>(*comm_, opt);
    }
    // What the training tape reports to (null without a group).
    [[nodiscard]] gradient_hook* hook() const noexcept { return reducer_.get(); }
    rank_gradients(const rank_gradients&) = delete;
    rank_gradients& operator=(const rank_gradients&) = delete;
    // Between the backward and the update: every rank's gradients averaged.
    void finish() {
        if (reducer_) reducer_->finish();
    }

private:
    using reducer_type = dist::gradient_reducer<gradient_communicator<B>, T, B>;
    std::optional<gradient_communicator<B>> comm_;
    std::unique_ptr<reducer_type> reducer_;
};
// Ends a trainer's data-parallel setting when a task ends, however it ends: its sync and hook refer to the task's
// locals.
template <class Trainer>
class trainer_group_scope {
public:
    explicit trainer_group_scope(Trainer& t) : t_(t) {}
    trainer_group_scope(const trainer_group_scope&) = delete;
    trainer_group_scope& operator=(const trainer_group_scope&) = delete;
    ~trainer_group_scope() { t_.data_parallel(0, {}, nullptr); }

private:
    Trainer& t_;
};

// The reported loss terms averaged over the ranks (each rank's shard is as large): every rank then takes the
// same branch on a non-finite loss.
inline void average_terms(const task_options& o, std::vector<double>& terms) {
    if (o.comm) o.comm->allreduce(terms.data(), terms.size(), dist::reduce_op::average);
}
// After rank 0 wrote a task's outputs: no rank goes on (to a next task that reads them) before they exist.
inline void wait_for_outputs(const task_options& o) {
    if (o.comm) o.comm->barrier();
}

// Checkpoint of one model ("model.") and its optimizer.
template <class Model, class Opt>
void save_model_checkpoint(const std::filesystem::path& p, std::size_t step, const char* kind, std::uint64_t seed,
                           Model& m, Opt& opt) {
    checkpoint_writer<typename Model::value_type> w;
    w.add_model("model.", m);
    w.add_optimizer(opt);
    w.write(p, {.step = step,
                .kind = kind,
                .seed = seed,
                .optim_steps = opt.step_counts(),
                .precision = Model::precision_type::name});
}
// A run resumed in another precision than the one that wrote its checkpoint: allowed (the master weights
// and optimizer state are fp32 either way), and said.
inline void note_precision(const std::filesystem::path& p, const checkpoint_meta& meta, const char* now) {
    if (meta.precision != now)
        std::fprintf(stderr, "resuming %s, trained in %s, in %s\n", p.c_str(), meta.precision.c_str(), now);
}
// Checkpoint of a distillation trainer (a distiller, or dmae): its student ("student."), its own parameters
// ("distiller.": projections) and its optimizer; resuming sets its step count.
template <class Trainer>
void save_trainer_checkpoint(const std::filesystem::path& p, std::size_t step, const char* kind, std::uint64_t seed,
                             Trainer& tr) {
    checkpoint_writer<typename Trainer::value_type> w;
    w.add_model("student.", tr.student());
    w.add_model("distiller.", tr);
    w.add_optimizer(tr.optimizer());
    w.write(p, {.step = step,
                .kind = kind,
                .seed = seed,
                .optim_steps = tr.optimizer().step_counts(),
                .precision = Trainer::student_type::precision_type::name});
}
template <class Trainer>
void load_trainer_checkpoint(const std::filesystem::path& p, const checkpoint_meta& meta, Trainer& tr) {
    note_precision(p, meta, Trainer::student_type::precision_type::name);
    load_checkpoint_group(p, "student.", tr.student());
    load_checkpoint_group(p, "distiller.", tr);
    load_checkpoint_optimizer(p, tr.optimizer(), meta);
    tr.set_steps(meta.step);
}
template <class Model, class Opt>
void load_model_checkpoint(const std::filesystem::path& p, const checkpoint_meta& meta, Model& m, Opt& opt) {
    note_precision(p, meta, Model::precision_type::name);
    load_checkpoint_group(p, "model.", m);
    load_checkpoint_optimizer(p, opt, meta);
}
}  // namespace detail

struct eval_result {
    double accuracy = 0, loss = 0;
    std::size_t images = 0;
};

// Top-1 accuracy and mean cross-entropy of a classifier on a data set (no augmentation; the set's
// eval_center_crop).
template <class Vit>
eval_result evaluate(Vit& model, const data::image_dataset& d, std::size_t batch_size = 256, std::size_t workers = 1) {
    using S = typename Vit::image_shape;
    using B = typename Vit::backend_type;
    data::loader<S> ld(d, {.batch_size = batch_size,
                           .shuffle = false,
                           .drop_last = false,
                           .augment = {.center_crop = d.eval_center_crop},
                           .workers = workers});
    tape<B> t;
    eval_result r;
    double loss_sum = 0;
    std::size_t correct = 0;
    no_grad ng;
    for (std::size_t b = 0; b < ld.batches_per_epoch(); ++b) {
        auto bt = ld.make(0, b);
        t.reset();
        auto&& images = on_backend<B>(bt.images);
        auto&& labels = on_backend<B>(bt.labels);
        auto logits = model.forward(t, input(t, images));
        auto loss = ops::cross_entropy(logits, labels);
        const std::size_t n = bt.labels.size();
        const auto predicted = row_argmax(logits.value());
        for (std::size_t i = 0; i < n; ++i) correct += predicted[i] == bt.labels[i];
        loss_sum += read_scalar(loss) * double(n);
        r.images += n;
    }
    r.accuracy = double(correct) / double(r.images);
    r.loss = loss_sum / double(r.images);
    return r;
}

// MAE pre-training of `m` on `d` (labels unused).
template <class Mae>
loop_result pretrain_mae(Mae& m, const data::image_dataset& d, const task_options& o) {
    using S = typename Mae::image_shape;
    using T = typename Mae::value_type;
    using B = typename Mae::backend_type;
    data::augment_options aug{.random_crop = true, .scale_min = o.crop_scale_min, .flip = o.flip};
    data::loader<S> ld(d, {.batch_size = o.batch_size,
                           .augment = aug,
                           .seed = o.loop.seed,
                           .part = detail::shard_of(o),
                           .workers = o.workers});
    optim::adamw<T, B> opt(
        io::collect(m),
        {.beta1 = 0.9, .beta2 = o.beta2, .weight_decay = o.weight_decay, .clip_grad_norm = o.clip_grad_norm});
    detail::start_group(o, "pretrain", d.size(), opt);
    tape<B> t;
    detail::rank_gradients<T, B> grads(o, opt);
    t.set_gradient_hook(grads.hook());
    const counter_rng rng(o.loop.seed ^ 0x4D4145ULL);
    bool started = false;
    auto step = [&](std::size_t epoch, std::size_t index, double lr) {
        if (!started) {
            ld.start(epoch, index);
            started = true;
        }
        auto b = ld.next();
        const std::size_t s = epoch * (o.loop.steps_per_epoch ? std::min(o.loop.steps_per_epoch, ld.batches_per_epoch())
                                                              : ld.batches_per_epoch()) +
                              index;
        t.reset();
        const counter_rng step_rng = rng.fork(s).from_sample(b.offset);  // draws keyed by the global sample
        auto mask = nn::mae_mask<B, T>::random(b.labels.size(), Mae::P, o.mask_ratio, step_rng);
        auto&& images = on_backend<B>(b.images);
        nn::vit_run run;
        run.training = true;
        run.drop_path = o.drop_path;
        run.rng = step_rng.fork(1);
        auto out = m.forward(t, input(t, images), mask, run);
        std::vector<double> terms{read_scalar(out.loss)};
        detail::average_terms(o, terms);
        if (std::isfinite(terms[0])) {
            out.loss.backward();
            grads.finish();
            opt.step(lr);
        }
        return step_output{b.labels.size() * detail::ranks_of(o), terms};
    };
    auto save = [&](const std::filesystem::path& p, std::size_t s) {
        detail::save_model_checkpoint(p, s, "pretrain", o.loop.seed, m, opt);
    };
    auto load = [&](const std::filesystem::path& p, const checkpoint_meta& meta) {
        detail::load_model_checkpoint(p, meta, m, opt);
    };
    auto r = run_loop(detail::loop_of(o), ld.batches_per_epoch(), {"mae_loss"}, step, save, load);
    ld.stop();
    if (detail::loop_of(o).leader) io::save_weights(m, o.loop.out / (o.loop.name + ".safetensors"));
    detail::wait_for_outputs(o);
    return r;
}

// TinyMIM distillation of the distiller's student from its teacher on `d` (labels unused).
template <class Distiller>
loop_result distill(Distiller& dist, const data::image_dataset& d, const task_options& o) {
    using S = typename Distiller::student_type::image_shape;
    data::augment_options shared{.random_crop = true, .scale_min = o.crop_scale_min, .flip = o.flip};
    data::augment_options student = shared;
    student.brightness = student.contrast = student.saturation = o.jitter;
    data::loader<S> ld(d, {.batch_size = o.batch_size,
                           .two_views = true,
                           .augment = student,
                           .teacher_augment = shared,
                           .seed = o.loop.seed,
                           .part = detail::shard_of(o),
                           .workers = o.workers});
    using B = typename Distiller::backend_type;
    // The distiller's hook refers to it during the run.
    std::optional<detail::gradient_communicator<B>> group;
    if (o.comm) {
        if constexpr (B::host_memory)
            group = o.comm;
        else
            group = o.device_comm;
    }
    const detail::trainer_group_scope scope(dist);
    detail::join_group(o, "distill", d.size(), dist.optimizer());
    if (o.comm) tinymim::dist::make_data_parallel(dist, *group, o.batch_size);
    bool started = false;
    auto step = [&](std::size_t epoch, std::size_t index, double lr) {
        if (!started) {
            ld.start(epoch, index);
            started = true;
        }
        auto b = ld.next();
        const auto r = dist.step(on_backend<B>(b.teacher_images), on_backend<B>(b.images), lr);
        std::vector<double> terms = {r.total};
        if (Distiller::n_terms > 1) terms.insert(terms.end(), r.terms.begin(), r.terms.end());
        return step_output{b.labels.size() * detail::ranks_of(o), terms};
    };
    auto save = [&](const std::filesystem::path& p, std::size_t s) {
        detail::save_trainer_checkpoint(p, s, "distill", o.loop.seed, dist);
    };
    auto load = [&](const std::filesystem::path& p, const checkpoint_meta& meta) {
        detail::load_trainer_checkpoint(p, meta, dist);
    };
    std::vector<std::string> names = {"loss"};
    if (Distiller::n_terms > 1)
        for (const auto& n : Distiller::term_names()) names.push_back(n);
    auto r = run_loop(detail::loop_of(o), ld.batches_per_epoch(), names, step, save, load);
    ld.stop();
    if (detail::loop_of(o).leader) io::save_weights(dist.student(), o.loop.out / (o.loop.name + ".safetensors"));
    detail::wait_for_outputs(o);
    return r;
}

// DMAE distillation (distill/dmae.hpp) of the trainer's student MAE on `d` (labels unused). The result,
// <name>.safetensors, is the student MAE's weights (encoder and decoder, as pre-training writes them).
template <class Dmae>
loop_result distill_dmae(Dmae& dm, const data::image_dataset& d, const task_options& o) {
    using S = typename Dmae::student_type::image_shape;
    using B = typename Dmae::backend_type;
    using T = typename Dmae::value_type;
    data::augment_options aug{.random_crop = true, .scale_min = o.crop_scale_min, .flip = o.flip};
    data::loader<S> ld(d, {.batch_size = o.batch_size,
                           .augment = aug,
                           .seed = o.loop.seed,
                           .part = detail::shard_of(o),
                           .workers = o.workers});
    detail::start_group(o, "distill_dmae", d.size(), dm.optimizer());
    detail::rank_gradients<T, B> grads(o, dm.optimizer());
    const detail::trainer_group_scope scope(dm);
    if (o.comm) {
        dm.data_parallel(
            detail::shard_of(o).offset(o.batch_size), [&grads](auto&, auto&) { grads.finish(); }, grads.hook());
    }
    bool started = false;
    auto step = [&](std::size_t epoch, std::size_t index, double lr) {
        if (!started) {
            ld.start(epoch, index);
            started = true;
        }
        auto b = ld.next();
        const auto r = dm.step(on_backend<B>(b.images), lr);
        std::vector<double> terms{r.total, r.mae, r.feature};
        detail::average_terms(o, terms);
        return step_output{b.labels.size() * detail::ranks_of(o), terms};
    };
    auto save = [&](const std::filesystem::path& p, std::size_t s) {
        detail::save_trainer_checkpoint(p, s, "dmae", o.loop.seed, dm);
    };
    auto load = [&](const std::filesystem::path& p, const checkpoint_meta& meta) {
        detail::load_trainer_checkpoint(p, meta, dm);
    };
    auto r = run_loop(detail::loop_of(o), ld.batches_per_epoch(), {"loss", "mae", "feature"}, step, save, load);
    ld.stop();
    if (detail::loop_of(o).leader) io::save_weights(dm.student(), o.loop.out / (o.loop.name + ".safetensors"));
    detail::wait_for_outputs(o);
    return r;
}

namespace detail {
// The fine-tuning loop around a loss: loss(tape, images, labels, run, terms) returns the scalar var to minimise
// and writes the values logged under `names` into terms (the first one the loss itself). `task` names the run
// to the ranks of a data-parallel group.
template <class Vit, class Loss>
loop_result finetune_with(const char* task, Vit& m, const data::image_dataset& train_set,
                          const data::image_dataset& test, const task_options& o, const std::vector<std::string>& names,
                          Loss&& loss, eval_result* final_eval) {
    using S = typename Vit::image_shape;
    using T = typename Vit::value_type;
    using B = typename Vit::backend_type;
    data::augment_options aug{.random_crop = true, .scale_min = o.crop_scale_min, .flip = o.flip};
    data::loader<S> ld(
        train_set,
        {.batch_size = o.batch_size, .augment = aug, .seed = o.loop.seed, .part = shard_of(o), .workers = o.workers});
    optim::adamw<T, B> opt(io::collect(m), {.beta1 = 0.9,
                                            .beta2 = o.beta2,
                                            .weight_decay = o.weight_decay,
                                            .clip_grad_norm = o.clip_grad_norm,
                                            .layer_decay = o.layer_decay,
                                            .depth = Vit::depth});
    start_group(o, task, train_set.size(), opt);
    const loop_options lo = loop_of(o);
    tape<B> t;
    rank_gradients<T, B> grads(o, opt);
    t.set_gradient_hook(grads.hook());
    const counter_rng rng(o.loop.seed ^ 0x46544EULL);
    bool started = false;
    std::size_t step_no = 0;
    std::vector<double> terms(names.size(), 0.0);
    auto step = [&](std::size_t epoch, std::size_t index, double lr) {
        if (!started) {
            ld.start(epoch, index);
            started = true;
        }
        auto b = ld.next();
        t.reset();
        nn::vit_run run;
        run.training = true;
        run.drop_path = o.drop_path;
        run.rng = rng.fork(step_no++).from_sample(b.offset);  // drop path keyed by the global sample
        auto&& images = on_backend<B>(b.images);
        auto&& labels = on_backend<B>(b.labels);
        auto l = loss(t, images, labels, run, terms);
        average_terms(o, terms);
        if (std::isfinite(terms[0])) {
            l.backward();
            grads.finish();
            opt.step(lr);
        }
        return step_output{b.labels.size() * ranks_of(o), terms};
    };
    auto save = [&](const std::filesystem::path& p, std::size_t s) {
        save_model_checkpoint(p, s, "finetune", o.loop.seed, m, opt);
    };
    auto load = [&](const std::filesystem::path& p, const checkpoint_meta& meta) {
        load_model_checkpoint(p, meta, m, opt);
        step_no = meta.step;
    };
    std::optional<csv_log> evlog;  // rank 0's; every rank evaluates (the same weights, the same numbers)
    if (lo.leader) {
        std::filesystem::create_directories(o.loop.out);
        evlog.emplace(o.loop.out / (o.loop.name + "_eval.csv"),
                      std::vector<std::string>{"epoch", o.eval_name + "_accuracy", o.eval_name + "_loss"},
                      o.loop.resume);
    }
    eval_result last;
    auto on_epoch = [&](std::size_t epoch) {
        last = evaluate(m, test, 256, o.workers);
        if (!evlog) return;
        evlog->row({double(epoch + 1), last.accuracy, last.loss});
        std::fprintf(stderr, "%s: epoch %zu %s accuracy %.2f%% (loss %.4f)\n", o.loop.name.c_str(), epoch + 1,
                     o.eval_name.c_str(), 100 * last.accuracy, last.loss);
    };
    auto r = run_loop(lo, ld.batches_per_epoch(), names, step, save, load, on_epoch);
    ld.stop();
    if (o.loop.plot && evlog)
        plot_csv(evlog->path(), o.loop.out / (o.loop.name + "_accuracy.png"),
                 o.loop.name + ": " + o.eval_name + " accuracy", "epoch", {o.eval_name + "_accuracy"}, "top-1");
    if (last.images == 0) last = evaluate(m, test, 256, o.workers);
    if (final_eval != nullptr) *final_eval = last;
    if (lo.leader) io::save_weights(m, o.loop.out / (o.loop.name + ".safetensors"));
    wait_for_outputs(o);
    return r;
}
}  // namespace detail

// Fine-tuning of a classifier (cross-entropy with label smoothing, layer decay, linearly increasing
// drop path), evaluated on `test` after every epoch (<name>_eval.csv, <name>_accuracy.png).
template <class Vit>
loop_result finetune(Vit& m, const data::image_dataset& train_set, const data::image_dataset& test,
                     const task_options& o, eval_result* final_eval = nullptr) {
    using T = typename Vit::value_type;
    auto loss = [&](tape<typename Vit::backend_type>& t, const auto& images, const auto& labels, const nn::vit_run& run,
                    std::vector<double>& terms) {
        auto l = ops::cross_entropy(m.forward(t, input(t, images), run), labels, T(o.label_smoothing));
        terms[0] = read_scalar(l);
        return l;
    };
    return detail::finetune_with("finetune", m, train_set, test, o, {"ce_loss"}, loss, final_eval);
}

// A frozen classifier as a DeiT teacher: images -> logits [B, classes], without gradients, on its own tape.
template <class Vit>
[[nodiscard]] auto frozen_classifier(Vit& teacher) {
    using B = typename Vit::backend_type;
    using T = typename Vit::value_type;
    auto t = std::make_shared<tape<B>>();
    return [&teacher, t](const tensor<T, typename Vit::image_shape, B>& images) {
        t->reset();
        no_grad ng;
        return teacher.forward(*t, input(*t, images)).value();
    };
}

// DeiT fine-tuning (distill/deit.hpp): the student, a classifier with a distillation token, learns the labels
// through its class head and the teacher's logits through its distillation head. teacher(images) returns the
// teacher's logits [B, classes] (frozen_classifier, or any callable: the teacher need not be a ViT). Logs the
// loss, its cross-entropy and its distillation term; the student's test accuracy averages its two heads.
template <class Vit, class Teacher>
loop_result finetune_deit(Vit& m, Teacher&& teacher, const data::image_dataset& train_set,
                          const data::image_dataset& test, const task_options& o, const distill::deit_options& d,
                          eval_result* final_eval = nullptr) {
    static_assert(Vit::has_dist, "finetune_deit: the student needs a distillation token (vit_config::distill_token)");
    using T = typename Vit::value_type;
    using B = typename Vit::backend_type;
    distill::deit_criterion<B> criterion(d);
    auto loss = [&](tape<B>& t, const auto& images, const auto& labels, const nn::vit_run& run,
                    std::vector<double>& terms) {
        const auto z_t = teacher(images);
        auto z = m.forward_heads(t, input(t, images), run);
        auto l = criterion(z.cls, z.dist, z_t, labels, T(o.label_smoothing));
        terms = {read_scalar(l.total), read_scalar(l.ce), read_scalar(l.distill)};
        return l.total;
    };
    return detail::finetune_with("finetune (DeiT)", m, train_set, test, o, {"loss", "ce", "distill"}, loss, final_eval);
}

}  // namespace tinymim::train
