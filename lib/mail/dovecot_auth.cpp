#include "mail/dovecot_auth.hpp"

#include <fmt/format.h>

#include <charconv>
#include <cctype>

namespace kurir::mail {

std::string dovecot_escape(std::string_view field) {
    std::string out;
    out.reserve(field.size());
    for (char c : field) {
        switch (c) {
            case '\0': out += "\0010"; break;
            case '\001': out += "\0011"; break;
            case '\t': out += "\001t"; break;
            case '\r': out += "\001r"; break;
            case '\n': out += "\001n"; break;
            default: out += c;
        }
    }
    return out;
}

util::Result<std::string> dovecot_unescape(std::string_view field) {
    std::string out;
    out.reserve(field.size());
    for (size_t i = 0; i < field.size(); ++i) {
        if (field[i] != '\001') {
            out += field[i];
            continue;
        }
        if (++i == field.size()) return util::fail("dovecot auth: escape character at end of field");
        switch (field[i]) {
            case '0': out += '\0'; break;
            case '1': out += '\001'; break;
            case 't': out += '\t'; break;
            case 'r': out += '\r'; break;
            case 'n':
            case 'l': out += '\n'; break;
            default: out += field[i];  // as Dovecot: the character itself
        }
    }
    return out;
}

util::Result<std::vector<std::string>> dovecot_split(std::string_view line) {
    if (line.size() > kMaxDovecotLine) return util::fail("dovecot auth: line too long");
    if (line.find('\n') != std::string_view::npos) return util::fail("dovecot auth: LF inside a line");
    std::vector<std::string> fields;
    for (size_t start = 0;;) {
        size_t tab = line.find('\t', start);
        auto f = dovecot_unescape(line.substr(start, tab == std::string_view::npos ? tab : tab - start));
        if (!f) return std::unexpected(f.error());
        fields.push_back(std::move(*f));
        if (tab == std::string_view::npos) break;
        start = tab + 1;
    }
    return fields;
}

namespace {
bool parse_number(std::string_view s, unsigned long& out) {
    if (s.empty() || s.size() > 19) return false;
    auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), out);
    return ec == std::errc() && p == s.data() + s.size();
}

std::string upper(std::string_view s) {
    std::string out(s);
    for (char& c : out) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
    return out;
}
}  // namespace

util::Result<void> DovecotHandshake::feed(std::string_view line) {
    if (done_) return util::fail("dovecot auth: handshake line after DONE");
    auto f = dovecot_split(line);
    if (!f) return std::unexpected(f.error());
    const std::string& cmd = (*f)[0];
    if (cmd == "VERSION") {
        unsigned long major = 0;
        if (f->size() < 3 || !parse_number((*f)[1], major)) return util::fail("dovecot auth: malformed VERSION line");
        if (major != 1) return util::fail(fmt::format("dovecot auth: protocol version {} not supported", major));
        version_ = true;
        return {};
    }
    if (!version_) return util::fail("dovecot auth: handshake does not start with VERSION");
    if (cmd == "MECH") {
        if (f->size() < 2 || (*f)[1].empty()) return util::fail("dovecot auth: malformed MECH line");
        mechanisms_.insert(upper((*f)[1]));
    } else if (cmd == "DONE") {
        done_ = true;
    }
    // SPID, CUID, COOKIE and anything newer: a client has no use for them.
    return {};
}

std::string dovecot_client_hello(long pid) { return fmt::format("VERSION\t1\t1\nCPID\t{}\n", pid); }

std::string format_dovecot_auth(const DovecotAuthRequest& r) {
    std::string line = fmt::format("AUTH\t{}\t{}\tservice={}\tnologin", r.id, dovecot_escape(r.mechanism),
                                   dovecot_escape(r.service));
    if (!r.local_addr.empty()) line += "\tlip=" + dovecot_escape(r.local_addr);
    if (!r.remote_addr.empty()) line += "\trip=" + dovecot_escape(r.remote_addr);
    if (r.secured) line += "\tsecured";
    if (r.initial) line += "\tresp=" + dovecot_escape(*r.initial);
    return line + "\n";
}

std::string format_dovecot_cont(unsigned long id, std::string_view base64) {
    return fmt::format("CONT\t{}\t{}\n", id, dovecot_escape(base64));
}

util::Result<DovecotReply> parse_dovecot_reply(std::string_view line) {
    auto f = dovecot_split(line);
    if (!f) return std::unexpected(f.error());
    DovecotReply r;
    const std::string& cmd = (*f)[0];
    if (cmd == "OK")
        r.kind = DovecotReply::Kind::ok;
    else if (cmd == "FAIL")
        r.kind = DovecotReply::Kind::fail;
    else if (cmd == "CONT")
        r.kind = DovecotReply::Kind::cont;
    else
        return util::fail(fmt::format("dovecot auth: unexpected reply \"{}\"", cmd.substr(0, 40)));
    if (f->size() < 2 || !parse_number((*f)[1], r.id)) return util::fail("dovecot auth: " + cmd + " without a request id");
    if (r.kind == DovecotReply::Kind::cont) {
        if (f->size() < 3) return util::fail("dovecot auth: CONT without data");
        r.challenge = (*f)[2];
        return r;
    }
    for (size_t i = 2; i < f->size(); ++i) {
        std::string_view p = (*f)[i];
        if (p.starts_with("user="))
            r.user = p.substr(5);
        else if (p.starts_with("reason="))
            r.reason = p.substr(7);
        else if (p == "temp")
            r.temporary = true;
    }
    if (r.kind == DovecotReply::Kind::ok && r.user.empty()) return util::fail("dovecot auth: OK without user=");
    return r;
}

}  // namespace kurir::mail
