#include "mail/srs_address.hpp"

#include <initializer_list>
#include <vector>

namespace kurir::mail::srs {
namespace {

constexpr std::string_view kStampChars = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";

bool tagged(std::string_view local, char digit) {
    if (local.size() < 5) return false;
    bool tag = (local[0] == 'S' || local[0] == 's') && (local[1] == 'R' || local[1] == 'r') &&
               (local[2] == 'S' || local[2] == 's') && local[3] == digit;
    return tag && (local[4] == '=' || local[4] == '-' || local[4] == '+');
}

// Takes the fields of an SRS local part after its tag: each of names but
// the last ends at the next "=", the last is the rest. An empty or absent
// field is named in the error ("No host in SRS0 address").
util::Result<std::vector<std::string>> fields(std::string_view rest, std::initializer_list<const char*> names,
                                              std::string_view tag) {
    std::vector<std::string> out;
    size_t i = 0;
    for (const char* name : names) {
        bool last = ++i == names.size();
        size_t eq = last ? std::string_view::npos : rest.find('=');
        std::string_view field = rest.substr(0, eq);
        if (field.empty()) return util::fail(std::string("No ") + name + " in " + std::string(tag) + " address");
        out.emplace_back(field);
        rest = eq == std::string_view::npos ? std::string_view() : rest.substr(eq + 1);
    }
    return out;
}

}  // namespace

bool is_srs0(std::string_view local) { return tagged(local, '0'); }
bool is_srs1(std::string_view local) { return tagged(local, '1'); }

util::Result<Parsed> parse_local(std::string_view local) {
    if (is_srs1(local)) {
        auto f = fields(local.substr(5), {"hash", "host", "user"}, "SRS1");
        if (!f) return std::unexpected(f.error());
        return Srs1{(*f)[0], (*f)[1], (*f)[2]};
    }
    if (is_srs0(local)) {
        auto f = fields(local.substr(5), {"hash", "timestamp", "host", "user"}, "SRS0");
        if (!f) return std::unexpected(f.error());
        return Srs0{(*f)[0], (*f)[1], (*f)[2], (*f)[3]};
    }
    return util::fail("Not an SRS address");
}

std::string timestamp(long unix_seconds) {
    long day = unix_seconds / kDaySeconds;
    std::string out(2, 'A');
    out[1] = kStampChars[static_cast<size_t>(day & 31)];
    out[0] = kStampChars[static_cast<size_t>((day >> 5) & 31)];
    return out;
}

int decode_timestamp(std::string_view stamp) {
    if (stamp.size() != 2) return -1;
    int value = 0;
    for (char c : stamp) {
        char upper = (c >= 'a' && c <= 'z') ? static_cast<char>(c - 'a' + 'A') : c;
        size_t at = kStampChars.find(upper);
        if (at == std::string_view::npos) return -1;
        value = (value << 5) | static_cast<int>(at);
    }
    return value;
}

bool timestamp_fresh(std::string_view stamp, long now, int max_age_days) {
    int then = decode_timestamp(stamp);
    if (then < 0) return false;
    long today = (now / kDaySeconds) % kStampSlots;
    while (today < then) today += kStampSlots;
    return today <= then + max_age_days;
}

}  // namespace kurir::mail::srs
