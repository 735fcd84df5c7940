// Quickstart: a teacher and a student ViT, one TinyMIM pairing, a few distillation steps, the student
// saved in timm's format. (The README's twenty lines, with the teacher's weights made here.)
#include <cstdio>
#include <filesystem>
#include <memory>

#include <tinymim/tinymim.hpp>

int main() {
    using namespace tinymim;
    namespace d = tinymim::distill;
    auto teacher = std::make_unique<nn::vit<nn::fm_small>>();  // 28x28x1, patch 4, width 192, 6 blocks, 6 heads
    auto student = std::make_unique<nn::vit<nn::fm_tiny>>();   // width 96, 3 heads
    teacher->init(counter_rng(1));                             // or io::load_weights(*teacher, "teacher.safetensors")
    using pairing = d::pairing<nn::vit<nn::fm_small>, nn::vit<nn::fm_tiny>, d::relations<d::qk, d::vv>,
                               d::kl_divergence,                     // TinyMIM's default
                               d::teacher_block<5>, d::last_block>;  // 1-based, as the paper
    d::distiller<pairing> dist(*teacher, *student, {.drop_path = 0.1});
    tensor<float, shape<dyn, 1, 28, 28>> images({32, 1, 28, 28});
    counter_rng r(2);
    for (std::size_t i = 0; i < images.size(); ++i) images[i] = float(r.normal(i));
    double first = 0, last = 0;
    for (int step = 0; step < 20; ++step) {
        const auto res = dist.step(images, 1e-3);  // teacher under no_grad, student forward + backward, AdamW
        if (step == 0) first = res.total;
        last = res.total;
    }
    const auto out = std::filesystem::temp_directory_path() / "tinymim_quickstart_student.safetensors";
    io::save_weights(*student, out);
    std::printf("relation loss %.5f -> %.5f; student saved to %s\n", first, last, out.c_str());
    return last < first ? 0 : 1;
}
