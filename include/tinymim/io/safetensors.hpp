// safetensors: read and write the format PyTorch, timm and Hugging Face use for weights.
//
// Layout: u64 little-endian header length N, N bytes of JSON header, then the data buffer.
// Header: {"name": {"dtype": "F32", "shape": [..], "data_offsets": [begin, end]}, ..., "__metadata__": {..}}.
// Reading is strict: the header must be a JSON object of well-formed entries, every tensor's byte
// range must match its dtype and shape, ranges must not overlap and must tile the data buffer exactly,
// and the buffer must be as long as the file. Every violation is a tinymim::error naming the file,
// the tensor and what was expected versus found.
#pragma once

#include <algorithm>
#include <bit>
#include <cstdint>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <type_traits>
#include <vector>

#include <nlohmann/json.hpp>

#include "tinymim/core/error.hpp"
#include "tinymim/io/atomic_file.hpp"
#include "tinymim/io/half.hpp"

namespace tinymim::io {

static_assert(std::endian::native == std::endian::little, "safetensors: only little-endian hosts are supported");

enum class dtype { F32, F64, F16, BF16, I32, I64, U8 };

[[nodiscard]] inline std::size_t dtype_size(dtype t) {
    switch (t) {
        case dtype::F64:
        case dtype::I64:
            return 8;
        case dtype::F32:
        case dtype::I32:
            return 4;
        case dtype::F16:
        case dtype::BF16:
            return 2;
        case dtype::U8:
            return 1;
    }
    return 0;
}
[[nodiscard]] inline const char* dtype_name(dtype t) {
    switch (t) {
        case dtype::F32:
            return "F32";
        case dtype::F64:
            return "F64";
        case dtype::F16:
            return "F16";
        case dtype::BF16:
            return "BF16";
        case dtype::I32:
            return "I32";
        case dtype::I64:
            return "I64";
        case dtype::U8:
            return "U8";
    }
    return "?";
}
[[nodiscard]] inline std::optional<dtype> parse_dtype(const std::string& s) {
    for (dtype t : {dtype::F32, dtype::F64, dtype::F16, dtype::BF16, dtype::I32, dtype::I64, dtype::U8})
        if (s == dtype_name(t)) return t;
    return std::nullopt;
}

[[nodiscard]] inline std::string shape_str(const std::vector<std::size_t>& s) {
    std::string r = "[";
    for (std::size_t i = 0; i < s.size(); ++i) r += (i ? ", " : "") + std::to_string(s[i]);
    return r + "]";
}

struct tensor_info {
    std::string name;
    dtype type = dtype::F32;
    std::vector<std::size_t> shape;
    std::size_t begin = 0, end = 0;  // byte range inside the data buffer
    [[nodiscard]] std::size_t numel() const {
        std::size_t n = 1;
        for (auto e : shape) n *= e;
        return n;
    }
};

// A safetensors file opened for reading: the header is parsed and validated at open; tensor data is
// read on demand, converted to the element type asked for.
class safetensors_reader {
public:
    static constexpr std::uint64_t max_header_bytes = 100u << 20;

    explicit safetensors_reader(std::filesystem::path path) : path_(std::move(path)) {
        std::error_code ec;
        const auto fsize = std::filesystem::file_size(path_, ec);
        fail_if(ec.operator bool(), "cannot open: " + ec.message());
        in_.open(path_, std::ios::binary);
        fail_if(!in_, "cannot open for reading");
        fail_if(fsize < 8, "truncated: " + std::to_string(fsize) + " bytes, too short for the 8-byte header length");
        std::uint64_t n = 0;
        in_.read(reinterpret_cast<char*>(&n), 8);
        fail_if(n > max_header_bytes, "header length " + std::to_string(n) + " exceeds the limit of " +
                                          std::to_string(max_header_bytes) + " bytes");
        fail_if(8 + n > fsize, "truncated: the header claims " + std::to_string(n) + " bytes but the file has only " +
                                   std::to_string(fsize - 8) + " after the length");
        std::string header(n, '\0');
        in_.read(header.data(), std::streamsize(n));
        fail_if(!in_, "cannot read the header");
        data_start_ = 8 + n;
        data_size_ = fsize - data_start_;
        parse(header);
    }

