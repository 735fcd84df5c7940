// The bodies of the agreement cases, templated over the backend (included by cases_cpu.cpp and
// cases_cuda.cu only).
#pragma once

#include <cmath>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>

#include <tinymim/distill/distiller.hpp>
#include <tinymim/fused/residual_linear.hpp>
#include <tinymim/nn/mae.hpp>
#include <tinymim/nn/vit.hpp>
#include <tinymim/ops/attention.hpp>
#include <tinymim/ops/concat.hpp>
#include <tinymim/ops/drop_path.hpp>
#include <tinymim/ops/elementwise.hpp>
#include <tinymim/ops/gelu.hpp>
#include <tinymim/ops/layer_norm.hpp>
#include <tinymim/ops/linear.hpp>
#include <tinymim/ops/losses.hpp>
#include <tinymim/ops/matmul.hpp>
#include <tinymim/ops/narrow.hpp>
#include <tinymim/ops/permute.hpp>
#include <tinymim/ops/reduce.hpp>
#include <tinymim/ops/softmax.hpp>
#include <tinymim/ops/tokens.hpp>
#include <tinymim/ops/unary.hpp>
#include <tinymim/optim/adamw.hpp>

#include "agreement.hpp"

namespace tinymim_test {

using namespace tinymim;

template <class B>
struct harness {
    using T = float;
    tape<B> t;
    case_result out;
    std::vector<std::unique_ptr<void, void (*)(void*)>> keep;  // inputs outlive the step
    std::vector<std::pair<std::string, slot<T>*>> leaves;
    std::uint64_t next_seed = 1;

