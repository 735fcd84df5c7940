// The Boost.Test module entry of every test executable (shared-library Boost.Test).
#define BOOST_TEST_MODULE tinymim
#include <boost/test/unit_test.hpp>
