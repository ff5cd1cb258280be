#include "mail/dsn_params.hpp"

#include "mail/address.hpp"

#include <cctype>

namespace kurir::mail {

namespace {
int hex(char c) {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;  // RFC 3461: upper-case hex only
}
bool xchar(unsigned char c) { return c >= 33 && c <= 126 && c != '+' && c != '='; }
bool printable(std::string_view s) {
    for (char c : s)
        if (static_cast<unsigned char>(c) < 0x20 || static_cast<unsigned char>(c) > 0x7e) return false;
    return true;
}
}  // namespace

util::Result<std::string> decode_xtext(std::string_view text) {
    std::string out;
    for (size_t i = 0; i < text.size(); ++i) {
        auto c = static_cast<unsigned char>(text[i]);
        if (c == '+') {
            if (i + 2 >= text.size()) return util::fail("xtext: truncated +XX");
            int hi = hex(text[i + 1]), lo = hex(text[i + 2]);
            if (hi < 0 || lo < 0) return util::fail("xtext: bad +XX");
            out += static_cast<char>(hi * 16 + lo);
            i += 2;
        } else if (xchar(c)) {
            out += static_cast<char>(c);
        } else {
            return util::fail("xtext: bad character");
        }
    }
    return out;
}

std::string encode_xtext(std::string_view text) {
    static constexpr char digits[] = "0123456789ABCDEF";
    std::string out;
    for (char ch : text) {
        auto c = static_cast<unsigned char>(ch);
        if (xchar(c)) {
            out += ch;
        } else {
            out += '+';
            out += digits[c >> 4];
            out += digits[c & 15];
        }
    }
    return out;
}

util::Result<int> parse_notify(std::string_view value) {
    int bits = 0;
    size_t pos = 0;
    while (pos <= value.size()) {
        size_t comma = value.find(',', pos);
        std::string word = lowercase(value.substr(pos, comma == std::string_view::npos ? std::string_view::npos : comma - pos));
        int bit = word == "never" ? notify::never : word == "success" ? notify::success
                : word == "failure" ? notify::failure : word == "delay" ? notify::delay : 0;
        if (bit == 0 || (bits & bit)) return util::fail("bad NOTIFY parameter");
        bits |= bit;
        if (comma == std::string_view::npos) break;
        pos = comma + 1;
    }
    if ((bits & notify::never) && bits != notify::never) return util::fail("NOTIFY=NEVER with other values");
    return bits;
}

std::string format_notify(int bits) {
    if (bits & notify::never) return "NEVER";
    std::string out;
    for (auto [bit, name] : {std::pair{notify::success, "SUCCESS"}, {notify::failure, "FAILURE"}, {notify::delay, "DELAY"}})
        if (bits & bit) out += (out.empty() ? "" : ",") + std::string(name);
    return out;
}

util::Result<std::string> parse_orcpt(std::string_view value) {
    if (value.size() > kMaxOrcpt) return util::fail("ORCPT parameter too long");
    size_t semi = value.find(';');
    if (semi == 0 || semi == std::string_view::npos) return util::fail("bad ORCPT parameter");
    std::string type(value.substr(0, semi));
    for (char c : type)
        if (!std::isalnum(static_cast<unsigned char>(c)) && c != '-') return util::fail("bad ORCPT address type");
    auto addr = decode_xtext(value.substr(semi + 1));
    if (!addr || addr->empty() || !printable(*addr)) return util::fail("bad ORCPT address");
    return type + ";" + *addr;
}

std::string format_orcpt(std::string_view decoded) {
    size_t semi = decoded.find(';');
    if (semi == std::string_view::npos) return "rfc822;" + encode_xtext(decoded);
    return std::string(decoded.substr(0, semi + 1)) + encode_xtext(decoded.substr(semi + 1));
}

util::Result<std::string> parse_ret(std::string_view value) {
    std::string v = lowercase(value);
    if (v == "full") return std::string("FULL");
    if (v == "hdrs") return std::string("HDRS");
    return util::fail("bad RET parameter");
}

util::Result<std::string> parse_envid(std::string_view value) {
    if (value.size() > kMaxEnvid) return util::fail("ENVID parameter too long");
    auto id = decode_xtext(value);
    if (!id || !valid_envid(*id)) return util::fail("bad ENVID parameter");
    return *id;
}

bool valid_envid(std::string_view id) { return !id.empty() && id.size() <= kMaxEnvid && printable(id); }

}  // namespace kurir::mail
