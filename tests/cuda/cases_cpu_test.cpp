// The agreement cases themselves, run on the CPU everywhere (no GPU needed): each builds, runs forward
// and backward, yields finite values, and reaches every input with a gradient. So a case that is wrong
// shows up here, not first on a GPU machine.
#include <cmath>

#include <boost/test/data/monomorphic.hpp>
#include <boost/test/data/test_case.hpp>
#include <boost/test/unit_test.hpp>

#include "agreement.hpp"

namespace bdata = boost::unit_test::data;
using namespace tinymim_test;

namespace {
void check(const case_result& r) {
    BOOST_REQUIRE(!r.names.empty());
    BOOST_REQUIRE_EQUAL(r.names.size(), r.arrays.size());
    for (std::size_t i = 0; i < r.names.size(); ++i) {
        BOOST_TEST_CONTEXT(r.names[i]) {
            BOOST_TEST(!r.arrays[i].empty());
            bool finite = true, nonzero = false;
            for (double v : r.arrays[i]) {
                finite = finite && std::isfinite(v);
                nonzero = nonzero || v != 0;
            }
            BOOST_TEST(finite);
            // Every gradient array has some nonzero entry (a case whose backward misses an input is wrong).
            if (r.names[i].rfind("grad ", 0) == 0) BOOST_TEST(nonzero);
        }
    }
}
}  // namespace

BOOST_AUTO_TEST_CASE(every_op_case_exists) { BOOST_TEST(op_case_names().size() >= 25u); }

BOOST_DATA_TEST_CASE(op_case_runs_on_cpu, bdata::make(op_case_names()), name) { check(run_op_case<tinymim::backends::cpu>(name)); }

BOOST_DATA_TEST_CASE(model_case_runs_on_cpu, bdata::make(model_case_names()), name) {
    check(run_model_case<tinymim::backends::cpu>(name));
}
