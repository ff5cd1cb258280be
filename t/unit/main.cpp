// The Catch2 runner for every unit test of the tree.
//
// g++ 12 with -fsanitize=address,undefined reports -Wmaybe-uninitialized
// inside libstdc++'s <regex>, which Catch's implementation instantiates
// here: a false positive that -Werror would turn into a failed build.
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#endif
#define CATCH_CONFIG_MAIN
#include <catch2/catch.hpp>
