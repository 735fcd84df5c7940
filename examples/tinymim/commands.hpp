// The tool's commands as plain functions with argument structs (the CLI and `demo` both call them).
#pragma once

#include <cstdint>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>

#include <tinymim/backend/cpu/cpu.hpp>
#include <tinymim/dist/any_communicator.hpp>
#include <tinymim/train/tasks.hpp>

namespace tinymim::backends {
struct cuda;  // backend/cuda/cuda.cuh, in nvcc TUs only
}  // namespace tinymim::backends

namespace tool {

struct common_options {
    std::string device = "cpu";
    int threads = 0;  // 0: all cores
    std::uint64_t seed = 0;
    std::filesystem::path out = "runs";
    std::filesystem::path data;   // Fashion-MNIST IDX directory (default: Debian's) or an ImageFolder root
    std::size_t train_limit = 0;  // use only the first N training images (0: all)
    std::size_t test_limit = 0;
    std::size_t holdout = 0;  // training images held out (data/holdout.hpp): "test" is then those images
    std::size_t workers = 1;  // threads that render each batch (decode an ImageFolder's files)
    bool resume = false;
    bool quiet_plots = false;
    std::string precision = "fp32";  // fp32 | bf16 (tinymim::bf16_mixed)
    // Under mpirun: every rank of the run, one data-parallel group (--batch is the global batch).
    std::optional<tinymim::dist::any_communicator> comm;
    // With --device cuda under mpirun: the group's NCCL communicator, one GPU per rank (join_gpu_group).
    std::optional<tinymim::dist::any_device_communicator> device_comm;
};

// Checks --device and sets the thread count. Throws a clear error for a device this build lacks.
void apply_common(const common_options& c);

struct pretrain_args {
    using result = tinymim::train::loop_result;
    std::string model = "fm-small";
    double mask_ratio = 0.75;
    std::size_t epochs = 20, batch = 128, steps_per_epoch = 0;
    double blr = 1.5e-4;  // lr = blr * batch / 256 (MAE)
    double warmup_epochs = 2, weight_decay = 0.05, drop_path = 0;
    double crop_scale_min = 0.2;  // RandomResizedCrop (MAE / TinyMIM: 0.2)
    std::string name = "pretrain";
};

struct distill_args {
    using result = tinymim::train::loop_result;
    std::string teacher = "fm-small", student = "fm-tiny";
    std::filesystem::path teacher_weights;
    std::string target = "relation";  // relation | relation-heads | feature | cls | dmae
    std::size_t relation_heads = 0;   // relation-heads: MiniLMv2's R (0: the teacher's head count)
    std::size_t teacher_block = 0;    // 1-based; 0: the teacher's last block
    std::string layers;               // a layer map "4:3,6:6" (teacher:student blocks; empty: the taps)
    std::string input = "raw";        // raw | masked
    double mask_ratio = 0.75, drop_path = 0.1, jitter = 0.4;
    std::size_t epochs = 20, batch = 128, steps_per_epoch = 0;
    double blr = 1.5e-4, warmup_epochs = 2, weight_decay = 0.05;
    double crop_scale_min = 0.2;
    std::string name = "distill";
};

struct finetune_args {
    using result = tinymim::train::eval_result;
    std::string model = "fm-tiny";
    std::filesystem::path weights;  // pre-trained / distilled encoder (empty: from scratch)
    std::size_t classes = 0;        // 0: from the data set
    std::size_t epochs = 20, batch = 128, steps_per_epoch = 0;
    double blr = 5e-4, warmup_epochs = 2, min_lr = 1e-6, weight_decay = 0.05, layer_decay = 0.75, drop_path = 0.1,
           label_smoothing = 0.1;
    double crop_scale_min = 0.35;
    std::string name = "finetune";
    // DeiT distillation while fine-tuning (distill/deit.hpp): soft | hard (empty: plain fine-tuning), from a
    // fine-tuned classifier --teacher NAME with --teacher-weights FILE.
    std::string distill;
    std::string teacher;
    std::filesystem::path teacher_weights;
    double distill_alpha = -1;  // < 0: the paper's weight (0.1 soft, 0.5 hard)
    double distill_tau = 3;
};

struct eval_args {
    using result = tinymim::train::eval_result;
    std::string model = "fm-tiny";
    std::filesystem::path weights;
    std::size_t classes = 0, batch = 256;
};

struct embed_args {
    using result = void;
    std::string model = "fm-tiny";
    std::string head = "none";  // none | avg | cls: which timm model the weights come from
    std::size_t classes = 0;
    std::filesystem::path weights, images, out_file;
};

struct bench_args {
    using result = void;
    std::string what = "train";  // forward | train | mae | distill
    std::string model = "fm-tiny", teacher = "fm-small", student = "fm-tiny";
    std::size_t batch = 64, steps = 10, warmup = 2;
    bool tf32 = false;  // --device cuda: TF32 tensor-core GEMMs for float (off: true fp32)
};
// The library the CPU backend's GEMMs go to in this build (defined in the CPU TU cmd_bench.cpp: the CUDA
// TU does not see the CPU GEMM's header).
const char* cpu_gemm_library();
// The same for bf16 GEMMs, and the bf16 instructions this CPU has ("amx_bf16 avx512_bf16", or "none").
const char* cpu_bf16_gemm_path();
std::string cpu_bf16_hardware();
// `bench peak`: the measured fp32 multiply-add peak of --threads cores (best of --steps runs), as JSON.
void run_peak(const common_options& c, const bench_args& a);

struct demo_args {
    std::string profile = "quick";  // quick | full
};
void run_demo(const common_options& c, const demo_args& a);

struct report_args {
    std::filesystem::path dir;  // a run folder (--out of any command, or of demo)
};
// Redraws a run folder's curves and comparison figure and, for a demo's folder, its results.md.
void run_report(const report_args& a);

// Each command's body on backend B in precision P (<command>_impl.hpp): instantiated for the CPU in the
// command's TUs (cmd_*.cpp, cmd_*_bf16.cpp) and for CUDA in cuda_commands*.cu. `bench` prints progress to stderr and
// its JSON result as the last line of stdout.
template <class B, class P>
pretrain_args::result run_on(const common_options& c, const pretrain_args& a);
template <class B, class P>
distill_args::result run_on(const common_options& c, const distill_args& a);
template <class B, class P>
finetune_args::result run_on(const common_options& c, const finetune_args& a);
template <class B, class P>
eval_args::result run_on(const common_options& c, const eval_args& a);
template <class B, class P>
embed_args::result run_on(const common_options& c, const embed_args& a);
template <class B, class P>
bench_args::result run_on(const common_options& c, const bench_args& a);

#if defined(TINYMIM_TOOL_CUDA)
void check_cuda_device();  // cuda_commands.cu: a device is visible, else an error that says so
// gpu_group.cu: this rank's GPU (its place on its machine) and the NCCL communicator of c.comm's group, which
// c.device_comm then views; the handle keeps it alive.
std::shared_ptr<void> join_gpu_group(common_options& c, int local_rank);
#endif

// Runs a command on the backend --device names: the one place the tool chooses a backend.
// The precision --precision names, on backend B.
template <class B, class Args>
typename Args::result run_in_precision(const common_options& c, const Args& a) {
    if (c.precision == "bf16") return run_on<B, tinymim::bf16_mixed>(c, a);
    TINYMIM_CHECK(c.precision == "fp32", "--precision must be fp32 or bf16, not '", c.precision, "'");
    return run_on<B, tinymim::fp32>(c, a);
}

// Runs a command on the backend --device names in the precision --precision names: the one place the tool
// chooses them.
template <class Args>
typename Args::result run(const common_options& c, const Args& a) {
    apply_common(c);
#if defined(TINYMIM_TOOL_CUDA)
    if (c.device == "cuda") return run_in_precision<tinymim::backends::cuda>(c, a);
#endif
    return run_in_precision<tinymim::backends::cpu>(c, a);
}

// The data sets: Fashion-MNIST from --data (or Debian's path), else an ImageFolder root with train/ and test/.
// With --holdout N, "train" is the training set less N held-out images and "test" those N images.
tinymim::data::image_dataset load_split(const common_options& c, const std::string& split, std::size_t channels,
                                        std::size_t size);

}  // namespace tool
