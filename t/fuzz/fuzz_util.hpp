// Shared by the fuzz targets: invariant checks that abort (so libFuzzer
// records the input), and the switch for checks of known, reported bugs.
#pragma once

#include <cstdio>
#include <cstdlib>
#include <string_view>

namespace kurir::fuzz {

[[noreturn]] inline void fail(const char* file, int line, const char* what) {
    std::fprintf(stderr, "%s:%d: invariant failed: %s\n", file, line, what);
    std::abort();
}

// The invariants of bugs found and fixed once (each has a unit test) are
// checked by default; KURIR_FUZZ_STRICT=0 turns them off while hunting for
// something else.
inline bool strict() {
    static const bool on = [] {
        const char* v = std::getenv("KURIR_FUZZ_STRICT");
        return v == nullptr || *v != '0';
    }();
    return on;
}

}  // namespace kurir::fuzz

#define FUZZ_CHECK(cond) \
    do { \
        if (!(cond)) ::kurir::fuzz::fail(__FILE__, __LINE__, #cond); \
    } while (0)
