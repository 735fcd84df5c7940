// The training pipeline: corrupted inputs give clear errors, a kill during checkpoint writing leaves the
// last checkpoint loadable, and a resumed run reproduces the uninterrupted run's weights exactly.
#include <boost/test/unit_test.hpp>

#include <csignal>
#include <fstream>
#include <random>

#include <sys/wait.h>
#include <unistd.h>
#include <zlib.h>

#include "../support/synthetic.hpp"
#include "tinymim/io/image_folder.hpp"
#include "tinymim/train/tasks.hpp"

using namespace tinymim;
namespace fs = std::filesystem;

namespace {
fs::path temp_dir(const std::string& name) {
    const fs::path d = fs::temp_directory_path() / ("tinymim_train_test_" + std::to_string(::getpid())) / name;
    fs::remove_all(d);
    fs::create_directories(d);
    return d;
}
void write_gz(const fs::path& p, const std::vector<std::uint8_t>& bytes) {
    gzFile f = gzopen(p.c_str(), "wb");
    gzwrite(f, bytes.data(), unsigned(bytes.size()));
    gzclose(f);
}
std::vector<std::uint8_t> idx_header(std::uint8_t rank, std::vector<std::uint32_t> dims, std::uint8_t magic2 = 0x08) {
    std::vector<std::uint8_t> b = {0, 0, magic2, rank};
    for (auto d : dims)
        for (int s = 24; s >= 0; s -= 8) b.push_back(std::uint8_t(d >> s));
    return b;
}
void expect_error(const std::function<void()>& f, const std::string& fragment) {
    try {
        f();
        BOOST_FAIL("expected a tinymim::error containing '" << fragment << "'");
    } catch (const tinymim::error& e) {
        BOOST_TEST(std::string(e.what()).find(fragment) != std::string::npos, e.what());
    }
}
data::image_dataset synthetic(std::size_t n) { return tt::synthetic_images(n); }
constexpr nn::vit_config enc{.image = 28, .patch = 7, .channels = 1, .dim = 16, .depth = 2, .heads = 2};
constexpr nn::mae_decoder_config dec{.dim = 8, .depth = 1, .heads = 2};
using mae_t = nn::mae<enc, dec>;
}  // namespace

BOOST_AUTO_TEST_SUITE(pipeline)

// Every curve a plot draws has its legend entry (the distillation loss plot draws the total and each term).
BOOST_AUTO_TEST_CASE(every_curve_has_a_legend_entry) {
    const std::string g = train::plot_script("m.csv", "m.png", "distill", "step", {"loss", "qk/kl", "vv/kl"}, "loss");
    for (const char* col : {"loss", "qk/kl", "vv/kl"})
        BOOST_TEST(
            g.find("using 'step':'" + std::string(col) + "' with lines lw 2 title '" + col + "'") != std::string::npos,
            g);
    BOOST_TEST(g.find("set key") != std::string::npos);
    BOOST_TEST(g.find("notitle") == std::string::npos);
}

BOOST_AUTO_TEST_CASE(corrupted_idx_files) {
    const auto d = temp_dir("idx");
    auto img = idx_header(3, {2, 2, 2});
    img.insert(img.end(), {1, 2, 3, 4, 5, 6, 7, 8});
    write_gz(d / "ok.gz", img);
    BOOST_TEST(io::read_idx(d / "ok.gz").data.size() == 8u);
    auto shorter = img;
    shorter.resize(shorter.size() - 3);
    write_gz(d / "short.gz", shorter);
    expect_error([&] { (void)io::read_idx(d / "short.gz"); }, "truncated");
    write_gz(d / "magic.gz", idx_header(3, {2, 2, 2}, 0x0D));
    expect_error([&] { (void)io::read_idx(d / "magic.gz"); }, "unsupported element type");
    {  // a gzip stream cut in the middle
        std::vector<std::uint8_t> big = idx_header(1, {100000});
        big.resize(big.size() + 100000, 7);
        write_gz(d / "cut.gz", big);
        const auto size = fs::file_size(d / "cut.gz");
        fs::resize_file(d / "cut.gz", size / 2);
    }
    expect_error([&] { (void)io::read_idx(d / "cut.gz"); }, "cut.gz");
    expect_error([&] { (void)data::load_fashion_mnist(d, "train"); }, "apt-get install dataset-fashion-mnist");
}

BOOST_AUTO_TEST_CASE(corrupted_image_in_an_image_folder) {
    const auto d = temp_dir("folder");
    fs::create_directories(d / "cats");
    std::ofstream(d / "cats" / "broken.png") << "\x89PNG not really";
    expect_error([&] { (void)io::load_image_folder(d, 3, 32); }, "broken.png");
    expect_error([&] { (void)io::load_image_folder(d / "nothing", 3, 32); }, "not a directory");
}

BOOST_AUTO_TEST_CASE(corrupted_and_mismatched_checkpoints) {
    const auto d = temp_dir("ckpt");
    std::ofstream(d / "garbage.ckpt") << "this is not a checkpoint at all";
    expect_error([&] { (void)train::read_checkpoint_meta(d / "garbage.ckpt"); }, "garbage.ckpt");
    auto m = std::make_unique<mae_t>();
    train::checkpoint_writer<float> w;
    w.add_model("model.", *m);
    w.write(d / "ok.ckpt", {.step = 3, .kind = "pretrain"});
    BOOST_TEST(train::read_checkpoint_meta(d / "ok.ckpt").step == 3u);
    constexpr nn::vit_config other{.image = 28, .patch = 7, .channels = 1, .dim = 24, .depth = 2, .heads = 2};
    auto o = std::make_unique<nn::vit<other>>();
    expect_error([&] { train::load_checkpoint_group(d / "ok.ckpt", "model.", *o); }, "expected [24]");
    // A checkpoint cut short.
    fs::copy_file(d / "ok.ckpt", d / "cut.ckpt");
    fs::resize_file(d / "cut.ckpt", fs::file_size(d / "cut.ckpt") - 100);
    expect_error([&] { (void)train::read_checkpoint_meta(d / "cut.ckpt"); }, "truncated");
}

