// The tool's command line: commands, options and their ranges (see cli.hpp).
#include "cli.hpp"

#include <cmath>
#include <limits>
#include <string>

#include "models.hpp"

namespace {
// A number within a range, whose error names the range: "--blr: -5 is outside (0, inf)".
CLI::Validator within(double lo, double hi, bool lo_open, bool hi_open) {
    auto bound = [](double v) { return std::isinf(v) ? std::string("inf") : CLI::detail::to_string(v); };
    const std::string range = (lo_open ? "(" : "[") + bound(lo) + ", " + bound(hi) + (hi_open ? ")" : "]");
    return CLI::Validator(
        [=](std::string& text) -> std::string {
            double v = 0;
            if (!CLI::detail::lexical_cast(text, v) || std::isnan(v)) return text + " is not a number";
            if ((lo_open ? v <= lo : v < lo) || (hi_open ? v >= hi : v > hi)) return text + " is outside " + range;
            return {};
        },
        range);
}
const double inf = std::numeric_limits<double>::infinity();
const CLI::Validator positive = within(0, inf, true, true);       // learning rates
const CLI::Validator non_negative = within(0, inf, false, true);  // decays, warm-up, limits, seeds
const CLI::Validator at_least_one = within(1, inf, false, true);  // epochs, batches, steps
const CLI::Validator fraction = within(0, 1, false, true);        // drop path, label smoothing, mask ratio: [0, 1)
const CLI::Validator share = within(0, 1, true, false);           // crop scale, layer decay: (0, 1]

void add_common(CLI::App& app, tool::common_options& c) {
    app.add_option("--device", c.device, "cpu or cuda")
        ->capture_default_str()
        ->check(CLI::IsMember(std::vector<std::string>{"cpu", "cuda"}));
    app.add_option("--precision", c.precision,
                   "fp32, or bf16: bf16 GEMM operands with fp32 accumulation, norms, softmax and losses in fp32, fp32 "
                   "master weights (tinymim::bf16_mixed)")
        ->capture_default_str()
        ->check(CLI::IsMember(std::vector<std::string>{"fp32", "bf16"}));
    app.add_option("--threads", c.threads, "CPU threads (0: all cores)")->capture_default_str()->check(non_negative);
    app.add_option("--seed", c.seed, "seed of every random choice (data order, augmentation, masks, init)")
        ->capture_default_str()
        ->check(non_negative);
    app.add_option("--out", c.out, "directory for checkpoints, weights, metrics and plots")->capture_default_str();
    app.add_option("--data", c.data,
                   "Fashion-MNIST IDX directory (default: /usr/share/datasets/fashion-mnist), or an "
                   "ImageFolder root with train/ and test/");
    app.add_option("--train-limit", c.train_limit, "use only the first N training images (0: all)")
        ->check(non_negative);
    app.add_option("--test-limit", c.test_limit, "use only the first N test images (0: all)")->check(non_negative);
    app.add_option("--holdout", c.holdout,
                   "hold out N training images (spread evenly, the same every run): no command trains on them, and "
                   "finetune and eval measure on them instead of the test set (0: none)")
        ->check(non_negative);
    app.add_option("--workers", c.workers,
                   "threads that render each batch; an ImageFolder is decoded there, every epoch (default 1)")
        ->capture_default_str()
        ->check(CLI::Range(std::size_t(1), std::size_t(256)));
    app.add_flag("--resume", c.resume, "continue from the checkpoint in --out when there is one");
    app.add_flag("--no-plots", c.quiet_plots, "do not draw PNG curves");
}
std::string models_help() {
    std::string s;
    for (const auto& n : tool::model_names) s += (s.empty() ? "" : ", ") + n;
    return s;
}
}  // namespace

