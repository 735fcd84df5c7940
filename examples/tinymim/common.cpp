// Options shared by every command: device, threads, data.
#include "commands.hpp"

#include <cstdio>

#include <tinymim/data/holdout.hpp>
#include <tinymim/io/image_folder.hpp>

namespace tool {

void apply_common(const common_options& c) {
    TINYMIM_CHECK(c.device == "cpu" || c.device == "cuda", "--device must be cpu or cuda, not '", c.device, "'");
#if defined(TINYMIM_TOOL_CUDA)
    if (c.device == "cuda") check_cuda_device();
#else
    if (c.device == "cuda")
        throw tinymim::error(
            "--device cuda: this build of tinymim has no CUDA backend (nvcc was not found when it was "
            "configured); rebuild with -DTINYMIM_CUDA=ON on a machine with the CUDA toolkit, or use "
            "--device cpu");
#endif
    tinymim::set_num_threads(c.threads);
    static bool said = false;  // the first line of every command, once (demo runs several)
    if (!said) {
        said = true;
        const int ranks = c.comm ? c.comm->size() : 1, threads = tinymim::num_threads();
        std::fprintf(stderr, "tinymim: %d rank%s x %d CPU thread%s%s, %s%s, %s\n", ranks, ranks == 1 ? "" : "s",
                     threads, threads == 1 ? "" : "s", ranks == 1 ? "" : " each", c.device.c_str(),
                     c.device_comm ? " (one GPU per rank, NCCL)" : "", c.precision.c_str());
    }
}

namespace {
tinymim::data::image_dataset read_split(const common_options& c, const std::string& split, std::size_t channels,
                                        std::size_t size) {
    namespace fs = std::filesystem;
    const fs::path dir = c.data.empty() ? tinymim::data::fashion_mnist_default_dir : c.data;
    tinymim::data::image_dataset d;
    if (fs::is_directory(dir / split) && !fs::exists(dir / "train-images-idx3-ubyte.gz")) {
        d = tinymim::io::stream_image_folder(dir / split, channels, size);  // decoded by the loader, per epoch
    } else {
        d = tinymim::data::load_fashion_mnist(dir, split);
        TINYMIM_CHECK(channels == 1 && size == d.height, "the model takes ", channels, "x", size, "x", size,
                      " images but Fashion-MNIST is 1x28x28: use an fm-* model");
    }
    return d;
}
}  // namespace

tinymim::data::image_dataset load_split(const common_options& c, const std::string& split, std::size_t channels,
                                        std::size_t size) {
    tinymim::data::image_dataset d;
    if (c.holdout == 0) {
        d = read_split(c, split, channels, size);
    } else {
        auto parts = tinymim::data::hold_out(read_split(c, "train", channels, size), c.holdout);
        d = split == "train" ? std::move(parts.train) : std::move(parts.held_out);
        static bool said = false;
        if (!said && split != "train") {
            said = true;
            std::fprintf(stderr, "holdout: %zu training images held out; measuring on them, not on the test set\n",
                         c.holdout);
        }
    }
    const std::size_t limit = split == "train" ? c.train_limit : c.test_limit;
    if (limit) d.truncate(limit);
    return d;
}

}  // namespace tool
