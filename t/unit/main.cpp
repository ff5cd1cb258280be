// The Catch2 runner for every unit test of the tree.
#define CATCH_CONFIG_MAIN
#include <catch2/catch.hpp>
