// Authentication-Results: the authserv-id parser never crashes and gives
// an id without line ends; a field written from any method, result,
// comment and value (the fuzz input cut at NULs) is one header field that
// a P record may carry, with lines within RFC 5322's 998, and its
// authserv-id reads back as written.
#include "fuzz_util.hpp"
#include "mail/auth_results.hpp"
#include "mail/record.hpp"

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

using namespace kurir::mail;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    std::string_view s(reinterpret_cast<const char*>(data), size);
    if (auto id = auth_results_authserv_id(s)) {
        FUZZ_CHECK(!id->empty());
        FUZZ_CHECK(id->find_first_of("\r\n") == std::string::npos);
    }

    std::vector<std::string> parts;
    size_t pos = 0;
    while (parts.size() < 5) {
        size_t nul = s.find('\0', pos);
        parts.emplace_back(s.substr(pos, nul == std::string_view::npos ? std::string_view::npos : nul - pos));
        if (nul == std::string_view::npos) break;
        pos = nul + 1;
    }
    parts.resize(5);
    std::string field =
        format_auth_results(parts[0], {{parts[1], parts[2], parts[3], {{"header.d", parts[4]}}}, {"dkim", "none", "", {}}});
    FUZZ_CHECK(field.starts_with("Authentication-Results: "));
    FUZZ_CHECK(is_prepend_field(field));
    size_t start = 0;
    while (start <= field.size()) {
        size_t nl = field.find('\n', start);
        size_t end = nl == std::string::npos ? field.size() : nl;
        FUZZ_CHECK(end - start <= 998);
        if (nl == std::string::npos) break;
        start = nl + 1;
    }
    std::string safe;  // what the field may say of parts[0]
    for (char c : parts[0].substr(0, 256)) safe.push_back((c >= 33 && c <= 126) || c == ' ' ? c : '?');
    auto id = auth_results_authserv_id(std::string_view(field).substr(field.find(':') + 1));
    if (safe.empty())
        FUZZ_CHECK(!id);
    else
        FUZZ_CHECK(id && *id == safe);
    return 0;
}
