// testing::check_gradients: compares a function's reverse-mode gradients with central differences,
// in double precision. Public API: users gradient-check their own ops and distillation policies.
//
// What one call proves, for every input:
//  - the forward writes every output entry (the tape runs in poison mode: fresh buffers are NaN);
//  - the backward ACCUMULATES (+=): gradient slots are pre-seeded with random values, and the
//    gradient found must be seed + the true gradient;
//  - the gradient equals central differences of s(x) = <r, f(x)> for a random projection r,
//    at every coordinate of small inputs and at a seeded sample of large ones.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <sstream>
#include <string>
#include <tuple>
#include <utility>
#include <vector>

#include "tinymim/autograd/no_grad.hpp"
#include "tinymim/autograd/tape.hpp"
#include "tinymim/autograd/var.hpp"
#include "tinymim/core/random.hpp"
#include "tinymim/nn/parameter.hpp"
#include "tinymim/tensor/tensor.hpp"

namespace tinymim::testing {

struct gradcheck_options {
    double step = 1e-6;  // central-difference step
    double rtol = 1e-5;  // |analytic - numeric| <= atol + rtol * max(|analytic|, |numeric|)
    double atol = 1e-7;
    std::size_t max_coordinates = 512;  // inputs larger than this are checked at a seeded sample
    std::uint64_t seed = 20230105;
};

struct gradcheck_report {
    bool ok = true;
    std::size_t checked = 0;
    double max_abs_error = 0, max_rel_error = 0;
    std::string message;  // what failed, by input and coordinate
    explicit operator bool() const noexcept { return ok; }
};

namespace detail {
// Compares one coordinate and records the outcome in rep (and the mismatch in msg).
inline void compare(gradcheck_report& rep, std::ostringstream& msg, const gradcheck_options& opt, double analytic,
                    double numeric, const std::string& where) {
    const double err = std::abs(analytic - numeric);
    const double scale = std::max(std::abs(analytic), std::abs(numeric));
    rep.max_abs_error = std::max(rep.max_abs_error, err);
    if (scale > 10 * opt.atol) rep.max_rel_error = std::max(rep.max_rel_error, err / scale);  // where meaningful
    ++rep.checked;
    if (!(err <= opt.atol + opt.rtol * scale)) {
        if (rep.ok) msg << "gradient mismatch:\n";
        rep.ok = false;
        msg << "  " << where << ": analytic " << analytic << ", numeric " << numeric << "\n";
    }
}

template <class V>
double projected(const V& y, const std::vector<double>& r) {
    const std::vector<double> h = y.value().to_vector();  // host copy (any backend)
    double s = 0;
    for (std::size_t i = 0; i < h.size(); ++i) s += r[i] * h[i];
    return s;
}

// A copy of a host tensor on backend B.
template <class B, class S>
tensor<double, S, B> on_backend(const tensor<double, S, cpu>& h) {
    tensor<double, S, B> t(h.shape());
    t.copy_from(h.data(), h.size());
    return t;
}
}  // namespace detail

// f(tape<B>&, var<double, S_i, B>...) -> var<double, SY, B>. The inputs are double tensors on the host;
// they are perturbed in place during the check and restored afterwards. With B = cuda the function
// runs on the device (write f as a generic lambda) and only the comparison happens on the host.
template <class B = cpu, class F, class... S>
[[nodiscard]] gradcheck_report check_gradients(F&& f, const gradcheck_options& opt, tensor<double, S, cpu>&... inputs) {
    gradcheck_report rep;
    std::ostringstream msg;
    counter_rng rng(opt.seed);
    constexpr std::size_t n_in = sizeof...(S);

    // Analytic pass, in poison mode, with pre-seeded gradient slots.
    tape<B> t;
    t.set_poison(true);
    std::tuple<tensor<double, S, B>...> grads{tensor<double, S, B>(inputs.shape())...};
    std::tuple<tensor<double, S, B>...> xs_dev{detail::on_backend<B>(inputs)...};
    auto xs = std::tie(inputs...);
    std::array<bool, n_in> flags{};
    std::array<std::vector<double>, n_in> seeds;
    auto seed_slot = [&](std::size_t k, auto& g) {
        seeds[k].resize(g.size());
        for (std::size_t i = 0; i < g.size(); ++i) seeds[k][i] = rng.normal(1000 * k + i);
        g.copy_from(seeds[k]);
        flags[k] = true;  // the slot already holds this step's gradient: backward must add to it
    };
    auto y = [&]<std::size_t... I>(std::index_sequence<I...>) {
        (seed_slot(I, std::get<I>(grads)), ...);
        return f(t, leaf(t, std::get<I>(xs_dev), std::get<I>(grads), flags[I])...);
    }
    (std::index_sequence_for<S...>{});
    const std::vector<double> yh = y.value().to_vector();
    for (std::size_t i = 0; i < yh.size(); ++i) {
        if (!std::isfinite(yh[i])) {
            rep.ok = false;
            msg << "output entry " << i << " is " << yh[i] << " (not written by the forward, or not finite)\n";
            rep.message = msg.str();
            return rep;
        }
    }
    std::vector<double> r(y.size());
    counter_rng proj = rng.fork(1);
    for (std::size_t i = 0; i < r.size(); ++i) r[i] = proj.normal(i);
    if (y.requires_grad()) {
        tensor<double, shape<dyn>, B> r_dev({r.size()});
        r_dev.copy_from(r);
        y.backward(r_dev.data());
    }
    std::array<std::vector<double>, n_in> found;
    [&]<std::size_t... I>(std::index_sequence<I...>) { ((found[I] = std::get<I>(grads).to_vector()), ...); }
    (std::index_sequence_for<S...>{});

    // Numeric pass, coordinate by coordinate.
    auto eval = [&]() {
        no_grad ng;
        tape<B> tn;
        std::tuple<tensor<double, S, B>...> xd{detail::on_backend<B>(inputs)...};
        auto yn = [&]<std::size_t... I>(std::index_sequence<I...>) { return f(tn, input(tn, std::get<I>(xd))...); }
        (std::index_sequence_for<S...>{});
        return detail::projected(yn, r);
    };
    auto check_one = [&](std::size_t idx_input, auto& x) {
        std::vector<std::size_t> coords;
        if (x.size() <= opt.max_coordinates) {
            for (std::size_t i = 0; i < x.size(); ++i) coords.push_back(i);
        } else {
            counter_rng pick = rng.fork(100 + idx_input);
            for (std::size_t i = 0; i < opt.max_coordinates; ++i) coords.push_back(pick.bits(i) % x.size());
        }
        const std::vector<double>& g = found[idx_input];
        for (std::size_t c : coords) {
            const double x0 = x[c];
            x[c] = x0 + opt.step;
            const double sp = eval();
            x[c] = x0 - opt.step;
            const double sm = eval();
            x[c] = x0;
            const double numeric = (sp - sm) / (2 * opt.step);
            const double analytic = g[c] - seeds[idx_input][c];
            std::ostringstream where;
            where << "input " << idx_input << " coordinate " << c << " (slot held " << g[c] << ", pre-seeded "
                  << seeds[idx_input][c] << ")";
            detail::compare(rep, msg, opt, analytic, numeric, where.str());
        }
    };
    [&]<std::size_t... I>(std::index_sequence<I...>) { (check_one(I, std::get<I>(xs)), ...); }
    (std::index_sequence_for<S...>{});
    rep.message = msg.str();
    return rep;
}

// Default options.
template <class B = cpu, class F, class... S>
[[nodiscard]] gradcheck_report check_gradients(F&& f, tensor<double, S, cpu>&... inputs) {
    return check_gradients<B>(std::forward<F>(f), gradcheck_options{}, inputs...);
}

}  // namespace tinymim::testing

