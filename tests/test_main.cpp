// The Boost.Test entry point shared by every continua test executable.
#define BOOST_TEST_MODULE continua
#include <boost/test/unit_test.hpp>
