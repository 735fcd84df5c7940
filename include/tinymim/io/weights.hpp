// Load and save any model's named tensors (anything with visit(f)) as safetensors, by timm/MAE name.
#pragma once

#include <filesystem>
#include <map>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "tinymim/io/safetensors.hpp"
#include "tinymim/nn/parameter.hpp"

namespace tinymim::io {

struct load_report {
    std::vector<std::string> loaded;
    std::vector<std::string> missing;     // in the model, not in the file
    std::vector<std::string> unexpected;  // in the file, not in the model
    std::vector<std::string> mismatched;  // in both, with other shapes: "name: expected [..], found [..]"
    [[nodiscard]] bool complete() const { return missing.empty() && unexpected.empty() && mismatched.empty(); }
    [[nodiscard]] std::string summary() const {
        std::ostringstream os;
        os << loaded.size() << " tensors loaded";
        auto list = [&](const char* what, const std::vector<std::string>& v) {
            if (v.empty()) return;
            os << "; " << v.size() << " " << what << ":";
            for (const auto& s : v) os << "\n  " << s;
        };
        list("missing from the file", missing);
        list("unexpected in the file", unexpected);
        list("with mismatched shapes", mismatched);
        return os.str();
    }
};

// How far a file's tensors and a model's may differ. A load that the mode does not allow is an error that
// lists the tensors, and nothing is written to the model.
enum class load_mode {
    strict,      // the same tensors with the same shapes, both ways
    encoder,     // the model is the file's encoder: every tensor of the model is in the file with its shape;
                 // the file may also hold what pre-training or a task adds (the MAE decoder and mask token, a
                 // classifier's head and fc_norm)
    classifier,  // a pre-trained encoder into a classifier: only the task's own tensors (head, fc_norm, a
                 // distillation token and its head) may be missing or of another shape (they keep their
                 // initialisation), and fixed buffers may be of another shape (the sin-cos position embedding of
                 // a model with a distillation token: the model's own values stay); the file may hold what
                 // pre-training adds and the final norm that global pooling replaces
    report,      // load what matches and report the rest: the caller checks the report
};

struct load_options {
    load_mode mode = load_mode::strict;
    std::string file_prefix;  // prepended to the model's names when looking them up ("module.", "encoder.")