    [[nodiscard]] const std::filesystem::path& path() const noexcept { return path_; }
    [[nodiscard]] const std::vector<tensor_info>& tensors() const noexcept { return tensors_; }
    [[nodiscard]] const std::map<std::string, std::string>& metadata() const noexcept { return metadata_; }
    [[nodiscard]] const tensor_info* find(const std::string& name) const {
        auto it = index_.find(name);
        return it == index_.end() ? nullptr : &tensors_[it->second];
    }
    [[nodiscard]] const tensor_info& at(const std::string& name) const {
        const tensor_info* t = find(name);
        fail_if(t == nullptr, "no tensor named '" + name + "'");
        return *t;
    }

    // The tensor's values converted to T (float, double, int32_t, int64_t). Float types convert
    // among themselves; integer types only from integer dtypes.
    template <class T>
    void read_into(const std::string& name, T* out, std::size_t count) {
        const tensor_info& t = at(name);
        fail_if(count != t.numel(), "tensor '" + name + "' has " + std::to_string(t.numel()) + " values " +
                                        shape_str(t.shape) + ", the destination holds " + std::to_string(count));
        std::vector<char> raw(t.end - t.begin);
        in_.clear();
        in_.seekg(std::streamoff(data_start_ + t.begin));
        in_.read(raw.data(), std::streamsize(raw.size()));
        fail_if(!in_, "cannot read the data of tensor '" + name + "'");
        convert(t, raw.data(), out);
    }
    template <class T>
    [[nodiscard]] std::vector<T> read(const std::string& name) {
        std::vector<T> v(at(name).numel());
        read_into(name, v.data(), v.size());
        return v;
    }

private:
    void fail_if(bool bad, const std::string& what) const {
        if (bad) throw tinymim::error("safetensors file '" + path_.string() + "': " + what);
    }

    void parse(const std::string& header) {
        nlohmann::json j;
        try {
            j = nlohmann::json::parse(header);
        } catch (const nlohmann::json::exception& e) {
            fail_if(true, std::string("the header is not valid JSON: ") + e.what());
        }
        fail_if(!j.is_object(), "the header must be a JSON object");
        for (auto it = j.begin(); it != j.end(); ++it) {
            const std::string& name = it.key();
            const auto& e = it.value();
            if (name == "__metadata__") {
                fail_if(!e.is_object(), "__metadata__ must be an object of strings");
                for (auto m = e.begin(); m != e.end(); ++m) {
                    fail_if(!m.value().is_string(), "__metadata__ entry '" + m.key() + "' is not a string");
                    metadata_[m.key()] = m.value().get<std::string>();
                }
                continue;
            }
            const std::string where = "tensor '" + name + "': ";
            fail_if(!e.is_object(), where + "the entry must be an object");
            for (auto k = e.begin(); k != e.end(); ++k)
                fail_if(k.key() != "dtype" && k.key() != "shape" && k.key() != "data_offsets",
                        where + "unexpected key '" + k.key() + "'");
            fail_if(!e.contains("dtype") || !e["dtype"].is_string(), where + "missing or non-string dtype");
            fail_if(!e.contains("shape") || !e["shape"].is_array(), where + "missing or non-array shape");
            fail_if(!e.contains("data_offsets") || !e["data_offsets"].is_array() || e["data_offsets"].size() != 2,
                    where + "data_offsets must be an array [begin, end]");
            tensor_info t;
            t.name = name;
            auto dt = parse_dtype(e["dtype"].get<std::string>());
            fail_if(!dt, where + "unsupported dtype '" + e["dtype"].get<std::string>() +
                             "' (supported: F32, F64, F16, BF16, I32, I64, U8)");
            t.type = *dt;
            std::size_t numel = 1;
            for (const auto& d : e["shape"]) {
                fail_if(!d.is_number_unsigned(), where + "shape entries must be non-negative integers");
                const auto v = d.get<std::uint64_t>();
                fail_if(v != 0 && numel > (std::uint64_t(1) << 48) / v,
                        where + "shape " + e["shape"].dump() + " is too large");
                t.shape.push_back(v);
                numel *= v;
            }
            for (const auto& o : e["data_offsets"])
                fail_if(!o.is_number_unsigned(), where + "data_offsets must be non-negative integers");
            t.begin = e["data_offsets"][0].get<std::uint64_t>();
            t.end = e["data_offsets"][1].get<std::uint64_t>();
            fail_if(t.end < t.begin, where + "data_offsets [" + std::to_string(t.begin) + ", " + std::to_string(t.end) +
                                         "] end before they begin");
            const std::size_t want = numel * dtype_size(t.type);
            fail_if(t.end - t.begin != want, where + "data_offsets [" + std::to_string(t.begin) + ", " +
                                                 std::to_string(t.end) + "] hold " + std::to_string(t.end - t.begin) +
                                                 " bytes, but " + dtype_name(t.type) + " " + shape_str(t.shape) +
                                                 " needs " + std::to_string(want));
            fail_if(t.end > data_size_, where + "data_offsets end at byte " + std::to_string(t.end) +
                                            " but the data buffer has only " + std::to_string(data_size_) +
                                            " bytes (truncated file, or the header lies)");
            index_[name] = tensors_.size();
            tensors_.push_back(std::move(t));
        }
        // The byte ranges must tile the buffer: no overlap, no hole, nothing after the last tensor.
        std::vector<const tensor_info*> order;
        for (const auto& t : tensors_) order.push_back(&t);
        std::sort(order.begin(), order.end(),
                  [](auto* a, auto* b) { return a->begin < b->begin || (a->begin == b->begin && a->end < b->end); });
        std::size_t pos = 0;
        const tensor_info* prev = nullptr;
        for (const auto* t : order) {
            fail_if(t->begin < pos, "tensors '" + (prev ? prev->name : std::string()) + "' and '" + t->name +
                                        "' overlap (bytes " + std::to_string(t->begin) + " to " + std::to_string(pos) +
                                        ")");
            fail_if(t->begin > pos, "bytes " + std::to_string(pos) + " to " + std::to_string(t->begin) +
                                        " of the data buffer belong to no tensor (before '" + t->name + "')");
            pos = t->end;
            prev = t;
        }
        fail_if(pos != data_size_, "the data buffer has " + std::to_string(data_size_) +
                                       " bytes but the tensors cover " + std::to_string(pos));
    }

