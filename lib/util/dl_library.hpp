// A library loaded with dlopen when a process first needs it, and a table
// of its functions: OpenSSL (server/libssl, mail/libcrypto) and the indexed
// tables' libraries (util/table_libraries) are loaded this way, so that a
// process that never uses one does not carry its relocated data.
#pragma once

#include "util/result.hpp"

#include <dlfcn.h>

#include <string>
#include <type_traits>

namespace kurir::util {

template <typename Functions>
struct LoadedLibrary {
    Result<void> status;  // every function found, or what is missing
    Functions functions;
};

// Opens soname and calls bind_all(functions, bind), where bind(member,
// "name") sets a member to the library's function of that name. Symbols are
// looked up through the library's handle: its own scope (it and the
// libraries it needs), never the program's.
template <typename Functions, typename BindAll>
LoadedLibrary<Functions> load_library(const char* soname, BindAll bind_all) {
    LoadedLibrary<Functions> l;
    void* handle = ::dlopen(soname, RTLD_NOW | RTLD_LOCAL);
    if (!handle) {
        l.status = fail(std::string("cannot load ") + soname + ": " + ::dlerror());
        return l;
    }
    std::string missing;
    bind_all(l.functions, [&](auto& fn, const char* name) {
        void* sym = ::dlsym(handle, name);
        if (!sym) missing += std::string(missing.empty() ? "" : ", ") + name;
        fn = reinterpret_cast<std::remove_reference_t<decltype(fn)>>(sym);
    });
    if (!missing.empty()) l.status = fail(std::string(soname) + " lacks " + missing);
    return l;
}

}  // namespace kurir::util
