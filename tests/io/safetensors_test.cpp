// safetensors: round trips in every float dtype, and a clear error for every kind of bad file.
#include <boost/test/unit_test.hpp>

#include <cmath>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <string>

#include "tinymim/io/safetensors.hpp"

namespace fs = std::filesystem;
using namespace tinymim::io;

namespace {
fs::path temp_path(const std::string& name) {
    const fs::path dir = fs::temp_directory_path() / ("tinymim_io_test_" + std::to_string(::getpid()));
    fs::create_directories(dir);
    return dir / name;
}
// A file with the given JSON header and `data_bytes` bytes of data.
fs::path raw_file(const std::string& name, const std::string& header, std::size_t data_bytes) {
    const fs::path p = temp_path(name);
    std::ofstream o(p, std::ios::binary);
    const std::uint64_t n = header.size();
    o.write(reinterpret_cast<const char*>(&n), 8);
    o << header;
    o << std::string(data_bytes, '\0');
    return p;
}
void expect_error(const fs::path& p, const std::string& fragment) {
    try {
        safetensors_reader r(p);
        (void)r.read<float>("a");
        BOOST_FAIL("expected tinymim::error containing '" << fragment << "' for " << p);
    } catch (const tinymim::error& e) {
        const std::string m = e.what();
        BOOST_TEST(m.find(fragment) != std::string::npos, "message: " << m);
        BOOST_TEST(m.find(p.filename().string()) != std::string::npos, "the message names the file: " << m);
    }
}
}  // namespace

BOOST_AUTO_TEST_SUITE(safetensors)

BOOST_AUTO_TEST_CASE(round_trip_all_float_dtypes) {
    std::vector<float> v = {0.0f, -1.5f, 3.14159f, 65504.0f, 1e-7f, -2.0e-5f};
    safetensors_writer w;
    w.add("f32", {2, 3}, v.data());
    w.add("f64", {6}, v.data(), dtype::F64);
    w.add("f16", {3, 2}, v.data(), dtype::F16);
    w.add("bf16", {6}, v.data(), dtype::BF16);
    std::vector<std::int32_t> labels = {3, 1, 4};
    w.add("labels", {3}, labels.data());
    w.set_metadata("format", "pt");
    const auto p = temp_path("round.safetensors");
    w.write(p);

    safetensors_reader r(p);
    BOOST_TEST(r.tensors().size() == 5u);
    BOOST_TEST(r.metadata().at("format") == "pt");
    BOOST_TEST((r.at("f16").shape == std::vector<std::size_t>{3, 2}));
    auto f32 = r.read<float>("f32");
    auto f64 = r.read<double>("f64");
    auto f16 = r.read<float>("f16");
    auto bf16 = r.read<float>("bf16");
    for (std::size_t i = 0; i < v.size(); ++i) {
        BOOST_TEST(f32[i] == v[i]);
        BOOST_TEST(f64[i] == double(v[i]));
        BOOST_TEST(std::abs(f16[i] - v[i]) <= std::max(std::abs(v[i]) * 1e-3f, 6e-8f), i << ": " << f16[i]);
        BOOST_TEST(std::abs(bf16[i] - v[i]) <= std::abs(v[i]) * 8e-3f, i << ": " << bf16[i]);
    }
    BOOST_TEST((r.read<std::int32_t>("labels") == labels));
    BOOST_CHECK_THROW((void)r.read<float>("labels"), tinymim::error);
}

BOOST_AUTO_TEST_CASE(half_conversion_exact_values) {
    BOOST_TEST(half_to_float(0x3C00) == 1.0f);
    BOOST_TEST(half_to_float(0xC000) == -2.0f);
    BOOST_TEST(half_to_float(0x7BFF) == 65504.0f);
    BOOST_TEST(half_to_float(0x0001) == std::ldexp(1.0f, -24));
    BOOST_TEST(float_to_half(1.0f) == 0x3C00);
    BOOST_TEST(float_to_half(65520.0f) == 0x7C00);  // rounds to infinity
    BOOST_TEST(float_to_half(std::ldexp(1.0f, -24)) == 0x0001);
    BOOST_TEST(bf16_to_float(0x3F80) == 1.0f);
    BOOST_TEST(float_to_bf16(1.0f) == 0x3F80);
}

