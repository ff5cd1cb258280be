// MessageBuilder's content checks (header_checks, mime_header_checks,
// body_checks), the body path with line_length_limit, and the envelope,
// which waits while body_checks may still REDIRECT or FILTER.
#include "cleanup/cleanup_message.hpp"

#include "mail/header.hpp"
#include "mail/record.hpp"

#include <fmt/format.h>

#include <strings.h>

namespace kurir::cleanup {

// Headers that mime_header_checks inspects (Postfix's HDR_OPT_MIME).
bool is_mime_header(std::string_view h) {
    std::string_view name = mail::header_name(h);
    return (name.size() > 8 && ::strncasecmp(name.data(), "Content-", 8) == 0) ||
           (name.size() == 12 && ::strncasecmp(name.data(), "MIME-Version", 12) == 0);
}

// Every content line goes out through these two, so that a stray CR or LF
// is masked however the line came to be written (as it arrived, stripped of
// message_strip_characters, cut at line_length_limit, or a check's text).
void MessageBuilder::out_line(std::string& to, std::string_view line) {
    if (!mask_cr_lf_ || line.find_first_of("\r\n") == line.npos) return mail::rec_append_line(to, line, line_limit_);
    std::string masked(line);
    mail::mask_stray_cr_lf(masked);
    mail::rec_append_line(to, masked, line_limit_);
}

// raw: the record as it arrived, when data is that record's data unchanged.
void MessageBuilder::out_piece(std::string& to, char type, std::string_view data, std::string_view raw) {
    if (!mask_cr_lf_ || data.find_first_of("\r\n") == data.npos) {
        if (!raw.empty()) return (void)to.append(raw);
        return mail::rec_append(to, type, data);
    }
    std::string masked(data);
    mail::mask_stray_cr_lf(masked);
    mail::rec_append(to, type, masked);
}

std::expected<MessageBuilder::Acted, Refusal> MessageBuilder::act(const CheckLookup& table, std::string_view map_class,
                                                                  bool in_header, std::string_view content) {
    Acted a;
    auto found = table(content);
    if (!found) {
        log_.push_back(fmt::format("warning: {}: {} map lookup problem -- message not accepted, try again later: {}",
                                   queue_id_, map_class, found.error().text));
        return std::unexpected(Refusal{'4', "4.3.0", fmt::format("{} map lookup problem", map_class)});
    }
    if (!*found) return a;
    CheckVerdict v = parse_check_action(**found, in_header, map_class);
    if (!v.warning.empty()) log_.push_back("warning: " + v.warning);
    std::string_view cls = in_header ? "header" : "body";
    auto log = [&](std::string_view action, std::string_view text) {
        log_.push_back(check_log_line(log_context_, action, cls, content, text));
    };
    switch (v.action) {
        case CheckAction::dunno: break;
        case CheckAction::reject: {
            std::string reason = reject_reason(v.text);
            filtering_ = false;
            log("reject", reason);
            size_t sp = reason.find(' ');
            return std::unexpected(Refusal{reason[0], reason.substr(0, sp),
                                           sp == reason.npos ? std::string() : reason.substr(sp + 1), true});
        }
        case CheckAction::warn: log("warning", v.text); break;
        case CheckAction::filter:
            filter_ = v.text;
            log("filter", v.text);
            break;
        case CheckAction::discard:
            log("discard", v.text);
            summary_.check_discard = true;
            filtering_ = false;
            break;
        case CheckAction::hold:
            if (!summary_.check_hold && !summary_.check_discard) {
                log("hold", v.text);
                summary_.check_hold = true;
            }
            break;
        case CheckAction::prepend:
            log("prepend", v.text);
            a.prepend = v.text;
            break;
        case CheckAction::replace:
            log("replace", v.text);
            a.replace = v.text;
            break;
        case CheckAction::redirect:
            redirect_ = v.text;
            log("redirect", v.text);
            filtering_ = false;
            break;
        case CheckAction::ignore: a.drop = true; break;
    }
    return a;
}

std::expected<void, Refusal> MessageBuilder::check_headers() {
    std::string origin = attr("origin");
    // Postfix leaves mail the system makes itself alone
    // (internal_mail_filter_classes is empty by default).
    filtering_ = origin != "bounce" && origin != "forward" &&
                 (checks_.header || checks_.mime || checks_.nested || checks_.body);
    if (!filtering_) return {};
    log_context_.queue_id = queue_id_;
    if (origin == "local")
        log_context_.origin = "local";
    else if (!attr("client_name").empty() || !attr("client_addr").empty())
        log_context_.origin = fmt::format("{}[{}]", attr("client_name"), attr("client_addr"));
    log_context_.sender = sender_;
    if (!rcpts_.empty()) log_context_.recipient = rcpts_.front().canonical;
    if (origin == "smtp") {
        log_context_.proto = attr("protocol").empty() ? "ESMTP" : attr("protocol");
        log_context_.helo = attr("helo");
    }
    std::vector<std::string> kept;
    kept.reserve(headers_.size());
    for (auto& h : headers_) {
        bool mime = is_mime_header(h);
        const CheckLookup& table = mime ? checks_.mime : checks_.header;
        if (!filtering_ || !table) {
            kept.push_back(std::move(h));
            continue;
        }
        auto a = act(table, mime ? "mime_header_checks" : "header_checks", true, h);
        if (!a) return std::unexpected(a.error());
        if (a->prepend) {
            size_ += static_cast<long>(a->prepend->size()) + 1;
            kept.push_back(*a->prepend);
        }
        if (a->drop) {
            size_ -= static_cast<long>(h.size()) + 1;
        } else if (a->replace) {
            size_ += static_cast<long>(a->replace->size()) - static_cast<long>(h.size());
            kept.push_back(*a->replace);
        } else {
            kept.push_back(std::move(h));
        }
    }
    headers_ = std::move(kept);
    return {};
}

// A body record: cut into pieces of at most line_length_limit (delivery
// joins them again, as Postfix's), each piece inspected by body_checks
// while the body seen so far is under body_checks_size_limit.
std::expected<void, Refusal> MessageBuilder::take_body(char type, std::string_view data, std::string_view raw) {
    if (filtering_ && (checks_.mime || checks_.nested) && (!boundaries_.empty() || mime_state_ != MimeState::text))
        return mime_line(type, data, raw);
    return body_piece(type, data, raw);
}

std::expected<void, Refusal> MessageBuilder::body_piece(char type, std::string_view data, std::string_view raw) {
    using namespace mail;
    if (data.size() > line_limit_) {
        for (size_t i = 0; i < data.size(); i += line_limit_) {
            bool last = i + line_limit_ >= data.size();
            if (auto t = body_piece(last ? type : rec::part, data.substr(i, line_limit_), {}); !t) return t;
        }
        return {};
    }
    long newline = type == rec::line ? 1 : 0;
    if (filtering_ && checks_.body && body_checked_ < body_check_limit_) {
        body_checked_ += static_cast<long>(data.size()) + newline;
        auto a = act(checks_.body, "body_checks", false, data);
        if (!a) return std::unexpected(a.error());
        if (a->prepend) {
            size_ += static_cast<long>(a->prepend->size()) + 1;
            out_line(dst(), *a->prepend);
            body_mid_line_ = false;
        }
        if (a->drop && type == rec::line && body_mid_line_) {
            // The last piece of a line whose first pieces are written: the
            // line still ends here.
            size_ -= static_cast<long>(data.size());
            data = {};
            raw = {};
        } else if (a->drop) {
            size_ -= static_cast<long>(data.size()) + newline;
            type = 0;
        } else if (a->replace) {
            size_ += static_cast<long>(a->replace->size()) - static_cast<long>(data.size());
            out_piece(dst(), type, *a->replace, {});
            body_mid_line_ = type == rec::part;
            type = 0;
        }
    }
    if (type != 0) {
        out_piece(dst(), type, data, raw);
        body_mid_line_ = type == rec::part;
    }
    if (holding_ && (!filtering_ || body_checked_ >= body_check_limit_)) emit_envelope();
    return {};
}

// The envelope, then the content held so far.
void MessageBuilder::emit_envelope() {
    using namespace mail;
    holding_ = false;
    if (!redirect_.empty()) {
        // REDIRECT: the message goes to this address instead of its recipients.
        auto c = canon_(redirect_);
        rcpts_.assign(1, Rcpt{redirect_, c ? *c : redirect_, "", 0});
    }
    rec_append(out_, rec::version, "1");
    rec_append(out_, rec::time, fmt::format("{} {}", now_sec_, now_usec_));
    rec_append(out_, rec::size, std::string(kSizeWidth, '0'));  // patched at the end
    size_offset_ = out_offset_ + out_.size() - kSizeWidth;
    rec_append(out_, rec::sender, sender_);
    for (const auto& [n, v] : attrs_)
        // What smtpd says only for the Received: header stays out of the queue file.
        // So do the instructions for cleanup itself.
        if (n != "sasl_received_header" && n != "tls_received" && n != "hold" && n != "discard" &&
            n != "content_filter" && n != "notify")
            rec_append(out_, rec::attr, n + "=" + v);
    // FILTER transport:destination, as Postfix records it for qmgr.
    if (!filter_.empty()) rec_append(out_, rec::attr, "content_filter=" + filter_);
    for (const auto& rc : rcpts_) {
        if (rc.original != rc.canonical) rec_append(out_, rec::orig_rcpt, rc.original);
        if (rc.notify != 0) rec_append(out_, rec::dsn_notify, std::to_string(rc.notify));
        if (!rc.orcpt.empty()) rec_append(out_, rec::dsn_orcpt, rc.orcpt);
        rec_append(out_, rec::rcpt, rc.canonical);
    }
    rec_append(out_, rec::message, "");
    out_ += content_;
    content_.clear();
    content_.shrink_to_fit();
    summary_.recipients = rcpts_.size();
}

}  // namespace kurir::cleanup
