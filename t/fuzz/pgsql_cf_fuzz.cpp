// The .cf file of a pgsql: table and the query expansion: never crash; a
// parsed file has hosts, a valid query and result_format; a host prints
// and parses back the same; a key expanded into the query through an
// escaper that doubles quotes leaves no quote of its own unpaired.
#include "fuzz_util.hpp"
#include "mail/pgsql_cf.hpp"
#include "mail/pgsql_query.hpp"

#include <cstdint>
#include <string>
#include <string_view>

using namespace kurir::mail;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    std::string_view in(reinterpret_cast<const char*>(data), size);
    // The last line is a key, the rest the .cf file.
    size_t nl = in.rfind('\n');
    std::string_view text = nl == std::string_view::npos ? in : in.substr(0, nl);
    std::string_view key = nl == std::string_view::npos ? std::string_view() : in.substr(nl + 1);

    (void)parse_pgsql_host(in.substr(0, 300));
    auto cf = parse_pgsql_cf(text, "/fuzz.cf");
    if (!cf) {
        FUZZ_CHECK(cf.error().text.starts_with("/fuzz.cf"));
        return 0;
    }
    FUZZ_CHECK(!cf->hosts.empty());
    FUZZ_CHECK(!cf->query.empty());
    FUZZ_CHECK(check_pgsql_template(cf->query));
    FUZZ_CHECK(check_pgsql_template(cf->result_format));
    for (const auto& h : cf->hosts) {
        FUZZ_CHECK(!h.host.empty());
        if (h.kind != PgsqlHost::Kind::inet) continue;
        std::string printed = "inet:[" + h.host + "]" + (h.port.empty() ? "" : ":" + h.port);
        auto again = parse_pgsql_host(printed);
        FUZZ_CHECK(again && *again == h);
    }
    // Only the key goes through the escaper: with a query of just "%s",
    // every quote of the result comes in pairs.
    SqlEscaper doubling = [](std::string_view s) -> kurir::util::Result<std::string> {
        std::string out;
        for (char c : s) {
            if (c == '\'') out += '\'';
            out += c;
        }
        return out;
    };
    auto q = expand_pgsql_query("%s%u%d%1%2", key, doubling);
    FUZZ_CHECK(q);
    if (*q) {
        size_t run = 0;
        for (char c : **q + "x") {
            if (c == '\'') {
                ++run;
                continue;
            }
            FUZZ_CHECK(run % 2 == 0);
            run = 0;
        }
    }
    (void)expand_pgsql_query(cf->query, key, doubling);
    (void)pgsql_domain_allows(cf->domains, key);
    return 0;
}
