#include "mail/smtp_reply.hpp"

#include "mail/address.hpp"

#include <charconv>

namespace kurir::mail {

namespace {

bool digit(char c) { return c >= '0' && c <= '9'; }

// "d.ddd.ddd" with the class matching the reply code.
std::string enhanced_prefix(std::string_view text, int code) {
    size_t i = 0;
    auto number = [&](size_t max_digits) {
        size_t start = i;
        while (i < text.size() && digit(text[i]) && i - start < max_digits) ++i;
        return i > start;
    };
    if (!number(1) || i >= text.size() || text[i] != '.') return {};
    ++i;
    if (!number(3) || i >= text.size() || text[i] != '.') return {};
    ++i;
    if (!number(3)) return {};
    if (i < text.size() && text[i] != ' ') return {};
    if (text[0] - '0' != code / 100) return {};
    return std::string(text.substr(0, i));
}

}  // namespace

std::string SmtpReply::text() const {
    std::string out = std::to_string(code);
    for (const auto& line : lines) {
        out += ' ';
        for (char c : line) out += (static_cast<unsigned char>(c) < 0x20 || c == 0x7f) ? '?' : c;
    }
    return out;
}

util::Result<std::optional<SmtpReply>> parse_smtp_reply(std::string_view buf, size_t& consumed) {
    SmtpReply reply;
    size_t pos = 0;
    for (;;) {
        size_t nl = buf.find('\n', pos);
        if (nl == std::string_view::npos) {
            if (buf.size() - pos > kMaxReplyLine) return util::fail("reply line too long");
            return std::nullopt;
        }
        std::string_view line = buf.substr(pos, nl - pos);
        if (line.ends_with('\r')) line.remove_suffix(1);
        if (line.size() > kMaxReplyLine) return util::fail("reply line too long");
        if (line.size() < 3 || !digit(line[0]) || !digit(line[1]) || !digit(line[2]) || line[0] < '2' ||
            line[0] > '5')
            return util::fail("malformed reply line");
        if (line.size() > 3 && line[3] != '-' && line[3] != ' ') return util::fail("malformed reply line");
        int code = 0;
        std::from_chars(line.data(), line.data() + 3, code);
        if (reply.code != 0 && code != reply.code) return util::fail("reply code changes within a reply");
        reply.code = code;
        if (reply.lines.size() >= kMaxReplyLines) return util::fail("reply has too many lines");
        reply.lines.emplace_back(line.size() > 4 ? line.substr(4) : std::string_view());
        pos = nl + 1;
        if (line.size() == 3 || line[3] == ' ') break;
    }
    consumed = pos;
    reply.enhanced = enhanced_prefix(reply.lines.front(), reply.code);
    if (reply.enhanced.empty()) reply.enhanced = std::to_string(reply.code / 100) + ".0.0";
    return reply;
}

EhloFeatures parse_ehlo_features(const SmtpReply& reply) {
    EhloFeatures f;
    for (size_t i = 1; i < reply.lines.size(); ++i) {
        std::string line = lowercase(reply.lines[i]);
        std::string_view keyword(line);
        keyword = keyword.substr(0, keyword.find(' '));
        if (keyword == "pipelining") f.pipelining = true;
        else if (keyword == "starttls") f.starttls = true;
        else if (keyword == "8bitmime") f.eightbitmime = true;
        else if (keyword == "dsn") f.dsn = true;
        else if (keyword == "smtputf8") f.smtputf8 = true;
        else if (keyword == "auth" || keyword.starts_with("auth=")) {
            // Old servers say "AUTH=LOGIN PLAIN"; Postfix's client reads both.
            f.auth = true;
            // A bare "AUTH" has no mechanisms (and no fifth character).
            std::string_view words = line.size() > 5 ? std::string_view(line).substr(5) : std::string_view();
            if (!f.auth_mechanisms.empty() && !words.empty()) f.auth_mechanisms += ' ';
            f.auth_mechanisms.append(words);
        }
        else if (keyword == "size") {
            f.has_size = true;
            std::string_view arg = std::string_view(line).substr(keyword.size());
            while (arg.starts_with(' ')) arg.remove_prefix(1);
            long n = 0;
            auto [end, ec] = std::from_chars(arg.data(), arg.data() + arg.size(), n);
            if (ec == std::errc() && n > 0) f.size_limit = n;
        }
    }
    return f;
}

}  // namespace kurir::mail
