// Checkpoints: model weights, optimizer state, step and RNG seed in one safetensors file, written
// atomically (temp file, fsync, rename): a run killed at any moment leaves the previous checkpoint
// loadable. Loading is strict for the groups asked for and names every problem.
#pragma once

#include <cstdint>
#include <filesystem>
#include <string>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "tinymim/io/safetensors.hpp"
#include "tinymim/io/weights.hpp"
#include "tinymim/optim/adamw.hpp"

namespace tinymim::train {

struct checkpoint_meta {
    std::size_t step = 0;  // optimizer steps done
    std::string kind;      // pretrain / distill / finetune
    std::string model;     // model name(s)
    std::uint64_t seed = 0;
    std::vector<std::uint64_t> optim_steps;
    double best_metric = 0;
    std::string precision = "fp32";  // the policy that trained it (fp32 / bf16); the weights are fp32 either way
};

namespace detail {
template <class T>
struct refs_view {  // a list of param_refs seen as a model (for io::load_weights)
    using value_type = T;
    std::vector<nn::param_ref<T>>* refs;
    template <class F>
    void visit(F&& f) {
        for (auto& r : *refs) f(r);
    }
};
}  // namespace detail

// Accumulates named groups of tensors, then writes them with the metadata.
template <element T, backend B = cpu>
class checkpoint_writer {
public:
    template <class Model>
    void add_model(const std::string& prefix, Model& m) {
        for (auto& r : io::collect(m)) add_ref(prefix, r);
    }
    template <backend OB>
    void add_optimizer(optim::adamw<T, OB>& opt) {
        opt.visit_state([&](nn::param_ref<T>& r) { add_ref("optim.", r); });
    }
    void write(const std::filesystem::path& path, const checkpoint_meta& meta) {
        nlohmann::json j{{"step", meta.step},
                         {"kind", meta.kind},
                         {"model", meta.model},
                         {"seed", meta.seed},
                         {"optim_steps", meta.optim_steps},
                         {"best_metric", meta.best_metric},
                         {"precision", meta.precision}};
        w_.set_metadata("tinymim", j.dump());
        w_.write(path);
    }

private:
    void add_ref(const std::string& prefix, nn::param_ref<T>& r) {
        host_.resize(r.size);
        r.to_host(host_.data(), r.value, r.size * sizeof(T));
        w_.add(prefix + r.name, r.shape, host_.data());
    }
    io::safetensors_writer w_;
    std::vector<T> host_;
};

// Reads a checkpoint's metadata (throws a tinymim::error naming the file when it is not one).
[[nodiscard]] inline checkpoint_meta read_checkpoint_meta(const std::filesystem::path& path) {
    io::safetensors_reader r(path);
    auto it = r.metadata().find("tinymim");
    TINYMIM_CHECK(it != r.metadata().end(), "checkpoint '", path.string(),
                  "': no tinymim metadata (not a checkpoint?)");
    checkpoint_meta m;
    try {
        const auto j = nlohmann::json::parse(it->second);
        m.step = j.at("step").get<std::size_t>();
        m.kind = j.at("kind").get<std::string>();
        m.model = j.at("model").get<std::string>();
        m.seed = j.at("seed").get<std::uint64_t>();
        m.optim_steps = j.at("optim_steps").get<std::vector<std::uint64_t>>();
        m.best_metric = j.value("best_metric", 0.0);
        m.precision = j.value("precision", std::string("fp32"));
    } catch (const nlohmann::json::exception& e) {
        throw tinymim::error("checkpoint '" + path.string() + "': malformed metadata: " + e.what());
    }
    return m;
}

// Loads one group (prefix) of a checkpoint into a model: every tensor of the model must be there with
// its shape; other groups' tensors are ignored.
template <class Model>
void load_checkpoint_group(const std::filesystem::path& path, const std::string& prefix, Model& m) {
    const auto rep = io::load_weights(m, path, io::load_options::non_strict(prefix));
    TINYMIM_CHECK(rep.missing.empty() && rep.mismatched.empty(), "checkpoint '", path.string(),
                  "' does not fit group '", prefix, "': ", rep.summary());
}

template <element T, backend B>
void load_checkpoint_optimizer(const std::filesystem::path& path, optim::adamw<T, B>& opt,
                               const checkpoint_meta& meta) {
    std::vector<nn::param_ref<T>> refs;
    opt.visit_state([&](nn::param_ref<T>& r) { refs.push_back(r); });
    detail::refs_view<T> view{&refs};
    load_checkpoint_group(path, "optim.", view);
    opt.set_step_counts(meta.optim_steps);
}

}  // namespace tinymim::train
