// The pgsql result decoder (rows through result_format into one
// comma-joined value): never crash; nothing found is nullopt, never "";
// with result_format %s the value is the non-empty fields joined with ","
// and expansion_limit fails exactly when there are more of them.
//
// Input: line 1 result_format, line 2 the key, line 3 expansion_limit (one
// digit), then one row per line, fields separated by TAB, "\N" a NULL.
#include "fuzz_util.hpp"
#include "mail/pgsql_query.hpp"

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

using namespace kurir::mail;

namespace {

std::string_view next_line(std::string_view& in) {
    size_t nl = in.find('\n');
    std::string_view line = in.substr(0, nl);
    in = nl == std::string_view::npos ? std::string_view() : in.substr(nl + 1);
    return line;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    std::string_view in(reinterpret_cast<const char*>(data), size);
    std::string_view format = next_line(in);
    std::string_view key = next_line(in);
    std::string_view limit_line = next_line(in);
    unsigned limit = !limit_line.empty() && limit_line[0] >= '0' && limit_line[0] <= '9' ? limit_line[0] - '0' : 0;
    std::vector<PgsqlRow> rows;
    std::string joined;
    unsigned values = 0;
    while (!in.empty()) {
        std::string_view line = next_line(in);
        PgsqlRow row;
        size_t start = 0;
        while (true) {
            size_t tab = line.find('\t', start);
            std::string_view field = line.substr(start, tab == std::string_view::npos ? std::string_view::npos : tab - start);
            if (field == "\\N") {
                row.emplace_back(std::nullopt);
            } else {
                row.emplace_back(std::string(field));
                if (!field.empty()) {
                    if (!joined.empty()) joined += ',';
                    joined += field;
                    ++values;
                }
            }
            if (tab == std::string_view::npos) break;
            start = tab + 1;
        }
        rows.push_back(std::move(row));
    }
    bool valid = static_cast<bool>(check_pgsql_template(format));
    auto r = format_pgsql_result(rows, format, key, limit);
    if (!valid) {
        // An invalid template is rejected when the .cf is read; here it may
        // fail only if a value reaches it.
        if (values == 0) FUZZ_CHECK(r && !*r);
        return 0;
    }
    if (r && *r) FUZZ_CHECK(!(*r)->empty());
    if (format == "%s") {
        FUZZ_CHECK(static_cast<bool>(r) == (limit == 0 || values <= limit));
        if (r) FUZZ_CHECK(values == 0 ? !*r : *r && **r == joined);
    }
    return 0;
}