BOOST_AUTO_TEST_CASE(a_kill_while_writing_leaves_the_last_checkpoint_loadable) {
    const auto d = temp_dir("kill");
    const auto path = d / "run.ckpt";
    constexpr nn::vit_config big{.image = 28, .patch = 4, .channels = 1, .dim = 192, .depth = 6, .heads = 6};
    auto m = std::make_unique<nn::vit<big>>();  // about 11 MB per checkpoint: writing takes a while
    train::checkpoint_writer<float> first;
    first.add_model("model.", *m);
    first.write(path, {.step = 1, .kind = "test"});
    for (int round = 0; round < 6; ++round) {
        const pid_t pid = ::fork();
        BOOST_REQUIRE(pid >= 0);
        if (pid == 0) {  // the child writes checkpoints until it is killed
            for (std::size_t step = 2;; ++step) {
                train::checkpoint_writer<float> w;
                w.add_model("model.", *m);
                w.write(path, {.step = step, .kind = "test"});
            }
        }
        ::usleep(useconds_t(3000 + 7000 * round));
        ::kill(pid, SIGKILL);
        int status = 0;
        ::waitpid(pid, &status, 0);
        BOOST_TEST(WIFSIGNALED(status));
        const auto meta = train::read_checkpoint_meta(path);  // must load, whatever the moment of the kill
        BOOST_TEST(meta.step >= 1u);
        train::load_checkpoint_group(path, "model.", *m);
    }
}

BOOST_AUTO_TEST_CASE(resume_reproduces_the_uninterrupted_run_exactly) {
    const auto data = synthetic(96);
    auto run = [&](const fs::path& out, std::size_t stop_after, bool resume) {
        auto m = std::make_unique<mae_t>();
        m->init(counter_rng(3));
        train::task_options o;
        o.loop = {.name = "mae",
                  .epochs = 3,
                  .lr = 1e-3,
                  .warmup_epochs = 1,
                  .checkpoint_every = 2,
                  .log_every = 1,
                  .out = out,
                  .resume = resume,
                  .seed = 11,
                  .plot = false,
                  .stop_after = stop_after};
        o.batch_size = 32;
        (void)train::pretrain_mae(*m, data, o);
        return io::collect(*m);
    };
    const auto full_dir = temp_dir("full"), cut_dir = temp_dir("cut");
    auto full = std::make_unique<mae_t>();
    {
        auto refs = run(full_dir, 0, false);
        (void)io::load_weights(*full, full_dir / "mae.safetensors");
    }
    (void)run(cut_dir, 4, false);  // stops after 4 of 9 steps, in the middle of epoch 2
    BOOST_TEST(train::read_checkpoint_meta(cut_dir / "mae.ckpt").step == 4u);
    auto resumed = std::make_unique<mae_t>();
    (void)run(cut_dir, 0, true);
    (void)io::load_weights(*resumed, cut_dir / "mae.safetensors");
    auto a = io::collect(*full), b = io::collect(*resumed);
    BOOST_REQUIRE_EQUAL(a.size(), b.size());
    std::size_t differ = 0;
    for (std::size_t i = 0; i < a.size(); ++i)
        if (!std::equal(a[i].value, a[i].value + a[i].size, b[i].value)) ++differ, BOOST_TEST_MESSAGE(a[i].name);
    BOOST_TEST(differ == 0u);
    BOOST_TEST(train::read_checkpoint_meta(cut_dir / "mae.ckpt").step == 9u);
}

BOOST_AUTO_TEST_CASE(a_nan_loss_stops_the_run_and_names_step_and_term) {
    auto d = synthetic(64);
    const auto out = temp_dir("nan");
    auto m = std::make_unique<mae_t>();
    for (auto& v : m->decoder_pred.weight.value) v = std::numeric_limits<float>::quiet_NaN();
    train::task_options o;
    o.loop = {.name = "nan", .epochs = 1, .out = out, .plot = false};
    o.batch_size = 32;
    expect_error([&] { (void)train::pretrain_mae(*m, d, o); }, "the loss term 'mae_loss' is nan at step 0");
    BOOST_TEST(!fs::exists(out / "nan.ckpt"));  // nothing written
}

BOOST_AUTO_TEST_CASE(loader_is_deterministic_and_prefetches_in_order) {
    const auto d = synthetic(40);
    using S = shape<dyn, 1, 28, 28>;
    data::loader_options lo{.batch_size = 8,
                            .two_views = true,
                            .augment = {.random_crop = true, .flip = true, .brightness = 0.4, .contrast = 0.4},
                            .teacher_augment = {.random_crop = true, .flip = true},
                            .seed = 4};
    data::loader<S> a(d, lo), b(d, lo);
    b.start(1, 2);
    for (int i = 0; i < 3; ++i) {
        auto x = a.make(1, 2 + std::size_t(i));
        auto y = b.next();
        BOOST_TEST(y.index == 2u + std::size_t(i));
        BOOST_TEST(std::equal(x.images.begin(), x.images.end(), y.images.begin()));
        BOOST_TEST(std::equal(x.teacher_images.begin(), x.teacher_images.end(), y.teacher_images.begin()));
        BOOST_TEST(!std::equal(x.images.begin(), x.images.end(),
                               x.teacher_images.begin()));  // jitter on the student view only
    }
    b.stop();
}

BOOST_AUTO_TEST_SUITE_END()
