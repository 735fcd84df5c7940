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

struct load_options {
    bool strict = true;       // any missing / unexpected / mismatched tensor is an error (nothing is changed)
    std::string file_prefix;  // prepended to the model's names when looking them up ("module.", "encoder.")

    // Loads what matches and reports the rest (an MAE encoder file into a ViT with a head, ...).
    [[nodiscard]] static load_options non_strict(std::string prefix = {}) { return {false, std::move(prefix)}; }
};

// Collects a model's tensor views, in visiting order.
template <class Model>
[[nodiscard]] auto collect(Model& model) {
    using T = typename Model::value_type;
    std::vector<nn::param_ref<T>> refs;
    model.visit([&](nn::param_ref<T>& r) { refs.push_back(r); });
    return refs;
}

// Loads by name. Strict: everything must match, or a tinymim::error lists every problem together
// and the model is left unchanged. Non-strict: loads what matches and reports the rest.
template <class Model>
load_report load_weights(Model& model, const std::filesystem::path& path, const load_options& opt = {}) {
    using T = typename Model::value_type;
    safetensors_reader file(path);
    auto refs = collect(model);
    load_report rep;
    std::set<std::string> used;
    std::vector<nn::param_ref<T>*> todo;
    for (auto& r : refs) {
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
    if (opt.strict && !rep.complete())
        throw tinymim::error("loading '" + path.string() + "' (strict): " + rep.summary());
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