namespace tinymim::testing {

// Gradient check of a scalar loss with respect to every trainable parameter of a model (anything with
// visit(f) over nn::param_ref<double>): loss(tape) -> scalar var. Analytic gradients come from one
// backward (poison mode on); numeric ones from central differences, at every coordinate of small
// parameters and at a seeded sample of large ones (opt.max_coordinates per parameter).
namespace detail {
// The backend a model's parameters live on: Model::backend_type, or the CPU for a model that names none.
template <class M>
struct model_backend {
    using type = cpu;
};
template <class M>
requires requires { typename M::backend_type; }
struct model_backend<M> {
    using type = typename M::backend_type;
};
}  // namespace detail

// Works on any backend: the model's backend_type runs the loss; single coordinates are read and written
// through the parameter's host-copy functions.
template <class Model, class F>
[[nodiscard]] gradcheck_report check_parameter_gradients(Model& model, F&& loss, const gradcheck_options& opt = {}) {
    using B = typename detail::model_backend<Model>::type;
    gradcheck_report rep;
    std::ostringstream msg;
    std::vector<nn::param_ref<double>> params;
    model.visit([&](nn::param_ref<double>& r) {
        if (r.trainable()) params.push_back(r);
    });
    for (auto& p : params) *p.has_grad = false;
    auto scalar = [](const auto& y) {
        double v = 0;
        B::copy_to_host(&v, y.data(), sizeof v);
        return v;
    };
    {
        tape<B> t;
        t.set_poison(true);
        auto y = loss(t);
        TINYMIM_CHECK(y.size() == 1, "check_parameter_gradients: the loss must be a scalar");
        if (!std::isfinite(scalar(y))) {
            rep.ok = false;
            rep.message = "the loss is not finite";
            return rep;
        }
        y.backward();
    }
    auto eval = [&]() {
        no_grad ng;
        tape<B> tn;
        return scalar(loss(tn));
    };
    auto get = [](const nn::param_ref<double>& p, const double* base, std::size_t c) {
        double v = 0;
        p.to_host(&v, base + c, sizeof v);
        return v;
    };
    auto set = [](const nn::param_ref<double>& p, std::size_t c, double v) { p.from_host(p.value + c, &v, sizeof v); };
    counter_rng pick(opt.seed);
    for (std::size_t pi = 0; pi < params.size(); ++pi) {
        auto& p = params[pi];
        std::vector<std::size_t> coords;
        if (p.size <= opt.max_coordinates) {
            for (std::size_t i = 0; i < p.size; ++i) coords.push_back(i);
        } else {
            for (std::size_t i = 0; i < opt.max_coordinates; ++i) coords.push_back(pick.fork(pi).bits(i) % p.size);
        }
        for (std::size_t c : coords) {
            const double x0 = get(p, p.value, c);
            set(p, c, x0 + opt.step);
            const double sp = eval();
            set(p, c, x0 - opt.step);
            const double sm = eval();
            set(p, c, x0);
            const double numeric = (sp - sm) / (2 * opt.step);
            const double analytic = *p.has_grad ? get(p, p.grad, c) : 0.0;
            detail::compare(rep, msg, opt, analytic, numeric, p.name + "[" + std::to_string(c) + "]");
        }
    }
    rep.message = msg.str();
    return rep;
}

}  // namespace tinymim::testing