namespace tool {

std::unique_ptr<command_line> make_command_line() {
    auto cl = std::make_unique<command_line>(
        "tinymim: distil MAE-pre-trained Vision Transformers into small ones (TinyMIM), on the CPU or a CUDA GPU.\n"
        "Start with `tinymim demo`: it pre-trains a teacher, distils a student and fine-tunes both on "
        "Fashion-MNIST.\nModels: " +
        models_help());
    CLI::App& app = cl->app;
    app.require_subcommand(1);
    common_options& c = cl->common;

    pretrain_args& pa = cl->pretrain;
    auto* pre = cl->pretrain_cmd =
        app.add_subcommand("pretrain", "MAE pre-training of a model (writes <out>/<name>.safetensors)");
    add_common(*pre, c);
    pre->add_option("--model", pa.model, "model name")->capture_default_str();
    pre->add_option("--mask-ratio", pa.mask_ratio, "fraction of patches removed")
        ->capture_default_str()
        ->check(fraction);
    pre->add_option("--epochs", pa.epochs)->capture_default_str()->check(at_least_one);
    pre->add_option("--batch", pa.batch)->capture_default_str()->check(at_least_one);
    pre->add_option("--steps-per-epoch", pa.steps_per_epoch, "limit each epoch to N steps (0: all)")
        ->check(non_negative);
    pre->add_option("--blr", pa.blr, "base learning rate; lr = blr * batch / 256")
        ->capture_default_str()
        ->check(positive);
    pre->add_option("--warmup-epochs", pa.warmup_epochs)->capture_default_str()->check(non_negative);
    pre->add_option("--weight-decay", pa.weight_decay)->capture_default_str()->check(non_negative);
    pre->add_option("--name", pa.name, "file stem of the outputs")->capture_default_str();
    pre->add_option("--crop-scale", pa.crop_scale_min, "RandomResizedCrop: smallest area fraction")
        ->capture_default_str()
        ->check(share);

    distill_args& da = cl->distill;
    auto* dis = cl->distill_cmd =
        app.add_subcommand("distill", "TinyMIM distillation of a student from a pre-trained teacher");
    add_common(*dis, c);
    dis->add_option("--teacher", da.teacher)->capture_default_str();
    dis->add_option("--teacher-weights", da.teacher_weights, "the teacher's weights (safetensors)")->required();
    dis->add_option("--student", da.student)->capture_default_str();
    dis->add_option("--target", da.target,
                    "relation (QK + VV, KL), relation-heads (MiniLMv2: QQ + KK + VV over R relation heads, KL), "
                    "feature (block output, smooth-L1), cls (KL) or dmae (the student an MAE: its loss + L1 to the "
                    "teacher block's features on the visible patches; writes the student MAE)")
        ->capture_default_str()
        ->check(CLI::IsMember(std::vector<std::string>{"relation", "relation-heads", "feature", "cls", "dmae"}));
    dis->add_option("--relation-heads", da.relation_heads,
                    "relation-heads: R, which both widths must divide by (0: the teacher's head count)")
        ->capture_default_str()
        ->check(non_negative);
    dis->add_option("--teacher-block", da.teacher_block, "1-based teacher block to distil from (0: its last)")
        ->check(non_negative);
    dis->add_option("--layers", da.layers,
                    "a layer map, teacher:student block pairs (1-based), e.g. \"4:3,6:6\": the target at every pair, "
                    "summed");
    dis->add_option("--input", da.input, "raw or masked (MAE-style mask on both)")
        ->capture_default_str()
        ->check(CLI::IsMember(std::vector<std::string>{"raw", "masked"}));
    dis->add_option("--mask-ratio", da.mask_ratio)->capture_default_str()->check(fraction);
    dis->add_option("--drop-path", da.drop_path, "student drop path (not on its last block)")
        ->capture_default_str()
        ->check(fraction);
    dis->add_option("--epochs", da.epochs)->capture_default_str()->check(at_least_one);
    dis->add_option("--batch", da.batch)->capture_default_str()->check(at_least_one);
    dis->add_option("--steps-per-epoch", da.steps_per_epoch)->check(non_negative);
    dis->add_option("--blr", da.blr)->capture_default_str()->check(positive);
    dis->add_option("--warmup-epochs", da.warmup_epochs)->capture_default_str()->check(non_negative);
    dis->add_option("--name", da.name)->capture_default_str();
    dis->add_option("--crop-scale", da.crop_scale_min, "RandomResizedCrop: smallest area fraction")
        ->capture_default_str()
        ->check(share);

    finetune_args& fa = cl->finetune;
    auto* fin = cl->finetune_cmd =
        app.add_subcommand("finetune", "classification fine-tuning (from --weights, or from scratch)");
    add_common(*fin, c);
    fin->add_option("--model", fa.model)->capture_default_str();
    fin->add_option("--weights", fa.weights, "pre-trained or distilled weights (omit: from scratch)");
    fin->add_option("--classes", fa.classes, "number of classes (default: from the data set)")->check(non_negative);
    fin->add_option("--epochs", fa.epochs)->capture_default_str()->check(at_least_one);
    fin->add_option("--batch", fa.batch)->capture_default_str()->check(at_least_one);
    fin->add_option("--steps-per-epoch", fa.steps_per_epoch)->check(non_negative);
    fin->add_option("--blr", fa.blr)->capture_default_str()->check(positive);
    fin->add_option("--layer-decay", fa.layer_decay)->capture_default_str()->check(share);
    fin->add_option("--drop-path", fa.drop_path)->capture_default_str()->check(fraction);
    fin->add_option("--label-smoothing", fa.label_smoothing)->capture_default_str()->check(fraction);
    fin->add_option("--warmup-epochs", fa.warmup_epochs)->capture_default_str()->check(non_negative);
    fin->add_option("--name", fa.name)->capture_default_str();
    fin->add_option("--crop-scale", fa.crop_scale_min, "RandomResizedCrop: smallest area fraction")
        ->capture_default_str()
        ->check(share);
    fin->add_option("--distill", fa.distill,
                    "DeiT distillation from --teacher through a distillation token: soft or hard (omit: none)")
        ->check(CLI::IsMember(std::vector<std::string>{"soft", "hard"}));
    fin->add_option("--teacher", fa.teacher, "the teacher's model name (a classifier fine-tuned by this tool)");
    fin->add_option("--teacher-weights", fa.teacher_weights, "the teacher's weights (safetensors)");
    fin->add_option("--distill-alpha", fa.distill_alpha,
                    "weight of the distillation term (default: 0.1 soft, 0.5 hard)")
        ->check(within(0, 1, true, true));
    fin->add_option("--distill-tau", fa.distill_tau, "soft distillation: temperature")
        ->capture_default_str()
        ->check(positive);

    eval_args& ea = cl->eval;
    auto* ev = cl->eval_cmd =
        app.add_subcommand("eval", "top-1 accuracy and loss of a fine-tuned model on the test set");
    add_common(*ev, c);
    ev->add_option("--model", ea.model)->capture_default_str();
    ev->add_option("--weights", ea.weights)->required();
    ev->add_option("--classes", ea.classes)->check(non_negative);

    embed_args& ma = cl->embed;
    auto* emb = cl->embed_cmd =
        app.add_subcommand("embed",
                           "token features after the final norm (timm's forward_features) of images in a "
                           "safetensors file (tensor 'images' [B, C, H, W] float32)");
    add_common(*emb, c);
    emb->add_option("--model", ma.model)->capture_default_str();
    emb->add_option("--weights", ma.weights)->required();
    emb->add_option("--images", ma.images)->required();
    emb->add_option("--out-file", ma.out_file, "safetensors file to write (tensor 'features' [B, N, D])")->required();
    emb->add_option("--head", ma.head, "none (pre-trained, final norm), avg (fc_norm head) or cls")
        ->capture_default_str()
        ->check(CLI::IsMember(std::vector<std::string>{"none", "avg", "cls"}));
    emb->add_option("--classes", ma.classes)->check(non_negative);

    bench_args& ba = cl->bench;
    auto* ben = cl->bench_cmd = app.add_subcommand(
        "bench",
        "time forward | train | mae | distill on random data, or measure the cores' peak (JSON on the last line)");
    add_common(*ben, c);
    ben->add_option("what", ba.what,
                    "forward, train, mae, distill, or peak (the multiply-add peak of --threads cores in --precision)")
        ->required()
        ->check(CLI::IsMember(std::vector<std::string>{"forward", "train", "mae", "distill", "peak"}));
    ben->add_option("--model", ba.model)->capture_default_str();
    ben->add_option("--teacher", ba.teacher)->capture_default_str();
    ben->add_option("--student", ba.student)->capture_default_str();
    ben->add_option("--batch", ba.batch)->capture_default_str()->check(at_least_one);
    ben->add_option("--steps", ba.steps)->capture_default_str()->check(at_least_one);
    ben->add_option("--warmup", ba.warmup)->capture_default_str()->check(non_negative);
    ben->add_flag("--tf32", ba.tf32, "with --device cuda: TF32 tensor-core GEMMs (faster, ~1e-3 relative error)");

    demo_args& dm = cl->demo;
    auto* demo = cl->demo_cmd = app.add_subcommand("demo", "the whole recipe on Fashion-MNIST, with a results table");
    add_common(*demo, c);
    demo->add_option("--profile", dm.profile, "quick (< 20 min on 2 cores), full, or smoke (CI)")
        ->capture_default_str()
        ->check(CLI::IsMember(std::vector<std::string>{"quick", "full", "smoke"}));

    auto* rep = cl->report_cmd = app.add_subcommand(
        "report", "redraw a run folder's curves and comparison figure (and a demo's results.md) from its CSV/JSON");
    rep->add_option("dir", cl->report.dir, "the run folder (--out of a command or of demo)")->required();

    return cl;
}

}  // namespace tool
