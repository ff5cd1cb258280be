#include "cleanup/cleanup_milter_edits.hpp"

#include "cleanup/cleanup_message.hpp"
#include "mail/dsn_params.hpp"
#include "mail/milter_header_edit.hpp"
#include "mail/record.hpp"
#include "util/text.hpp"

#include <fmt/format.h>

namespace kurir::cleanup {

bool non_smtpd_milters_apply(const mail::Config& cfg, std::string_view origin) {
    return !cfg.list("non_smtpd_milters").empty() && (origin == "local" || origin == "forward");
}


namespace {

using mail::MilterEdit;
namespace rec = mail::rec;

std::string strip_brackets(std::string_view a) {
    if (a.size() >= 2 && a.front() == '<' && a.back() == '>') a = a.substr(1, a.size() - 2);
    return std::string(a);
}

// "NOTIFY=SUCCESS,FAILURE ORCPT=rfc822;a@b" -> the records' values.
void dsn_from_params(std::string_view params, int& notify, std::string& orcpt) {
    while (!params.empty()) {
        size_t sp = params.find(' ');
        std::string_view p = params.substr(0, sp);
        params.remove_prefix(sp == std::string_view::npos ? params.size() : sp + 1);
        size_t eq = p.find('=');
        if (eq == std::string_view::npos) continue;
        std::string name = util::lowercase(p.substr(0, eq));
        if (name == "notify") {
            if (auto n = mail::parse_notify(p.substr(eq + 1))) notify = *n;
        } else if (name == "orcpt") {
            if (auto o = mail::parse_orcpt(p.substr(eq + 1))) orcpt = *o;
        }
    }
}

}  // namespace

util::Result<EditedFile> edit_queue_file(std::string_view file, const std::vector<MilterEdit>& edits,
                                         size_t max_piece) {
    EditedFile out;
    // The file's records in four parts: the envelope (to M), the header
    // fields (structured: the edits index them), the body (the file's own
    // records, never a string per line: a line costs what it does on disk)
    // and what follows (X, P, E).
    std::vector<mail::RecView> envelope;
    std::vector<mail::milter::HeaderField> fields;
    std::string_view body, tail;
    size_t pos = 0, body_start = std::string_view::npos, line_start = 0;
    enum class Part { envelope, header, body } part = Part::envelope;
    bool open = false, has_separator = false;
    long old_size = 0, old_content = 0, body_content = 0;
    std::string line;
    while (pos < file.size()) {
        mail::RecView r;
        size_t at = pos;
        if (mail::rec_next(file, pos, r) != mail::RecStatus::ok) return util::fail("malformed queue file");
        if (part == Part::envelope) {
            envelope.push_back(r);
            if (r.type == rec::size) old_size = std::strtol(std::string(r.data).c_str(), nullptr, 10);
            if (r.type == rec::message) part = Part::header;
            continue;
        }
        if (r.type == rec::content_end) {
            if (body_start != std::string_view::npos) body = file.substr(body_start, at - body_start);
            tail = file.substr(at);
            break;
        }
        if (r.type != rec::line && r.type != rec::part) return util::fail("malformed queue file content");
        long bytes = static_cast<long>(r.data.size()) + (r.type == rec::line ? 1 : 0);
        old_content += bytes;
        if (part == Part::body) {
            body_content += bytes;
            continue;
        }
        if (!open) {
            line_start = at;
            line.clear();
        }
        line += r.data;
        open = r.type == rec::part;
        if (open) continue;
        if (line.empty()) {  // the separator: the body follows it
            has_separator = true;
            part = Part::body;
            body_start = pos;
        } else if ((line[0] == ' ' || line[0] == '\t') && !fields.empty()) {
            fields.back().rest += '\n';
            fields.back().rest += line;
        } else if (line.find(':') == std::string::npos) {  // a body without a separator
            part = Part::body;
            body_start = line_start;
            body_content += static_cast<long>(line.size()) + 1;
        } else {
            fields.push_back(mail::milter::header_field_of(line));
        }
    }
    if (tail.empty()) return util::fail("queue file without its content end");
    // At Postfix's positions (mail/milter_header_edit.hpp): cleanup's own
    // Received: is the first field.
    if (!fields.empty()) fields.front().unseen = true;
    std::string new_body;
    bool replace_body = false;
    std::string sender;
    bool change_sender = false;
    std::vector<std::tuple<std::string, int, std::string>> added;  // address, notify, orcpt
    std::vector<std::string> deleted;
    for (const auto& e : edits) {
        switch (e.op) {
        case 'h':
        case 'i':
        case 'm': mail::milter::apply_header_edit(fields, e); break;
        case 'b':
            replace_body = true;
            new_body += e.first;
            break;
        case '+': {
            int notify = 0;
            std::string orcpt;
            dsn_from_params(e.second, notify, orcpt);
            if (strip_brackets(e.first).empty()) break;  // no recipient to add
            added.emplace_back(strip_brackets(e.first), notify, orcpt);
            break;
        }
        case '-': deleted.push_back(util::lowercase(strip_brackets(e.first))); break;
        case 'e':
            sender = strip_brackets(e.first);
            change_sender = true;
            break;
        case 'q':
            out.quarantine = true;
            out.reason = e.first;
            break;
        default: return util::fail(fmt::format("milter edit '{}': unknown", e.op));
        }
    }
    // The content again: the fields, then the body as it was (its
    // records copied) or the milter's.
    std::string head, replaced;
    long new_content = 0;
    auto put = [&](std::string& to, std::string_view l) {
        mail::rec_append_line(to, l, max_piece);
        new_content += static_cast<long>(l.size()) + 1;
    };
    for (const auto& f : fields) mail::for_each_field_line(f.text(), [&](std::string_view l) { put(head, l); });
    if (replace_body) {
        std::string_view rest = new_body;
        std::string masked;
        while (!rest.empty()) {
            size_t nl = rest.find('\n');
            std::string_view l = rest.substr(0, nl);
            if (l.ends_with('\r')) l.remove_suffix(1);
            // As every content line (cleanup_replace_stray_cr_lf,
            // message_strip_characters' NUL): a CR left inside a line
            // becomes a space, so no "<CR>.<CR>" reaches a next hop.
            masked.clear();
            for (char c : l)
                if (c != '\0') masked += c == '\r' ? ' ' : c;
            put(replaced, masked);
            rest.remove_prefix(nl == std::string_view::npos ? rest.size() : nl + 1);
        }
        if (has_separator || !replaced.empty()) put(head, "");
    } else {
        if (has_separator || !body.empty()) put(head, "");
        new_content += body_content;
    }

    // The envelope again: the sender, the recipients, the size.
    std::string env;
    std::vector<mail::RecView> pending;  // O, Q, U before their R
    auto deleted_address = [&](std::string_view a) {
        std::string lower = util::lowercase(a);
        for (const auto& d : deleted)
            if (d == lower) return true;
        return false;
    };
    bool added_done = false;
    auto add_recipients = [&] {
        if (added_done) return;
        added_done = true;
        for (const auto& [address, notify, orcpt] : added) {
            if (notify != 0) mail::rec_append(env, rec::dsn_notify, std::to_string(notify));
            if (!orcpt.empty()) mail::rec_append(env, rec::dsn_orcpt, orcpt);
            mail::rec_append(env, rec::rcpt, address);
            ++out.recipients;
        }
    };
    for (const auto& r : envelope) {
        switch (r.type) {
        case rec::orig_rcpt:
        case rec::dsn_notify:
        case rec::dsn_orcpt: pending.push_back(r); continue;
        case rec::rcpt:
        case rec::done: {
            bool drop = deleted_address(r.data);
            for (const auto& p : pending)
                if (p.type == rec::orig_rcpt && deleted_address(p.data)) drop = true;
            if (!drop) {
                for (const auto& p : pending) mail::rec_append(env, p.type, p.data);
                mail::rec_append(env, r.type, r.data);
                if (r.type == rec::rcpt) ++out.recipients;
            }
            pending.clear();
            continue;
        }
        case rec::sender: mail::rec_append(env, rec::sender, change_sender ? std::string_view(sender) : r.data); continue;
        case rec::size: {
            std::string digits = std::to_string(old_size - old_content + new_content);
            if (digits.size() < r.data.size()) digits.insert(0, r.data.size() - digits.size(), '0');
            mail::rec_append(env, rec::size, digits);
            continue;
        }
        case rec::message:
            add_recipients();
            mail::rec_append(env, rec::message, r.data);
            continue;
        default:
            for (const auto& p : pending) mail::rec_append(env, p.type, p.data);
            pending.clear();
            mail::rec_append(env, r.type, r.data);
        }
    }
    std::string_view new_body_records = replace_body ? std::string_view(replaced) : body;
    out.bytes.reserve(env.size() + head.size() + new_body_records.size() + tail.size());
    out.bytes += env;
    out.bytes += head;
    out.bytes += new_body_records;
    out.bytes += tail;
    return out;
}

}  // namespace kurir::cleanup

namespace kurir::cleanup {

// An F record: decoded now (a malformed one fails the stream), applied once
// the file is complete.
std::expected<void, Refusal> MessageBuilder::take_milter_edit(std::string_view data) {
    if (last_content_type_ == mail::rec::part || !mail::decode_milter_edit(data))
        return std::unexpected(Refusal{'4', "4.3.0", "malformed record stream: bad milter edit", false});
    milter_edit_bytes_ += data.size();
    if (milter_edit_bytes_ > mail::kMaxRecord)
        return std::unexpected(Refusal{'4', "4.3.0", "malformed record stream: milter edits too long", false});
    summary_.milter_edits.emplace_back(data);
    return {};
}

}  // namespace kurir::cleanup
