// Golden tests: values and gradients against fixtures written by PyTorch (tests/reference/make_op_fixtures.py).
#include <boost/test/unit_test.hpp>
BOOST_AUTO_TEST_SUITE(golden_placeholder_until_fixtures)
BOOST_AUTO_TEST_SUITE_END()
