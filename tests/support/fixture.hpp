// Loading PyTorch-made fixtures into tensors, and comparing against them.
#pragma once

#include <boost/test/unit_test.hpp>

#include <string>

#include "tinymim/io/safetensors.hpp"
#include "tinymim/tensor/tensor.hpp"
#include "tinymim/testing/allclose.hpp"

namespace tt {

inline tinymim::io::safetensors_reader& fixture(const std::string& file) {
    static std::map<std::string, std::unique_ptr<tinymim::io::safetensors_reader>> open;
    auto& r = open[file];
    if (!r) r = std::make_unique<tinymim::io::safetensors_reader>(std::string(TINYMIM_FIXTURES) + "/" + file);
    return *r;
}

// A fixture tensor as tensor<T, S> (shape from the file; static extents are checked).
template <class S, class T = float>
tinymim::tensor<T, S> load(tinymim::io::safetensors_reader& f, const std::string& name) {
    const auto& info = f.at(name);
    BOOST_REQUIRE_MESSAGE(info.shape.size() == S::rank, name << " has rank " << info.shape.size());
    std::array<std::size_t, S::rank> e{};
    for (std::size_t i = 0; i < S::rank; ++i) e[i] = info.shape[i];
    tinymim::tensor<T, S> t{tinymim::extents<S>(e)};
    f.read_into(name, t.data(), t.size());
    return t;
}

// Compares n values at p with the fixture tensor `name` (relative error).
template <class T>
void check_close(tinymim::io::safetensors_reader& f, const std::string& name, const T* p, std::size_t n, double rtol) {
    BOOST_REQUIRE_MESSAGE(p != nullptr, name << ": no values (no gradient reached it?)");
    const auto ref = f.read<double>(name);
    BOOST_REQUIRE_EQUAL(ref.size(), n);
    const auto rep = tinymim::testing::allclose(p, ref.data(), n, rtol);
    BOOST_TEST(rep.ok, name << ": " << rep.message);
}

}  // namespace tt
