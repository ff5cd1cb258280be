#include "cleanup/cleanup_message.hpp"

#include "mail/address.hpp"
#include "mail/address_list.hpp"
#include "mail/header.hpp"
#include "mail/record.hpp"

#include <fmt/format.h>

#include <ctime>
#include <set>

namespace kurir::cleanup {

std::string rfc2822_date(long epoch) {
    time_t t = epoch;
    struct tm tm {};
    localtime_r(&t, &tm);
    char buf[64];
    strftime(buf, sizeof buf, "%a, %d %b %Y %H:%M:%S %z (%Z)", &tm);
    return buf;
}

namespace {

Refusal refuse(char status, std::string dsn, std::string text) {
    return Refusal{status, std::move(dsn), std::move(text)};
}

std::string header_value(std::string_view line) {
    size_t colon = line.find(':');
    std::string_view v = line.substr(colon + 1);
    while (!v.empty() && (v.front() == ' ' || v.front() == '\t')) v.remove_prefix(1);
    return std::string(v);
}

}  // namespace

std::expected<CleanupOutput, Refusal> build_queue_file(const mail::Config& cfg, const CleanupInput& in,
                                                       const Canonicalize& canon) {
    using namespace mail;
    std::vector<std::pair<std::string, std::string>> attrs;
    std::string sender;
    bool have_sender = false;
    struct Rcpt {
        std::string original, canonical, orcpt;
        int notify = 0;
    };
    std::vector<Rcpt> rcpts;
    std::string pending_orcpt;
    int pending_notify = 0;
    std::set<std::string> seen;
    std::string pending_orig;

    // Header analysis, then the content records themselves.
    std::vector<std::string> headers;  // logical header lines, unfolded for inspection
    std::string content;
    bool in_headers = true, have_date = false, have_msgid = false, have_from = false;
    std::string message_id;
    int received = 0;
    long size = 0, header_bytes = 0;
    long limit = cfg.integer("message_size_limit");
    bool in_content = false, ended = false;
    std::string part;
    size_t line_start = std::string_view::npos;
    char last_content_type = 0;

    size_t pos = 0;
    RecView r;
    while (!ended) {
        RecStatus st = rec_next(in.stream, pos, r);
        if (st != RecStatus::ok) return std::unexpected(refuse('4', "4.3.0", "malformed record stream"));
        if (!in_content) {
            switch (r.type) {
                case rec::attr:
                    if (r.data.find('=') == r.data.npos)
                        return std::unexpected(refuse('4', "4.3.0", "malformed attribute record"));
                    attrs.emplace_back(r.data.substr(0, r.data.find('=')), r.data.substr(r.data.find('=') + 1));
                    break;
                case rec::sender: {
                    if (have_sender) return std::unexpected(refuse('4', "4.3.0", "duplicate sender"));
                    have_sender = true;
                    auto c = canon(r.data);
                    if (!c) return std::unexpected(refuse('4', "4.3.0", c.error().text));
                    sender = *c;
                    break;
                }
                case rec::orig_rcpt: pending_orig = r.data; break;
                case rec::dsn_orcpt: pending_orcpt = r.data; break;
                case rec::dsn_notify: {
                    auto n = parse_integer(r.data);
                    if (!n || *n < 0 || *n > 15) return std::unexpected(refuse('4', "4.3.0", "malformed DSN record"));
                    pending_notify = static_cast<int>(*n);
                    break;
                }
                case rec::rcpt: {
                    if (r.data.empty()) return std::unexpected(refuse('5', "5.1.3", "empty recipient address"));
                    auto c = canon(r.data);
                    if (!c) return std::unexpected(refuse('4', "4.3.0", c.error().text));
                    if (seen.insert(*c).second)
                        rcpts.push_back({pending_orig.empty() ? std::string(r.data) : pending_orig, *c, pending_orcpt,
                                         pending_notify});
                    pending_orig.clear();
                    pending_orcpt.clear();
                    pending_notify = 0;
                    break;
                }
                case rec::message: in_content = true; break;
                default: return std::unexpected(refuse('4', "4.3.0", fmt::format("unexpected record '{}'", r.type)));
            }
            continue;
        }
        if (r.type == rec::content_end) {
            if (last_content_type == rec::part)
                return std::unexpected(refuse('4', "4.3.0", "malformed record stream: content ends inside a line"));
            ended = true;
            break;
        }
        last_content_type = r.type;
        if (r.type != rec::line && r.type != rec::part)
            return std::unexpected(refuse('4', "4.3.0", fmt::format("unexpected record '{}' in content", r.type)));
        size += static_cast<long>(r.data.size()) + (r.type == rec::line ? 1 : 0);
        if (limit > 0 && size > limit)
            return std::unexpected(refuse('5', "5.3.4", "Message size exceeds fixed limit"));
        if (in_headers) {
            if (part.empty()) line_start = r.offset;
            if (r.type == rec::part) {
                part += r.data;
                continue;
            }
            std::string line = part.empty() ? std::string(r.data) : part + std::string(r.data);
            part.clear();
            header_bytes += static_cast<long>(line.size());
            if (line.empty() || (!is_continuation(line) && header_name(line).empty()) ||
                (is_continuation(line) && headers.empty()) || header_bytes > cfg.integer("header_size_limit")) {
                in_headers = false;
                if (!line.empty()) {  // keep headers and body apart
                    rec_append(content, rec::line, "");
                    size += 1;
                }
            } else {
                if (is_continuation(line))
                    headers.back() += "\n" + line;
                else
                    headers.push_back(line);
                continue;
            }
        }
        if (line_start == std::string_view::npos) line_start = r.offset;
        content.append(in.stream.substr(line_start, pos - line_start));
        line_start = std::string_view::npos;
    }
    if (!have_sender) return std::unexpected(refuse('4', "4.3.0", "no sender"));
    if (!part.empty()) headers.push_back(part);
    auto attr = [&](std::string_view name) -> std::string {
        for (const auto& [n, v] : attrs)
            if (n == name) return v;
        return {};
    };
    bool local_origin = attr("origin") == "local";
    if (attr("extract") == "1") {
        // sendmail -t: recipients from To:, Cc: and Bcc:, added to any given.
        for (const auto& h : headers) {
            if (!header_is(h, "To") && !header_is(h, "Cc") && !header_is(h, "Bcc")) continue;
            for (const auto& a : parse_address_list(header_value(h))) {
                auto c = canon(a);
                if (!c) return std::unexpected(refuse('4', "4.3.0", c.error().text));
                if (seen.insert(*c).second) rcpts.push_back({a, *c, "", 0});
            }
        }
    }
    if (local_origin)  // a local submission's blind copies stay blind
        std::erase_if(headers, [&](const std::string& h) {
            if (!header_is(h, "Bcc")) return false;
            size -= static_cast<long>(h.size()) + 1;
            return true;
        });
    if (rcpts.empty()) return std::unexpected(refuse('5', "5.5.1", "no recipients"));

    for (const auto& h : headers) {
        if (header_is(h, "Date")) have_date = true;
        if (header_is(h, "From")) have_from = true;
        if (header_is(h, "Received")) ++received;
        if (header_is(h, "Message-ID")) {
            have_msgid = true;
            message_id = header_value(h);
        }
    }
    if (received >= cfg.integer("hopcount_limit"))
        return std::unexpected(refuse('5', "5.4.6", "Too many hops"));

    std::string hostname = cfg.str("myhostname");
    std::string date = rfc2822_date(in.now_sec);
    std::vector<std::string> added;
    bool requeued = attr("requeue") == "1";  // kurir-super -r: the headers are complete already
    bool forwarded = attr("origin") == "forward";  // local forwarding an alias or .forward target
    if (!requeued) {
        std::string from_part;
        if (local_origin) {
            from_part = fmt::format("by {} ({}, from userid {})", hostname, cfg.str("mail_name"),
                                    attr("uid").empty() ? "unknown" : attr("uid"));
            added.push_back(fmt::format("Received: {}\n\tid {}; {}", from_part, in.queue_id, date));
        } else if (forwarded) {
            added.push_back(fmt::format("Received: by {} ({}) id {}\n\tfor <{}>; {}", hostname, cfg.str("mail_name"),
                                        in.queue_id, quote_address(rcpts.front().canonical), date));
        } else {
            std::string helo = attr("helo");
            // Postfix names the recipient only when there is one.
            std::string for_part =
                rcpts.size() == 1 ? fmt::format("\n\tfor <{}>", quote_address(rcpts.front().canonical)) : "";
            // Postfix's smtpd_sasl_authenticated_header: off by default, as
            // the user name is then visible to every recipient.
            std::string auth_part = cfg.boolean("smtpd_sasl_authenticated_header") && !attr("sasl_username").empty()
                                        ? fmt::format("\n\t(Authenticated sender: {})", attr("sasl_username"))
                                        : "";
            added.push_back(fmt::format("Received: from {} ({} [{}]){}\n\tby {} ({}) with {} id {}{}; {}",
                                        helo.empty() ? attr("client_name") : helo, attr("client_name"),
                                        attr("client_addr"), auth_part, hostname, cfg.str("mail_name"),
                                        attr("protocol").empty() ? "ESMTP" : attr("protocol"), in.queue_id,
                                        for_part, date));
        }
    }
    if (!have_msgid && !requeued && !forwarded) {
        char stamp[32];
        time_t t = in.now_sec;
        struct tm tm {};
        gmtime_r(&t, &tm);
        strftime(stamp, sizeof stamp, "%Y%m%d%H%M%S", &tm);
        message_id = fmt::format("<{}.{}@{}>", stamp, in.queue_id, hostname);
        added.push_back("Message-ID: " + message_id);
    }
    if (!have_date && !requeued && !forwarded) added.push_back("Date: " + date);
    if (!have_from && local_origin && !requeued) {
        std::string fullname = attr("fullname");
        std::erase_if(fullname, [](char c) { return c == '"' || c == '\\' || c == '\r' || c == '\n'; });
        added.push_back(fullname.empty() ? "From: " + quote_address(sender)
                                         : fmt::format("From: \"{}\" <{}>", fullname, quote_address(sender)));
    }
    if (local_origin && !attr("auth_warning").empty())
        added.push_back(fmt::format("X-Authentication-Warning: {}: {}", hostname, attr("auth_warning")));

    std::string out;
    out.reserve(content.size() + 1024);
    rec_append(out, rec::version, "1");
    rec_append(out, rec::time, fmt::format("{} {}", in.now_sec, in.now_usec));
    // Size counts the headers cleanup adds, as the mailbox will hold them.
    long total = size;
    for (const auto& h : added) total += static_cast<long>(h.size()) + 1;
    rec_append(out, rec::size, std::to_string(total));
    rec_append(out, rec::sender, sender);
    for (const auto& [n, v] : attrs) rec_append(out, rec::attr, n + "=" + v);
    for (const auto& rc : rcpts) {
        if (rc.original != rc.canonical) rec_append(out, rec::orig_rcpt, rc.original);
        if (rc.notify != 0) rec_append(out, rec::dsn_notify, std::to_string(rc.notify));
        if (!rc.orcpt.empty()) rec_append(out, rec::dsn_orcpt, rc.orcpt);
        rec_append(out, rec::rcpt, rc.canonical);
    }
    rec_append(out, rec::message, "");
    auto add_lines = [&](std::string_view text) {
        size_t p = 0;
        for (;;) {
            size_t nl = text.find('\n', p);
            rec_append_line(out, text.substr(p, nl == text.npos ? text.npos : nl - p));
            if (nl == text.npos) break;
            p = nl + 1;
        }
    };
    // Received goes first (it is a trace header); the others follow the
    // client's headers, as Postfix places them.
    size_t trace = requeued ? 0 : 1;
    for (size_t i = 0; i < trace; ++i) add_lines(added[i]);
    for (const auto& h : headers) add_lines(h);
    for (size_t i = trace; i < added.size(); ++i) add_lines(added[i]);
    out += content;
    rec_append(out, rec::content_end, "");
    rec_append(out, rec::end, "");

    CleanupOutput result;
    result.file = std::move(out);
    result.message_id = message_id;
    result.sender = sender;
    result.recipients = rcpts.size();
    result.size = total;
    return result;
}

}  // namespace kurir::cleanup