BOOST_AUTO_TEST_CASE(bad_files_give_errors_that_name_the_problem) {
    // Truncated: the header length promises more than the file has.
    {
        const auto p = temp_path("truncated_header.safetensors");
        std::ofstream o(p, std::ios::binary);
        const std::uint64_t n = 500;
        o.write(reinterpret_cast<const char*>(&n), 8);
        o << "{}";
    }
    expect_error(temp_path("truncated_header.safetensors"), "truncated");
    // Truncated data: offsets run past the end.
    expect_error(
        raw_file("truncated_data.safetensors", R"({"a":{"dtype":"F32","shape":[4],"data_offsets":[0,16]}})", 8),
        "truncated");
    // Unknown dtype.
    expect_error(raw_file("dtype.safetensors", R"({"a":{"dtype":"Q4","shape":[4],"data_offsets":[0,16]}})", 16),
                 "unsupported dtype 'Q4'");
    // The header lies: the byte count does not fit dtype and shape.
    expect_error(raw_file("lies.safetensors", R"({"a":{"dtype":"F32","shape":[4],"data_offsets":[0,12]}})", 12),
                 "needs 16");
    // Overlapping tensors.
    expect_error(
        raw_file(
            "overlap.safetensors",
            R"({"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"b":{"dtype":"F32","shape":[2],"data_offsets":[4,12]}})",
            12),
        "overlap");
    // A hole in the buffer.
    expect_error(raw_file("hole.safetensors", R"({"a":{"dtype":"F32","shape":[2],"data_offsets":[4,12]}})", 12),
                 "belong to no tensor");
    // Missing tensor.
    expect_error(raw_file("missing.safetensors", R"({"b":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}})", 8),
                 "no tensor named 'a'");
    // Not JSON, and JSON of the wrong kind.
    expect_error(raw_file("notjson.safetensors", R"({"a": nope})", 0), "not valid JSON");
    expect_error(raw_file("array.safetensors", R"([1, 2])", 0), "must be a JSON object");
    expect_error(raw_file("key.safetensors", R"({"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4],"x":1}})", 4),
                 "unexpected key 'x'");
    // Wrong destination size.
    {
        const auto p = raw_file("size.safetensors", R"({"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}})", 8);
        safetensors_reader r(p);
        float out[3];
        BOOST_CHECK_THROW(r.read_into("a", out, 3), tinymim::error);
    }
    // Missing file.
    BOOST_CHECK_THROW(safetensors_reader(temp_path("does_not_exist.safetensors")), tinymim::error);
}

BOOST_AUTO_TEST_CASE(writing_is_atomic_and_replaces_whole_files) {
    const auto p = temp_path("atomic.safetensors");
    std::vector<float> a(100, 1.0f), b(10, 2.0f);
    safetensors_writer w1;
    w1.add("x", {100}, a.data());
    w1.write(p);
    safetensors_writer w2;
    w2.add("x", {10}, b.data());
    w2.write(p);
    safetensors_reader r(p);
    BOOST_TEST(r.at("x").numel() == 10u);
    for (const auto& e : fs::directory_iterator(p.parent_path()))
        BOOST_TEST(e.path().filename().string().find(".tmp.") == std::string::npos, "left a temp file: " << e.path());
}



// Found by tests/fuzz/safetensors_roundtrip_fuzz.cpp (its input is in tests/fuzz/corpus/safetensors_roundtrip/):
// a name that is not UTF-8 made the JSON writer throw its own exception at write(); it is now refused when
// added, with a tinymim::error that says why, and nothing is written.
BOOST_AUTO_TEST_CASE(names_and_metadata_must_be_utf8) {
    const float v[1] = {1.0f};
    for (const std::string& bad : {std::string("w\xA3\xFF"), std::string("\xC0\xAF"), std::string("\xED\xA0\x80"),
                                  std::string("\xF4\x90\x80\x80"), std::string("ok\xE2\x82")}) {
        safetensors_writer w;
        try {
            w.add(bad, {1}, v);
            BOOST_FAIL("a name that is not UTF-8 was accepted");
        } catch (const tinymim::error& e) {
            BOOST_TEST(std::string(e.what()).find("not valid UTF-8") != std::string::npos, e.what());
        }
        BOOST_CHECK_THROW(w.set_metadata("k", bad), tinymim::error);
    }
    safetensors_writer w;  // well-formed multi-byte names and metadata stay fine
    w.add("blocks.0.\xC3\xA9\xE2\x82\xAC\xF0\x9F\x98\x80", {1}, v);
    w.set_metadata("note", "\xE2\x9C\x93");
    const auto p = fs::temp_directory_path() / "tinymim_utf8_names.safetensors";
    w.write(p);
    safetensors_reader r(p);
    BOOST_TEST(r.find("blocks.0.\xC3\xA9\xE2\x82\xAC\xF0\x9F\x98\x80") != nullptr);
    BOOST_TEST(r.metadata().at("note") == "\xE2\x9C\x93");
    fs::remove(p);
}

BOOST_AUTO_TEST_SUITE_END()
