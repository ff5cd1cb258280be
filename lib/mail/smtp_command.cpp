#include "mail/smtp_command.hpp"

#include "mail/address.hpp"

#include <cctype>
#include <array>

namespace kurir::mail {

SmtpCommand parse_smtp_command(std::string_view line) {
    static constexpr std::array<std::pair<std::string_view, SmtpVerb>, 14> kVerbs{{
        {"HELO", SmtpVerb::helo}, {"EHLO", SmtpVerb::ehlo}, {"MAIL", SmtpVerb::mail},
        {"RCPT", SmtpVerb::rcpt}, {"DATA", SmtpVerb::data}, {"RSET", SmtpVerb::rset},
        {"NOOP", SmtpVerb::noop}, {"QUIT", SmtpVerb::quit}, {"VRFY", SmtpVerb::vrfy},
        {"HELP", SmtpVerb::help}, {"EXPN", SmtpVerb::expn}, {"STARTTLS", SmtpVerb::starttls},
        {"AUTH", SmtpVerb::auth}, {"BDAT", SmtpVerb::bdat},
    }};
    while (!line.empty() && (line.back() == ' ' || line.back() == '\t')) line.remove_suffix(1);
    size_t sp = line.find(' ');
    std::string verb = lowercase(line.substr(0, sp));
    SmtpCommand cmd;
    for (auto& [name, v] : kVerbs)
        if (lowercase(name) == verb) cmd.verb = v;
    if (sp != std::string_view::npos) cmd.arg = std::string(line.substr(sp + 1));
    return cmd;
}

util::Result<MailArgs> parse_mail_args(std::string_view arg, std::string_view keyword) {
    if (arg.size() < keyword.size() || lowercase(arg.substr(0, keyword.size())) != lowercase(keyword))
        return util::fail("Syntax: expected " + std::string(keyword) + "<address>");
    arg.remove_prefix(keyword.size());
    auto path = parse_path(arg);
    if (!path) return std::unexpected(path.error());
    MailArgs out;
    out.address = std::move(path->address);
    std::string_view rest = path->rest;
    while (!rest.empty()) {
        size_t sp = rest.find(' ');
        std::string_view word = rest.substr(0, sp);
        rest = sp == rest.npos ? std::string_view() : rest.substr(sp + 1);
        if (word.empty()) continue;
        size_t eq = word.find('=');
        std::string name(word.substr(0, eq));
        for (char& c : name) c = static_cast<char>(toupper(static_cast<unsigned char>(c)));
        if (name.empty()) return util::fail("bad parameter syntax");
        for (char c : name)
            if (!(isalnum(static_cast<unsigned char>(c)) || c == '-'))
                return util::fail("bad parameter name");
        std::string value = eq == word.npos ? "" : std::string(word.substr(eq + 1));
        for (char c : value)
            if (static_cast<unsigned char>(c) < 0x21 || static_cast<unsigned char>(c) > 0x7e)
                return util::fail("bad parameter value");
        out.params.emplace_back(std::move(name), std::move(value));
    }
    return out;
}

void DataReader::emit_parts(const Sink& sink, bool line_complete) {
    // Until the line's LF has come, a trailing CR stays back: it may be the
    // first half of the line's CRLF.
    auto body = [&] {
        return pending_.size() - (!line_complete && !pending_.empty() && pending_.back() == '\r' ? 1 : 0);
    };
    while (body() > max_line_) {
        if (!unstuffed_ && !mid_line_ && pending_.front() == '.') {
            pending_.erase(0, 1);  // longer than ".": not the end of data
            unstuffed_ = true;
            continue;
        }
        sink(Kind::part, std::string_view(pending_).substr(0, max_line_));
        pending_.erase(0, max_line_);
        mid_line_ = true;
    }
}

size_t DataReader::feed(std::string_view buf, const Sink& sink) {
    // The same events come out however the bytes are split between calls.
    size_t consumed = 0;
    while (!ended_ && consumed < buf.size()) {
        std::string_view rest = buf.substr(consumed);
        size_t nl = rest.find('\n');
        pending_.append(rest.substr(0, nl == std::string_view::npos ? rest.size() : nl));
        if (nl == std::string_view::npos) {
            consumed = buf.size();
            emit_parts(sink, false);
            break;
        }
        consumed += nl + 1;
        bool crlf = !pending_.empty() && pending_.back() == '\r';
        if (crlf) pending_.pop_back();
        if (!crlf) ++bare_newlines_;
        if (!mid_line_ && !unstuffed_ && crlf && after_crlf_ && pending_ == ".") {
            ended_ = true;
            sink(Kind::end, {});
        } else {
            emit_parts(sink, true);
            std::string_view line = pending_;
            if (!mid_line_ && !unstuffed_ && !line.empty() && line.front() == '.') line.remove_prefix(1);
            sink(Kind::line, line);
        }
        pending_.clear();
        mid_line_ = false;
        unstuffed_ = false;
        after_crlf_ = crlf;
    }
    return consumed;
}

}  // namespace kurir::mail
