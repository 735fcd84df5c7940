// tinymim finetune / eval / embed: classification fine-tuning (DeiT distillation with --distill), top-1
// evaluation, token features.
#pragma once

#include <functional>
#include <memory>
#include <type_traits>

#include "commands.hpp"
#include "loop_for.hpp"
#include "models.hpp"

namespace tool {

namespace finetune_detail {
// A named model with the MAE fine-tuning head (global average pool -> fc_norm -> linear).
template <nn::vit_config C, std::size_t K, class B, class P>
using classifier = nn::vit<C.with_head(nn::pool::avg, K), B, float, P>;

template <class F>
decltype(auto) with_classes(std::size_t k, F&& f) {
    if (k == 10) return f.template operator()<10>();
    if (k == 100) return f.template operator()<100>();
    if (k == 1000) return f.template operator()<1000>();
    throw tinymim::error("--classes: this build supports 10, 100 or 1000 classes, not " + std::to_string(k));
}

// The same with DeiT's distillation token and its head.
template <nn::vit_config C, std::size_t K, class B, class P>
using deit_classifier = nn::vit<C.with_head(nn::pool::avg, K).with_distill_token(), B, float, P>;

// A DeiT teacher for students that see images of shape S: the named classifier (avg head, K classes) with the
// file's weights, frozen; its images -> logits function owns it.
template <class S, std::size_t K, class B>
using teacher_fn = std::function<tensor<float, shape<dyn, K>, B>(const tensor<float, S, B>&)>;

template <class S, std::size_t K, class B, class P>
teacher_fn<S, K, B> load_teacher(const std::string& name, const std::filesystem::path& w) {
    return with_model(name, [&]<nn::vit_config Ct>() -> teacher_fn<S, K, B> {
        using image = shape<dyn, Ct.channels, Ct.image, Ct.image>;
        if constexpr (std::is_same_v<image, S>) {
            auto m = std::make_shared<classifier<Ct, K, B, P>>();
            (void)io::load_weights(*m, w);  // strict: a fine-tuned classifier with K classes
            auto f = train::frozen_classifier(*m);
            return [m, f](const tensor<float, S, B>& images) { return f(images); };
        } else {
            throw tinymim::error("finetune: the teacher " + name + " sees " + std::to_string(Ct.channels) + " x " +
                                 std::to_string(Ct.image) + " x " + std::to_string(Ct.image) +
                                 " images, the student others (" + std::to_string(S::static_extents[1]) + " x " +
                                 std::to_string(S::static_extents[2]) + " x " + std::to_string(S::static_extents[3]) +
                                 ")");
        }
    });
}

// Loads w into m as `opt` allows (a pre-trained encoder into a classifier, a file's encoder, or all of a
// classifier) and says what it skipped; any other mismatch is an error that lists the tensors.
template <class Model>
void load_pretrained(Model& m, const std::filesystem::path& w, const io::load_options& opt) {
    if (w.empty()) return;
    const auto rep = io::load_weights(m, w, opt);
    std::fprintf(stderr, "loaded %s: %s\n", w.c_str(), rep.summary().c_str());
}
}  // namespace finetune_detail

template <class B, class P>
finetune_args::result run_on(const common_options& c, const finetune_args& a) {
    using namespace finetune_detail;
    return with_model(a.model, [&]<nn::vit_config C>() {
        const auto train_set = load_split(c, "train", C.channels, C.image);
        const auto test_set = load_split(c, "test", C.channels, C.image);
        const std::size_t k =
            a.classes ? a.classes : (train_set.classes.empty() ? default_classes(a.model) : train_set.classes.size());
        return with_classes(k, [&]<std::size_t K>() {
            train::task_options o;
            o.loop = loop_for(c, a);
            o.comm = c.comm;
            o.device_comm = c.device_comm;
            o.workers = c.workers;
            o.batch_size = a.batch;
            o.weight_decay = a.weight_decay;
            o.beta2 = 0.999;
            o.layer_decay = a.layer_decay;
            o.drop_path = a.drop_path;
            o.label_smoothing = a.label_smoothing;
            o.crop_scale_min = a.crop_scale_min;
            o.eval_name = c.holdout ? "holdout" : "test";
            std::fprintf(stderr, "finetune: %s%s%s, %zu classes, %zu images, batch %zu, lr %.2e, %s\n", a.model.c_str(),
                         a.weights.empty() ? " from scratch" : " from ", a.weights.c_str(), K, train_set.size(),
                         a.batch, o.loop.lr, P::name);
            train::eval_result ev;
            if (a.distill.empty()) {
                TINYMIM_CHECK(a.teacher.empty() && a.teacher_weights.empty(),
                              "finetune: --teacher and --teacher-weights need --distill soft|hard");
                auto m = std::make_unique<classifier<C, K, B, P>>();
                m->init(counter_rng(c.seed));
                load_pretrained(*m, a.weights, io::load_options::as_classifier());
                (void)train::finetune(*m, train_set, test_set, o, &ev);
                return ev;
            }
            TINYMIM_CHECK(!a.teacher.empty() && !a.teacher_weights.empty(), "finetune: --distill ", a.distill,
                          " needs --teacher NAME and --teacher-weights FILE");
            const distill::deit_options d{
                .mode = distill::deit_options::parse_mode(a.distill), .alpha = a.distill_alpha, .tau = a.distill_tau};
            d.check();
            using student = deit_classifier<C, K, B, P>;
            auto teacher = load_teacher<typename student::image_shape, K, B, P>(a.teacher, a.teacher_weights);
            std::fprintf(stderr, "finetune: DeiT %s distillation from %s (%s), weight %.2f%s\n", a.distill.c_str(),
                         a.teacher.c_str(), a.teacher_weights.c_str(), d.weight(),
                         d.mode == distill::deit_mode::soft ? (", temperature " + std::to_string(d.tau)).c_str() : "");
            auto m = std::make_unique<student>();
            m->init(counter_rng(c.seed));
            load_pretrained(*m, a.weights, io::load_options::as_classifier());
            (void)train::finetune_deit(*m, teacher, train_set, test_set, o, d, &ev);
            return ev;
        });
    });
}

template <class B, class P>
eval_args::result run_on(const common_options& c, const eval_args& a) {
    using namespace finetune_detail;
    TINYMIM_CHECK(!a.weights.empty(), "eval: --weights FILE is required");
    return with_model(a.model, [&]<nn::vit_config C>() {
        const auto test_set = load_split(c, "test", C.channels, C.image);
        const std::size_t k =
            a.classes ? a.classes : (test_set.classes.empty() ? default_classes(a.model) : test_set.classes.size());
        // A DeiT student (finetune --distill) carries a distillation token and head: evaluated with both.
        const bool deit = io::safetensors_reader(a.weights).find("dist_token") != nullptr;
        return with_classes(k, [&]<std::size_t K>() {
            auto eval = [&](auto m) {
                (void)io::load_weights(*m, a.weights);  // strict: a classifier needs every tensor
                return train::evaluate(*m, test_set, a.batch, c.workers);
            };
            if (deit) return eval(std::make_unique<deit_classifier<C, K, B, P>>());
            return eval(std::make_unique<classifier<C, K, B, P>>());
        });
    });
}

template <class B, class P>
embed_args::result run_on(const common_options& /*c*/, const embed_args& a) {
    using namespace finetune_detail;
    TINYMIM_CHECK(!a.weights.empty() && !a.images.empty() && !a.out_file.empty(),
                  "embed: --weights, --images and --out-file are required");
    with_model(a.model, [&]<nn::vit_config C>() {
        io::safetensors_reader in(a.images);
        const auto& info = in.at("images");
        const std::vector<std::size_t> want = {C.channels, C.image, C.image};
        TINYMIM_CHECK(
            info.shape.size() == 4 && std::vector<std::size_t>(info.shape.begin() + 1, info.shape.end()) == want,
            "embed: tensor 'images' in '", a.images.string(), "' is ", io::shape_str(info.shape), ", expected [B, ",
            C.channels, ", ", C.image, ", ", C.image, "] for ", a.model);
        TINYMIM_CHECK(info.type == io::dtype::F32, "embed: tensor 'images' must be F32, found ",
                      io::dtype_name(info.type));
        using S = shape<dyn, C.channels, C.image, C.image>;
        tensor<float, S> host_imgs({info.shape[0], C.channels, C.image, C.image});
        in.read_into("images", host_imgs.data(), host_imgs.size());
        auto&& imgs = train::on_backend<B>(host_imgs);
        // --head none: the file's encoder (an MAE file, a classifier's); avg / cls: the whole classifier.
        auto run = [&](auto& m) {
            load_pretrained(m, a.weights, a.head == "none" ? io::load_options::as_encoder() : io::load_options{});
            tape<B> t;
            no_grad ng;
            auto f = m.forward_features(t, input(t, imgs));
            const auto host_f = f.value().to_vector();
            io::safetensors_writer w;
            w.add("features", {f.extent(0), f.extent(1), f.extent(2)}, host_f.data());
            w.write(a.out_file);
            std::fprintf(stderr, "embed: wrote features [%zu, %zu, %zu] to %s\n", f.extent(0), f.extent(1), f.extent(2),
                         a.out_file.c_str());
        };
        if (a.head == "none") {
            auto m = std::make_unique<nn::vit<C, B, float, P>>();
            run(*m);
        } else if (a.head == "avg" || a.head == "cls") {
            const std::size_t k = a.classes ? a.classes : default_classes(a.model);
            with_classes(k, [&]<std::size_t K>() {
                if (a.head == "avg") {
                    auto m = std::make_unique<nn::vit<C.with_head(nn::pool::avg, K), B, float, P>>();
                    run(*m);
                } else {
                    auto m = std::make_unique<nn::vit<C.with_head(nn::pool::cls, K), B, float, P>>();
                    run(*m);
                }
            });
        } else {
            throw tinymim::error("embed: --head must be none, avg or cls, not '" + a.head + "'");
        }
    });
}

}  // namespace tool