    template <class S>
    tensor<T, S, B>& own(tensor<T, S, B>&& x) {
        auto* p = new tensor<T, S, B>(std::move(x));
        keep.emplace_back(p, [](void* q) { delete static_cast<tensor<T, S, B>*>(q); });
        return *p;
    }
    // A leaf with seeded normal values (times scale, plus shift), whose gradient is reported as `name`.
    template <class S>
    var<T, S, B> leaf_var(const std::string& name, const extents<S>& e, double scale = 1, double shift = 0) {
        std::vector<T> h(e.size());
        counter_rng r(next_seed++);
        for (std::size_t i = 0; i < h.size(); ++i) h[i] = T(shift + scale * r.normal(i));
        auto& x = own(tensor<T, S, B>(e));
        x.copy_from(h);
        auto v = tinymim::leaf(t, x);
        leaves.emplace_back(name, v.get_slot());
        return v;
    }
    // Softmax rows of seeded logits: a probability input (teacher relations).
    template <class S>
    var<T, S, B> probs_var(const std::string& name, const extents<S>& e) {
        std::vector<T> h(e.size());
        counter_rng r(next_seed++);
        const std::size_t n = e[S::rank - 1];
        for (std::size_t row = 0; row < h.size() / n; ++row) {
            double s = 0;
            for (std::size_t j = 0; j < n; ++j) s += (h[row * n + j] = T(std::exp(r.normal(row * n + j))));
            for (std::size_t j = 0; j < n; ++j) h[row * n + j] = T(h[row * n + j] / s);
        }
        auto& x = own(tensor<T, S, B>(e));
        x.copy_from(h);
        auto v = tinymim::leaf(t, x);
        leaves.emplace_back(name, v.get_slot());
        return v;
    }
    template <class S>
    tensor<std::int32_t, S, B>& ints(const extents<S>& e, const std::vector<std::int32_t>& h) {
        auto* p = new tensor<std::int32_t, S, B>(e);
        keep.emplace_back(p, [](void* q) { delete static_cast<tensor<std::int32_t, S, B>*>(q); });
        p->copy_from(h);
        return *p;
    }
    static std::vector<double> host(const T* p, std::size_t n) {
        std::vector<T> h(n);
        if (p != nullptr) B::copy_to_host(h.data(), p, n * sizeof(T));
        return {h.begin(), h.end()};
    }
    // Records y, runs backward with a seeded projection, records every leaf's gradient.
    template <class S>
    case_result finish(const var<T, S, B>& y) {
        out.names.push_back("value");
        out.arrays.push_back(host(y.data(), y.size()));
        std::vector<T> r(y.size());
        counter_rng pr(999);
        for (std::size_t i = 0; i < r.size(); ++i) r[i] = T(pr.normal(i));
        tensor<T, shape<dyn>, B> seed({r.size()});
        seed.copy_from(r);
        y.backward(seed.data());
        for (auto& [name, s] : leaves) {
            out.names.push_back("grad " + name);
            out.arrays.push_back(s->grad() != nullptr ? host(s->grad(), s->size) : std::vector<double>(s->size, 0.0));
        }
        return std::move(out);
    }
};

template <class B>
using op_fn = std::function<case_result(harness<B>&)>;

template <class B>
std::map<std::string, op_fn<B>> op_cases() {
    using T = float;
    using h_t = harness<B>;
    std::map<std::string, op_fn<B>> c;
    using S2 = shape<dyn, dyn>;
    using S3 = shape<dyn, dyn, dyn>;
    using S4 = shape<dyn, dyn, dyn, dyn>;
    c["matmul"] = [](h_t& h) {
        auto a = h.leaf_var("a", extents<S2>({37, 29}));
        auto b = h.leaf_var("b", extents<S2>({29, 41}));
        return h.finish(ops::matmul(a, b));
    };
    c["matmul_batched_bt"] = [](h_t& h) {
        auto a = h.leaf_var("a", extents<S4>({2, 3, 17, 8}));
        auto b = h.leaf_var("b", extents<S4>({2, 3, 19, 8}));
        return h.finish(ops::matmul<false, true>(a, b, T(0.5)));
    };
    c["linear_bias"] = [](h_t& h) {
        auto x = h.leaf_var("x", extents<S3>({4, 150, 48}));
        auto w = h.leaf_var("w", extents<S2>({96, 48}), 0.1);
        auto b = h.leaf_var("b", extents<shape<dyn>>({96}));
        return h.finish(ops::linear(x, w, b));
    };
    c["add_broadcast"] = [](h_t& h) {
        auto a = h.leaf_var("a", extents<S3>({3, 70, 64}));
        auto b = h.leaf_var("b", extents<shape<dyn>>({64}));
        return h.finish(ops::add(a, b));
    };
    c["sub_mul"] = [](h_t& h) {
        auto a = h.leaf_var("a", extents<S2>({300, 33}));
        auto b = h.leaf_var("b", extents<S2>({300, 33}));
        auto w = h.leaf_var("w", extents<shape<dyn>>({33}));
        return h.finish(ops::mul(ops::sub(a, b), w));
    };
    c["scale_sum_axis"] = [](h_t& h) {
        auto a = h.leaf_var("a", extents<S3>({5, 31, 12}));
        return h.finish(ops::sum<1>(ops::scale(a, T(0.7))));
    };
    c["mean_axis_mean_all"] = [](h_t& h) {
        auto a = h.leaf_var("a", extents<S3>({5, 31, 12}));
        auto m = ops::mean<2>(a);
        return h.finish(ops::add(ops::mean(a), ops::sum(m)));
    };
    c["layer_norm"] = [](h_t& h) {
        auto x = h.leaf_var("x", extents<S3>({3, 90, 96}), 2.0, 0.5);
        auto g = h.leaf_var("gamma", extents<shape<dyn>>({96}), 0.2, 1.0);
        auto b = h.leaf_var("beta", extents<shape<dyn>>({96}));
        return h.finish(ops::layer_norm(x, g, b, T(1e-6)));
    };
    c["layer_norm_plain"] = [](h_t& h) {
        auto x = h.leaf_var("x", extents<S2>({70, 300}));
        return h.finish(ops::layer_norm(x, T(1e-6)));
    };
    c["gelu"] = [](h_t& h) { return h.finish(ops::gelu(h.leaf_var("x", extents<S2>({70, 130}), 2.0))); };
    // ops/unary.hpp through ops::map: grouped, three functions per case (x ~ N(0, 4); p ~ N(3, 0.25) > 0).
    c["unary_exp_tanh_sigmoid"] = [](h_t& h) {
        auto x = h.leaf_var("x", extents<S2>({70, 130}), 2.0);
        return h.finish(ops::add(ops::add(ops::exp(ops::scale(x, T(0.25))), ops::tanh(x)), ops::sigmoid(x)));
    };
    c["unary_log_sqrt_rsqrt_pow"] = [](h_t& h) {
        auto p = h.leaf_var("p", extents<S2>({70, 130}), 0.5, 3.0);
        return h.finish(ops::add(ops::add(ops::log(p), ops::sqrt(p)), ops::add(ops::rsqrt(p), ops::pow(p, 1.7))));
    };
    c["unary_abs_square_relu_clamp"] = [](h_t& h) {
        auto x = h.leaf_var("x", extents<S2>({70, 130}), 2.0);
        return h.finish(
            ops::add(ops::add(ops::abs(x), ops::square(x)), ops::add(ops::relu(x), ops::clamp(x, -1.0, 1.5))));
    };
    c["div_broadcast"] = [](h_t& h) {
        auto a = h.leaf_var("a", extents<S3>({3, 40, 96}));
        auto b = h.leaf_var("b", extents<shape<dyn>>({96}), 0.5, 3.0);
        return h.finish(ops::div(a, b));
    };
    // ops/reduce.hpp's axis statistics, NumPy broadcasting on middle axes, permute / concat / stack.
    c["axis_max_logsumexp"] = [](h_t& h) {
        auto x = h.leaf_var("x", extents<S3>({6, 37, 21}), 2.0);
        return h.finish(ops::add(ops::max<1>(x), ops::logsumexp<1>(x)));
    };
    c["axis_standardise"] = [](h_t& h) {
        auto x = h.leaf_var("x", extents<S3>({6, 37, 21}), 2.0);
        auto centred = ops::sub(x, ops::mean<2>(x, ops::keepdim));
        return h.finish(ops::div(centred, ops::sqrt(ops::variance<2>(x, ops::keepdim, 0))));
    };
    c["broadcast_middle_axes"] = [](h_t& h) {
        auto a = h.leaf_var("a", extents<S3>({4, 1, 33}));
        auto b = h.leaf_var("b", extents<S3>({1, 17, 1}));
        auto c3 = h.leaf_var("c", extents<S3>({4, 17, 1}));
        return h.finish(ops::sub(ops::mul(a, b), c3));
    };
    c["permute_concat"] = [](h_t& h) {
        auto x = h.leaf_var("x", extents<S3>({3, 10, 12}));
        auto y = h.leaf_var("y", extents<S3>({3, 5, 10}));
        return h.finish(ops::concat<1>(ops::permute<0, 2, 1>(x), y));
    };
    c["transpose_stack"] = [](h_t& h) {
        auto a = h.leaf_var("a", extents<S2>({7, 9}));
        auto b = h.leaf_var("b", extents<S2>({9, 7}));
        return h.finish(ops::stack<2>(ops::transpose<0, 1>(a), b));
    };
    c["narrow_middle_axis"] = [](h_t& h) {
        auto x = h.leaf_var("x", extents<S4>({2, 3, 21, 8}));
        return h.finish(ops::narrow<2>(ops::narrow<3, 5>(x, 2), 4, 13));
    };
    c["softmax"] = [](h_t& h) {
        return h.finish(ops::softmax(h.leaf_var("x", extents<S3>({4, 50, 300}), 3.0), T(0.8)));
    };
    c["log_softmax"] = [](h_t& h) { return h.finish(ops::log_softmax(h.leaf_var("x", extents<S2>({64, 10}), 3.0))); };
    c["attention_out"] = [](h_t& h) {
        auto q = h.leaf_var("q", extents<S4>({2, 3, 17, 8}));
        auto k = h.leaf_var("k", extents<S4>({2, 3, 17, 8}));
        auto v = h.leaf_var("v", extents<S4>({2, 3, 17, 8}));
        return h.finish(ops::attention(q, k, v).out);
    };
    c["attention_probs"] = [](h_t& h) {
        auto q = h.leaf_var("q", extents<S4>({2, 3, 17, 8}));
        auto k = h.leaf_var("k", extents<S4>({2, 3, 17, 8}));
        return h.finish(ops::attention(q, k, k, T(0.4)).probs);  // probs do not depend on v
    };
    c["attention_qkv_out"] = [](h_t& h) {
        auto x = h.leaf_var("qkv", extents<S3>({2, 17, 72}));  // width 24: 3 heads of 8
        return h.finish(fused::attention_qkv(x, 3, T(0.35)).out);
    };
    c["attention_qkv_probs"] = [](h_t& h) {
        auto x = h.leaf_var("qkv", extents<S3>({2, 17, 72}));
        return h.finish(fused::attention_qkv(x, 4, T(0.35)).probs);  // no output gradient: dv is zero
    };
    c["attention_qkv_out_recomputed"] = [](h_t& h) {  // probabilities not kept: recomputed in the backward
        auto x = h.leaf_var("qkv", extents<S3>({2, 17, 72}));
        return h.finish(fused::attention_qkv_out(x, 3, T(0.35)));
    };
    c["residual_linear_drop_path"] = [](h_t& h) {
        auto x = h.leaf_var("x", extents<S3>({6, 9, 20}));
        auto w = h.leaf_var("weight", extents<S2>({12, 20}), 0.3);
        auto b = h.leaf_var("bias", extents<shape<dyn>>({12}));
        auto r = h.leaf_var("residual", extents<S3>({6, 9, 12}));
        return h.finish(fused::residual_linear(x, w, b, r, {0.4, counter_rng(6), true}));
    };
    c["residual_gelu_linear"] = [](h_t& h) {
        auto x = h.leaf_var("x", extents<S3>({4, 9, 48}), 2.0);
        auto w = h.leaf_var("weight", extents<S2>({12, 48}), 0.2);
        auto b = h.leaf_var("bias", extents<shape<dyn>>({12}));
        auto r = h.leaf_var("residual", extents<S3>({4, 9, 12}));
        return h.finish(fused::residual_gelu_linear(x, w, b, r));
    };
    c["split_merge_heads"] = [](h_t& h) {
        auto x = h.leaf_var("qkv", extents<shape<dyn, dyn, 72>>({3, 11, 72}));
        auto k = ops::split_heads<3>(x, 4, 1);  // the k third of a fused qkv, 4 heads of 6
        return h.finish(ops::merge_heads<24>(ops::scale(k, T(2))));
    };
    c["concat_slice_tokens"] = [](h_t& h) {
        auto cls = h.leaf_var("cls", extents<S3>({1, 1, 20}));
        auto x = h.leaf_var("x", extents<S3>({4, 9, 20}));
        auto y = ops::concat_tokens(cls, x);
        return h.finish(ops::concat_tokens(ops::slice_tokens<3>(y), ops::slice_tokens<0, 2>(y)));
    };
    c["gather_expand_tokens"] = [](h_t& h) {
        auto x = h.leaf_var("x", extents<S3>({3, 12, 16}));
        auto m = h.leaf_var("mask_token", extents<S3>({1, 1, 16}));
        std::vector<std::int32_t> idx{3, 0, 11, 5, 5, 2, 7, 1, 9, 9, 9, 0, 4, 6, 10, 8, 2, 1};  // repeats add up
        auto& id = h.ints(extents<shape<dyn, dyn>>({3, 6}), idx);
        auto g = ops::gather_tokens(x, id);
        return h.finish(ops::concat_tokens(g, ops::expand_tokens(m, 3, 5)));
    };
    c["patchify_channel_first"] = [](h_t& h) {
        auto img = h.leaf_var("images", extents<shape<dyn, 3, 12, 16>>({2, 3, 12, 16}));
        return h.finish(ops::patchify<4>(img));
    };
    c["patchify_unpatchify_channel_last"] = [](h_t& h) {
        auto img = h.leaf_var("images", extents<shape<dyn, 2, 8, 8>>({3, 2, 8, 8}));
        auto p = ops::patchify<4, ops::patch_order::channel_last>(img);
        return h.finish(ops::unpatchify<2, 8, 8, 4, ops::patch_order::channel_first>(ops::scale(p, T(1.5))));
    };
    c["drop_path"] = [](h_t& h) {
        auto x = h.leaf_var("x", extents<S3>({16, 7, 10}));
        return h.finish(ops::drop_path(x, T(0.3), counter_rng(5)));
    };
    c["cross_entropy"] = [](h_t& h) {
        auto z = h.leaf_var("logits", extents<S2>({300, 10}), 2.0);
        std::vector<std::int32_t> labels(300);
        for (std::size_t i = 0; i < labels.size(); ++i) labels[i] = std::int32_t((i * 7) % 10);
        auto& l = h.ints(extents<shape<dyn>>({300}), labels);
        return h.finish(ops::cross_entropy(z, l, T(0.1)));
    };
    c["kl_divergence"] = [](h_t& h) {
        auto t = h.probs_var("teacher", extents<S4>({2, 3, 17, 17}));
        auto z = h.leaf_var("student", extents<S4>({2, 3, 17, 17}), 2.0);
        return h.finish(ops::kl_divergence(t, z, T(1.5)));
    };
    c["mse"] = [](h_t& h) {
        auto a = h.leaf_var("a", extents<S3>({4, 50, 40}));
        auto b = h.leaf_var("b", extents<S3>({4, 50, 40}));
        return h.finish(ops::mse(a, b));
    };
    c["smooth_l1"] = [](h_t& h) {
        auto a = h.leaf_var("a", extents<S3>({4, 50, 40}), 3.0);
        auto b = h.leaf_var("b", extents<S3>({4, 50, 40}));
        return h.finish(ops::smooth_l1(a, b, T(1)));
    };
    c["cosine"] = [](h_t& h) {
        auto a = h.leaf_var("a", extents<S2>({64, 96}));
        auto b = h.leaf_var("b", extents<S2>({64, 96}));
        return h.finish(ops::cosine(a, b));
    };
    return c;
}

template <class B>
case_result run_op_case(const std::string& name) {
    auto cases = op_cases<B>();
    auto it = cases.find(name);
    TINYMIM_CHECK(it != cases.end(), "no op case named ", name);
    harness<B> h;
    return it->second(h);
}

}  // namespace tinymim_test