    template <class T>
    void convert(const tensor_info& t, const char* raw, T* out) const {
        const std::size_t n = t.numel();
        auto load = [&](auto tag) {
            using S = decltype(tag);
            S v;
            for (std::size_t i = 0; i < n; ++i) {
                std::memcpy(&v, raw + i * sizeof(S), sizeof(S));
                out[i] = static_cast<T>(v);
            }
        };
        if constexpr (std::is_floating_point_v<T>) {
            switch (t.type) {
                case dtype::F32:
                    load(float{});
                    return;
                case dtype::F64:
                    load(double{});
                    return;
                case dtype::F16:
                case dtype::BF16:
                    for (std::size_t i = 0; i < n; ++i) {
                        std::uint16_t h;
                        std::memcpy(&h, raw + 2 * i, 2);
                        out[i] = static_cast<T>(t.type == dtype::F16 ? half_to_float(h) : bf16_to_float(h));
                    }
                    return;
                default:
                    fail_if(true, "tensor '" + t.name + "' has dtype " + dtype_name(t.type) +
                                      ", expected a floating-point dtype (F32, F64, F16, BF16)");
            }
        } else {
            switch (t.type) {
                case dtype::I32:
                    load(std::int32_t{});
                    return;
                case dtype::I64:
                    load(std::int64_t{});
                    return;
                case dtype::U8:
                    load(std::uint8_t{});
                    return;
                default:
                    fail_if(true, "tensor '" + t.name + "' has dtype " + dtype_name(t.type) +
                                      ", expected an integer dtype (I32, I64, U8)");
            }
        }
    }

