#include "mail/queue_file.hpp"

#include "mail/config.hpp"
#include "util/fs.hpp"

#include <fmt/format.h>
#include <unistd.h>

#include <cerrno>

namespace kurir::mail {

std::string QueueEnvelope::attr(std::string_view name) const {
    for (const auto& [n, v] : attrs)
        if (n == name) return v;
    return {};
}

util::Result<QueueEnvelope> parse_queue_file(std::string_view bytes, RecipientsRequired need) {
    QueueEnvelope env;
    enum class Seg { envelope, content, after, done } seg = Seg::envelope;
    size_t pos = 0;
    bool have_version = false, have_time = false, have_sender = false;
    std::string pending_original;
    std::string pending_orcpt;
    int pending_notify = 0;
    bool in_part = false;
    RecView r;
    auto bad = [&](const std::string& what) {
        return util::fail(fmt::format("queue file: {} at offset {}", what, r.offset));
    };
    bool ended = false;
    while (seg != Seg::done) {
        RecStatus st = rec_next(bytes, pos, r);
        // Records appended after the first end record (defer reasons, each
        // batch closed by its own E) are optional: a torn tail is ignored.
        if (ended && st != RecStatus::ok) break;
        if (st == RecStatus::need_more) return util::fail("queue file: truncated (no end record)");
        if (st == RecStatus::bad) return util::fail(fmt::format("queue file: garbled record at offset {}", pos));
        switch (seg) {
            case Seg::envelope:
                switch (r.type) {
                    case rec::version:
                        if (r.data != "1") return bad("unsupported version");
                        have_version = true;
                        break;
                    case rec::time: {
                        auto sp = r.data.find(' ');
                        auto s = parse_integer(r.data.substr(0, sp));
                        auto u = sp == r.data.npos ? util::Result<long>(0) : parse_integer(r.data.substr(sp + 1));
                        if (!s || !u) return bad("bad arrival time");
                        env.arrival_sec = *s;
                        env.arrival_usec = *u;
                        have_time = true;
                        break;
                    }
                    case rec::size: {
                        auto n = parse_integer(r.data);
                        if (!n || *n < 0) return bad("bad size");
                        env.content_size = *n;
                        break;
                    }
                    case rec::sender:
                        if (have_sender) return bad("second sender");
                        env.sender = r.data;
                        have_sender = true;
                        break;
                    case rec::attr: {
                        auto eq = r.data.find('=');
                        if (eq == r.data.npos) return bad("attribute without '='");
                        env.attrs.emplace_back(r.data.substr(0, eq), r.data.substr(eq + 1));
                        break;
                    }
                    case rec::orig_rcpt: pending_original = r.data; break;
                    case rec::dsn_orcpt: pending_orcpt = r.data; break;
                    case rec::dsn_notify: {
                        auto n = parse_integer(r.data);
                        if (!n || *n < 0 || *n > 15) return bad("bad DSN notify record");
                        pending_notify = static_cast<int>(*n);
                        break;
                    }
                    case rec::rcpt:
                    case rec::done:
                        if (r.data.empty()) return bad("empty recipient");
                        env.recipients.push_back({std::string(r.data),
                                                  pending_original == r.data ? "" : pending_original,
                                                  r.offset, r.type == rec::done, {}, pending_notify,
                                                  pending_orcpt});
                        pending_original.clear();
                        pending_orcpt.clear();
                        pending_notify = 0;
                        break;
                    case rec::defer: {
                        auto sp = r.data.find(' ');
                        auto off = parse_integer(r.data.substr(0, sp));
                        if (!off) return bad("bad defer record");
                        for (auto& rc : env.recipients)
                            if (rc.offset == static_cast<size_t>(*off))
                                rc.defer_reason = sp == r.data.npos ? "" : r.data.substr(sp + 1);
                        break;
                    }
                    case rec::message:
                        if (!have_version || !have_time || !have_sender)
                            return bad("envelope lacks version, time or sender");
                        env.content_offset = pos;
                        seg = Seg::content;
                        break;
                    default: return bad(fmt::format("record type '{}' in envelope", r.type));
                }
                break;
            case Seg::content:
                if (r.type == rec::line) {
                    in_part = false;
                } else if (r.type == rec::part) {
                    in_part = true;
                } else if (r.type == rec::content_end) {
                    if (in_part) return bad("content ends inside a line");
                    env.content_end = r.offset;
                    seg = Seg::after;
                } else {
                    return bad(fmt::format("record type '{}' in content", r.type));
                }
                break;
            case Seg::after:
                // Defer records may follow the content: they are appended later.
                if (r.type == rec::defer) {
                    auto sp = r.data.find(' ');
                    auto off = parse_integer(r.data.substr(0, sp));
                    if (!off) return bad("bad defer record");
                    for (auto& rc : env.recipients)
                        if (rc.offset == static_cast<size_t>(*off))
                            rc.defer_reason = sp == r.data.npos ? "" : r.data.substr(sp + 1);
                } else if (r.type == rec::attr) {
                    auto eq = r.data.find('=');
                    if (eq == r.data.npos) return bad("attribute without '='");
                    env.attrs.emplace_back(r.data.substr(0, eq), r.data.substr(eq + 1));
                } else if (r.type == rec::prepend && !ended) {
                    if (!is_prepend_field(r.data)) return bad("malformed prepended header");
                    env.prepended.emplace_back(r.data);
                } else if (r.type == rec::end) {
                    ended = true;
                    if (pos == bytes.size()) seg = Seg::done;
                } else if (ended) {
                    seg = Seg::done;
                } else {
                    return bad(fmt::format("record type '{}' after content", r.type));
                }
                break;
            case Seg::done: break;
        }
    }
    if (env.recipients.empty() && need == RecipientsRequired::yes) return util::fail("queue file: no recipients");
    return env;
}

util::Result<void> for_each_content_line(std::string_view bytes, const QueueEnvelope& env,
                                         const std::function<void(std::string_view)>& line) {
    for (const auto& field : env.prepended) for_each_field_line(field, line);
    size_t pos = env.content_offset;
    std::string joined;
    RecView r;
    while (pos < env.content_end) {
        if (rec_next(bytes, pos, r) != RecStatus::ok) return util::fail("queue file: garbled content");
        if (r.type == rec::part) {
            joined += r.data;
        } else if (joined.empty()) {
            line(r.data);
        } else {
            joined += r.data;
            line(joined);
            joined.clear();
        }
    }
    return {};
}

util::Result<void> mark_recipient_done(int fd, size_t offset) {
    char d = rec::done;
    for (;;) {
        ssize_t n = ::pwrite(fd, &d, 1, static_cast<off_t>(offset));
        if (n == 1) return {};
        if (n < 0 && errno == EINTR) continue;
        return util::fail_errno("mark recipient done");
    }
}

}  // namespace kurir::mail
