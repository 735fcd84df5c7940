// The tool's commands as plain functions with argument structs (the CLI and `demo` both call them).
#pragma once

#include <cstdint>
#include <filesystem>
#include <string>

#include <tinymim/train/tasks.hpp>

namespace tool {

struct common_options {
    std::string device = "cpu";
    int threads = 0;  // 0: all cores
    std::uint64_t seed = 0;
    std::filesystem::path out = "runs";
    std::filesystem::path data;          // Fashion-MNIST IDX directory (default: Debian's) or an ImageFolder root
    std::size_t train_limit = 0;         // use only the first N training images (0: all)
    std::size_t test_limit = 0;
    bool resume = false;
    bool quiet_plots = false;
};

// Checks --device and sets the thread count. Throws a clear error for a device this build lacks.
void apply_common(const common_options& c);

struct pretrain_args {
    std::string model = "fm-small";
    double mask_ratio = 0.75;
    std::size_t epochs = 20, batch = 128, steps_per_epoch = 0;
    double blr = 1.5e-4;  // lr = blr * batch / 256 (MAE)
    double warmup_epochs = 2, weight_decay = 0.05, drop_path = 0;
    double crop_scale_min = 0.2;  // RandomResizedCrop (MAE / TinyMIM: 0.2)
    std::string name = "pretrain";
};
tinymim::train::loop_result run_pretrain(const common_options& c, const pretrain_args& a);

struct distill_args {
    std::string teacher = "fm-small", student = "fm-tiny";
    std::filesystem::path teacher_weights;
    std::string target = "relation";  // relation | feature | cls
    std::size_t teacher_block = 0;    // 1-based; 0: the teacher's last block
    std::string input = "raw";        // raw | masked
    double mask_ratio = 0.75, drop_path = 0.1, jitter = 0.4;
    std::size_t epochs = 20, batch = 128, steps_per_epoch = 0;
    double blr = 1.5e-4, warmup_epochs = 2, weight_decay = 0.05;
    double crop_scale_min = 0.2;
    std::string name = "distill";
};
tinymim::train::loop_result run_distill(const common_options& c, const distill_args& a);

struct finetune_args {
    std::string model = "fm-tiny";
    std::filesystem::path weights;  // pre-trained / distilled encoder (empty: from scratch)
    std::size_t classes = 0;        // 0: from the data set
    std::size_t epochs = 20, batch = 128, steps_per_epoch = 0;
    double blr = 5e-4, warmup_epochs = 2, min_lr = 1e-6, weight_decay = 0.05, layer_decay = 0.75, drop_path = 0.1,
           label_smoothing = 0.1;
    double crop_scale_min = 0.35;
    std::string name = "finetune";
};
tinymim::train::eval_result run_finetune(const common_options& c, const finetune_args& a);

struct eval_args {
    std::string model = "fm-tiny";
    std::filesystem::path weights;
    std::size_t classes = 0, batch = 256;
};
tinymim::train::eval_result run_eval(const common_options& c, const eval_args& a);

struct embed_args {
    std::string model = "fm-tiny";
    std::string head = "none";  // none | avg | cls: which timm model the weights come from
    std::size_t classes = 0;
    std::filesystem::path weights, images, out_file;
};
void run_embed(const common_options& c, const embed_args& a);

struct bench_args {
    std::string what = "train";  // forward | train | mae | distill
    std::string model = "fm-tiny", teacher = "fm-small", student = "fm-tiny";
    std::size_t batch = 64, steps = 10, warmup = 2;
    bool tf32 = false;  // --device cuda: TF32 tensor-core GEMMs for float (off: true fp32)
};
// Prints progress to stderr and the JSON result as the last line of stdout.
void run_bench(const common_options& c, const bench_args& a);
// The library the CPU backend's GEMMs go to in this build (defined in the CPU TU cmd_bench.cpp: the CUDA
// TU does not see the CPU GEMM's header).
const char* cpu_gemm_library();
// `bench peak`: the measured fp32 multiply-add peak of --threads cores (best of --steps runs), as JSON.
void run_peak(const common_options& c, const bench_args& a);

struct demo_args {
    std::string profile = "quick";  // quick | full
};
void run_demo(const common_options& c, const demo_args& a);

#if defined(TINYMIM_TOOL_CUDA)
// The commands on the CUDA backend (cuda_commands.cu); apply_common checks for a device first.
void check_cuda_device();
tinymim::train::loop_result run_pretrain_cuda(const common_options& c, const pretrain_args& a);
tinymim::train::loop_result run_distill_cuda(const common_options& c, const distill_args& a);
tinymim::train::eval_result run_finetune_cuda(const common_options& c, const finetune_args& a);
tinymim::train::eval_result run_eval_cuda(const common_options& c, const eval_args& a);
void run_embed_cuda(const common_options& c, const embed_args& a);
void run_bench_cuda(const common_options& c, const bench_args& a);
#endif

// The data sets: Fashion-MNIST from --data (or Debian's path), else an ImageFolder root with train/ and test/.
tinymim::data::image_dataset load_split(const common_options& c, const std::string& split, std::size_t channels,
                                        std::size_t size);

}  // namespace tool