    std::filesystem::path path_;
    std::ifstream in_;
    std::size_t data_start_ = 0, data_size_ = 0;
    std::vector<tensor_info> tensors_;
    std::map<std::string, std::size_t> index_;
    std::map<std::string, std::string> metadata_;
};

namespace detail {
// Whether s is well-formed UTF-8 (no overlong forms, no surrogates, nothing above U+10FFFF): the header
// is JSON, whose strings are UTF-8, and a name that is not would make the JSON writer throw.
[[nodiscard]] inline bool utf8_valid(const std::string& s) {
    for (std::size_t i = 0; i < s.size();) {
        const auto c = static_cast<unsigned char>(s[i]);
        std::size_t n = 0;
        std::uint32_t cp = 0, min = 0;
        if (c < 0x80) {
            ++i;
            continue;
        } else if ((c & 0xE0) == 0xC0) {
            n = 1, cp = c & 0x1F, min = 0x80;
        } else if ((c & 0xF0) == 0xE0) {
            n = 2, cp = c & 0x0F, min = 0x800;
        } else if ((c & 0xF8) == 0xF0) {
            n = 3, cp = c & 0x07, min = 0x10000;
        } else {
            return false;
        }
        if (i + n >= s.size()) return false;  // the continuation bytes run past the end
        for (std::size_t k = 1; k <= n; ++k) {
            const auto d = static_cast<unsigned char>(s[i + k]);
            if ((d & 0xC0) != 0x80) return false;
            cp = (cp << 6) | (d & 0x3F);
        }
        if (cp < min || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) return false;
        i += n + 1;
    }
    return true;
}
}  // namespace detail

// Collects tensors and writes one safetensors file atomically (temp file, fsync, rename).
// Values are stored as `type` (converted from the source element type; F16/BF16 round to nearest even).
class safetensors_writer {
public:
    template <class T>
    void add(const std::string& name, const std::vector<std::size_t>& shape, const T* values, dtype type) {
        TINYMIM_CHECK(!name.empty() && name != "__metadata__", "safetensors: invalid tensor name '", name, "'");
        TINYMIM_CHECK(detail::utf8_valid(name), "safetensors: tensor name '", name, "' is not valid UTF-8");
        TINYMIM_CHECK(!names_.count(name), "safetensors: tensor '", name, "' added twice");
        std::size_t n = 1;
        for (auto e : shape) n *= e;
        entry e{name, type, shape, std::vector<char>(n * dtype_size(type))};
        char* o = e.bytes.data();
        for (std::size_t i = 0; i < n; ++i) {
            switch (type) {
                case dtype::F32: {
                    const float v = float(values[i]);
                    std::memcpy(o + 4 * i, &v, 4);
                    break;
                }
                case dtype::F64: {
                    const double v = double(values[i]);
                    std::memcpy(o + 8 * i, &v, 8);
                    break;
                }
                case dtype::F16: {
                    const auto v = float_to_half(float(values[i]));
                    std::memcpy(o + 2 * i, &v, 2);
                    break;
                }
                case dtype::BF16: {
                    const auto v = float_to_bf16(float(values[i]));
                    std::memcpy(o + 2 * i, &v, 2);
                    break;
                }
                case dtype::I32: {
                    const auto v = std::int32_t(values[i]);
                    std::memcpy(o + 4 * i, &v, 4);
                    break;
                }
                case dtype::I64: {
                    const auto v = std::int64_t(values[i]);
                    std::memcpy(o + 8 * i, &v, 8);
                    break;
                }
                case dtype::U8: {
                    const auto v = std::uint8_t(values[i]);
                    std::memcpy(o + i, &v, 1);
                    break;
                }
            }
        }
        names_.insert(name);
        entries_.push_back(std::move(e));
    }
    // F32 for float, F64 for double, I32 / I64 for integers.
    template <class T>
    void add(const std::string& name, const std::vector<std::size_t>& shape, const T* values) {
        add(name, shape, values, default_dtype<T>());
    }
    void set_metadata(const std::string& key, const std::string& value) {
        TINYMIM_CHECK(detail::utf8_valid(key) && detail::utf8_valid(value), "safetensors: metadata '", key,
                      "' is not valid UTF-8");
        metadata_[key] = value;
    }

    void write(const std::filesystem::path& path) const {
        nlohmann::json h = nlohmann::json::object();
        std::size_t off = 0;
        for (const auto& e : entries_) {
            h[e.name] = {
                {"dtype", dtype_name(e.type)}, {"shape", e.shape}, {"data_offsets", {off, off + e.bytes.size()}}};
            off += e.bytes.size();
        }
        if (!metadata_.empty()) h["__metadata__"] = metadata_;
        std::string hs = h.dump();
        while (hs.size() % 8 != 0) hs.push_back(' ');  // align the data buffer to 8 bytes, as the reference writer does
        const std::uint64_t n = hs.size();
        write_file_atomically(path, [&](const auto& sink) {
            sink(&n, 8);
            sink(hs.data(), hs.size());
            for (const auto& e : entries_) sink(e.bytes.data(), e.bytes.size());
        });
    }

private:
    template <class T>
    static constexpr dtype default_dtype() {
        if constexpr (std::is_same_v<T, double>)
            return dtype::F64;
        else if constexpr (std::is_floating_point_v<T>)
            return dtype::F32;
        else if constexpr (sizeof(T) == 8)
            return dtype::I64;
        else if constexpr (sizeof(T) == 1)
            return dtype::U8;
        else
            return dtype::I32;
    }
    struct entry {
        std::string name;
        dtype type;
        std::vector<std::size_t> shape;
        std::vector<char> bytes;
    };
    std::vector<entry> entries_;
    std::set<std::string> names_;
    std::map<std::string, std::string> metadata_;
};

}  // namespace tinymim::io
