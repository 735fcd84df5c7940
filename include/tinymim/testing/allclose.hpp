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

// |a - b| <= rtol * max(|b|, floor) for every entry: relative error against the reference b, with
// `floor` (default: 1e-3 of the reference's largest magnitude) guarding entries near zero.
template <class A, class B>
[[nodiscard]] compare_report allclose(const A* a, const B* b, std::size_t n, double rtol, double floor = -1) {
    compare_report r;
    double bmax = 0;
    for (std::size_t i = 0; i < n; ++i) bmax = std::max(bmax, std::abs(double(b[i])));
    if (floor < 0) floor = 1e-3 * bmax;
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
