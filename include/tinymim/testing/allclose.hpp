// testing::allclose: relative comparison of two buffers, reporting the worst entry.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <sstream>
#include <string>

namespace tinymim::testing {

struct compare_report {
    bool ok = true;
    double max_rel_error = 0, max_abs_error = 0;
    std::size_t worst = 0;
    std::string message;
    explicit operator bool() const noexcept { return ok; }
};

// |a_i - b_i| <= rtol * max(|b_i|, floor) for every entry, against the reference b. The default floor
// is the reference's largest magnitude, which makes this the max-norm relative error
// ||a - b||_inf / ||b||_inf: entries near zero made by cancelling terms of size 1 (an attention
// output of 1e-3) carry float32 rounding of the terms, not of the result. Pass a smaller floor for
// an entry-wise relative check.
template <class A, class B>
[[nodiscard]] compare_report allclose(const A* a, const B* b, std::size_t n, double rtol, double floor = -1) {
    compare_report r;
    double bmax = 0;
    for (std::size_t i = 0; i < n; ++i) bmax = std::max(bmax, std::abs(double(b[i])));
    if (floor < 0) floor = bmax;
    if (floor == 0) floor = 1e-30;
    for (std::size_t i = 0; i < n; ++i) {
        const double d = std::abs(double(a[i]) - double(b[i]));
        const double rel = d / std::max(std::abs(double(b[i])), floor);
        if (!(rel <= r.max_rel_error) || std::isnan(rel)) {
            r.max_rel_error = std::isnan(rel) ? INFINITY : rel;
            r.worst = i;
        }
        r.max_abs_error = std::max(r.max_abs_error, d);
    }
    r.ok = r.max_rel_error <= rtol;
    std::ostringstream os;
    os << "max relative error " << r.max_rel_error << " (tolerance " << rtol << ") at entry " << r.worst;
    if (n > 0) os << ": " << double(a[r.worst]) << " vs reference " << double(b[r.worst]);
    r.message = os.str();
    return r;
}

}  // namespace tinymim::testing
