// libFuzzer target: a structured round trip. The bytes choose up to four tensors (name — any bytes, quotes
// and non-ASCII included —, rank 0-3, extents up to 8, stored type F32 / F64 / F16 / BF16, values as float
// bits) and a metadata entry; the writer writes them, the reader must give back exactly what was stored:
// the same names, shapes and metadata, values bit-equal after the stored type's rounding (NaN as NaN).
#include <cmath>
#include <cstdint>
#include <cstring>
#include <set>
#include <string>
#include <vector>

#include "input_file.hpp"
#include "tinymim/io/half.hpp"
#include "tinymim/io/safetensors.hpp"

namespace {
struct bytes {
    const std::uint8_t* p;
    std::size_t n;
    std::uint8_t u8() {
        if (n == 0) return 0;
        --n;
        return *p++;
    }
    float f32() {
        std::uint32_t b = 0;
        for (int i = 0; i < 4; ++i) b |= std::uint32_t(u8()) << (8 * i);
        float f;
        std::memcpy(&f, &b, 4);
        return f;
    }
    std::string text(std::size_t max) {
        std::string s(std::size_t(u8()) % (max + 1), '\0');
        for (auto& c : s) c = char(u8());
        return s;
    }
};

bool same(double a, double b) { return (std::isnan(a) && std::isnan(b)) || a == b; }

// What a float becomes once stored as `t` and read back as double.
double stored(float v, tinymim::io::dtype t) {
    using tinymim::io::dtype;
    switch (t) {
        case dtype::F16:
            return double(tinymim::io::half_to_float(tinymim::io::float_to_half(v)));
        case dtype::BF16:
            return double(tinymim::bf16_to_float(tinymim::float_to_bf16(v)));
        default:
            return double(v);
    }
}
}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    using tinymim::io::dtype;
    bytes in{data, size};
    struct wanted {
        std::string name;
        dtype type;
        std::vector<std::size_t> shape;
        std::vector<float> values;
    };
    std::vector<wanted> tensors;
    tinymim::io::safetensors_writer w;
    std::set<std::string> names;
    const std::size_t count = in.u8() % 5;
    for (std::size_t i = 0; i < count; ++i) {
        wanted t;
        t.name = in.text(16);
        constexpr dtype types[] = {dtype::F32, dtype::F64, dtype::F16, dtype::BF16};
        t.type = types[in.u8() % 4];
        const std::size_t rank = in.u8() % 4;
        std::size_t n = 1;
        for (std::size_t r = 0; r < rank; ++r) {
            t.shape.push_back(in.u8() % 9);
            n *= t.shape.back();
        }
        for (std::size_t k = 0; k < n; ++k) t.values.push_back(in.f32());
        const bool valid = !t.name.empty() && t.name != "__metadata__" && !names.count(t.name) &&
                           tinymim::io::detail::utf8_valid(t.name);
        try {
            w.add(t.name, t.shape, t.values.data(), t.type);
        } catch (const tinymim::error&) {
            if (valid) __builtin_trap();  // a valid tensor refused
            continue;
        }
        if (!valid) __builtin_trap();  // an invalid name accepted
        names.insert(t.name);
        tensors.push_back(std::move(t));
    }
    std::string key = in.text(8), value = in.text(8);
    try {
        if (!key.empty()) w.set_metadata(key, value);
    } catch (const tinymim::error&) {
        if (tinymim::io::detail::utf8_valid(key) && tinymim::io::detail::utf8_valid(value)) __builtin_trap();
        key.clear();
    }
    const auto& p = fuzz::input_path("roundtrip");
    w.write(p);
    tinymim::io::safetensors_reader r(p);
    if (r.tensors().size() != tensors.size()) __builtin_trap();
    for (const auto& t : tensors) {
        const auto* info = r.find(t.name);
        if (info == nullptr || info->type != t.type || info->shape != t.shape) __builtin_trap();
        const auto back = r.read<double>(t.name);
        if (back.size() != t.values.size()) __builtin_trap();
        for (std::size_t k = 0; k < back.size(); ++k)
            if (!same(back[k], stored(t.values[k], t.type))) __builtin_trap();
    }
    if (!key.empty()) {
        const auto it = r.metadata().find(key);
        if (it == r.metadata().end() || it->second != value) __builtin_trap();
    }
    return 0;
}