    [[nodiscard]] static load_options non_strict(std::string prefix = {}) {
        return {load_mode::report, std::move(prefix)};
    }
    [[nodiscard]] static load_options as_encoder() { return {load_mode::encoder, {}}; }
    [[nodiscard]] static load_options as_classifier() { return {load_mode::classifier, {}}; }
};

namespace detail {
// Tensors that MAE pre-training adds to an encoder (its decoder, the mask token).
[[nodiscard]] inline bool added_by_pretraining(const std::string& name) {
    return name.rfind("decoder_", 0) == 0 || name == "mask_token";
}
// A classifier's own tensors, which a pre-trained encoder does not have (DeiT's distillation token and head too).
[[nodiscard]] inline bool task_tensor(const std::string& name) {
    return name.rfind("head.", 0) == 0 || name.rfind("fc_norm.", 0) == 0 || name == "dist_token" ||
           name.rfind("head_dist.", 0) == 0;
}
// The encoder's final norm, which a global-pool classifier replaces with fc_norm.
[[nodiscard]] inline bool final_norm(const std::string& name) { return name == "norm.weight" || name == "norm.bias"; }

// The entries of `entries` ("name [shape]" or "name: ...") whose name, less the prefix, `allowed` refuses.
template <class Allowed>
[[nodiscard]] std::vector<std::string> refused(const std::vector<std::string>& entries, const std::string& prefix,
                                               Allowed&& allowed) {
    std::vector<std::string> out;
    for (const auto& e : entries) {
        std::string name = e.substr(0, e.find_first_of(" :"));
        if (!prefix.empty() && name.rfind(prefix, 0) == 0) name = name.substr(prefix.size());
        if (!allowed(name)) out.push_back(e);
    }
    return out;
}

// Throws, listing every tensor the mode does not allow to differ; returns when the load may go ahead.
inline void check_load(const load_report& rep, const load_options& opt, const std::filesystem::path& path,
                       const std::set<std::string>& buffers = {}) {
    if (opt.mode == load_mode::report) return;
    load_report bad;
    const char* as = "(strict)";
    const char* rule = "";
    auto none = [](const std::string&) { return false; };
    if (opt.mode == load_mode::strict) {
        bad.missing = rep.missing, bad.unexpected = rep.unexpected, bad.mismatched = rep.mismatched;
    } else if (opt.mode == load_mode::encoder) {
        as = "as an encoder";
        rule =
            "every tensor of the model must be in the file with its shape; the file may add only MAE's decoder "
            "and mask token, a head and fc_norm";
        bad.missing = refused(rep.missing, opt.file_prefix, none);
        bad.mismatched = refused(rep.mismatched, opt.file_prefix, none);
        bad.unexpected = refused(rep.unexpected, opt.file_prefix,
                                 [](const std::string& n) { return added_by_pretraining(n) || task_tensor(n); });
    } else {
        as = "as a classifier from a pre-trained encoder";
        rule =
            "only head, fc_norm, dist_token and head_dist may be missing or of another shape, and fixed buffers of "
            "another shape; the file may add only MAE's decoder and mask token and the final norm";
        bad.missing = refused(rep.missing, opt.file_prefix, task_tensor);
        bad.mismatched = refused(rep.mismatched, opt.file_prefix,
                                 [&](const std::string& n) { return task_tensor(n) || buffers.count(n) != 0; });
        bad.unexpected = refused(rep.unexpected, opt.file_prefix,
                                 [](const std::string& n) { return added_by_pretraining(n) || final_norm(n); });
    }
    if (bad.complete()) return;
    std::string problems = bad.summary();
    problems = problems.substr(problems.find(';') + 2);  // the problems alone, without "0 tensors loaded"
    throw tinymim::error("loading '" + path.string() + "' " + as + ": " + problems +
                         (*rule != 0 ? std::string("\n(") + rule + ")" : std::string()) +
                         "\nnothing was loaded into the model");
}
}  // namespace detail

// Collects a model's tensor views, in visiting order.
template <class Model>
[[nodiscard]] auto collect(Model& model) {
    using T = typename Model::value_type;
    std::vector<nn::param_ref<T>> refs;
    model.visit([&](nn::param_ref<T>& r) { refs.push_back(r); });
    return refs;
}

// Loads by name, as opt.mode allows (load_mode above); a load it does not allow throws a tinymim::error
// that lists every problem together, and leaves the model unchanged. The report says what was skipped.
template <class Model>
load_report load_weights(Model& model, const std::filesystem::path& path, const load_options& opt = {}) {
    using T = typename Model::value_type;
    safetensors_reader file(path);
    auto refs = collect(model);
    load_report rep;
    std::set<std::string> used;
    std::vector<nn::param_ref<T>*> todo;
    std::set<std::string> buffers;  // fixed tensors the model computes (the sin-cos position embedding)
    for (auto& r : refs) {
        if (!r.trainable()) buffers.insert(r.name);
        const std::string key = opt.file_prefix + r.name;
        const tensor_info* info = file.find(key);
        if (info == nullptr) {
            rep.missing.push_back(key + " " + shape_str(r.shape));
            continue;
        }
        used.insert(key);
        if (info->shape != r.shape) {
            rep.mismatched.push_back(key + ": expected " + shape_str(r.shape) + ", found " + shape_str(info->shape) +
                                     " (" + dtype_name(info->type) + ")");
            continue;
        }
        todo.push_back(&r);
    }
    for (const auto& t : file.tensors())
        if (!used.count(t.name)) rep.unexpected.push_back(t.name + " " + shape_str(t.shape));
    detail::check_load(rep, opt, path, buffers);
    std::vector<T> host;
    for (auto* r : todo) {
        host.resize(r->size);
        file.read_into(opt.file_prefix + r->name, host.data(), host.size());
        r->from_host(r->value, host.data(), host.size() * sizeof(T));
        rep.loaded.push_back(r->name);
    }
    return rep;
}

// Saves every named tensor (F32 by default; F16/BF16/F64 on request) atomically.
template <class Model>
void save_weights(Model& model, const std::filesystem::path& path, dtype type = dtype::F32,
                  const std::map<std::string, std::string>& metadata = {}) {
    using T = typename Model::value_type;
    safetensors_writer w;
    std::vector<T> host;
    for (auto& r : collect(model)) {
        host.resize(r.size);
        r.to_host(host.data(), r.value, r.size * sizeof(T));
        w.add(r.name, r.shape, host.data(), type);
    }
    w.set_metadata("format", "pt");
    for (const auto& [k, v] : metadata) w.set_metadata(k, v);
    w.write(path);
}

}  // namespace tinymim::io
