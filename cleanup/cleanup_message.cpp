#include "cleanup/cleanup_message.hpp"

#include "cleanup/cleanup_milter_edits.hpp"

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

namespace {

std::expected<void, Refusal> fail4(std::string text) { return std::unexpected(refuse('4', "4.3.0", std::move(text))); }

constexpr size_t kFlushAt = 64 << 10;

}  // namespace

MessageBuilder::MessageBuilder(const mail::Config& cfg, std::string queue_id, long now_sec, long now_usec,
                               Canonicalize canon, Sink sink, CheckTables checks, RewriteTables rewrite,
                               DkimKeysFor dkim)
    : cfg_(cfg),
      queue_id_(std::move(queue_id)),
      now_sec_(now_sec),
      now_usec_(now_usec),
      canon_(std::move(canon)),
      sink_(std::move(sink)),
      limit_(cfg.integer("message_size_limit")),
      header_limit_(cfg.integer("header_size_limit")),
      mask_cr_lf_(cfg.boolean("cleanup_replace_stray_cr_lf")),
      strip_(mail::parse_strip_characters(cfg.str("message_strip_characters"))),
      checks_(std::move(checks)),
      rewrite_(std::move(rewrite)),
      body_check_limit_(cfg.integer("body_checks_size_limit")),
      line_limit_(static_cast<size_t>(cfg.integer("line_length_limit"))),
      dkim_keys_(std::move(dkim)) {}

size_t MessageBuilder::held_bytes() const {
    size_t n = pending_.size() + part_.size() + out_.size() + content_.size() + envelope_bytes_ +
               static_cast<size_t>(prepended_bytes_);
    for (const auto& h : headers_) n += h.size();
    return n;
}

std::string MessageBuilder::attr(std::string_view name) const {
    for (const auto& [n, v] : attrs_)
        if (n == name) return v;
    return {};
}

std::expected<void, Refusal> MessageBuilder::feed(std::string_view bytes) {
    if (phase_ == Phase::ended) {
        overrun_ = overrun_ || !bytes.empty();
        return {};
    }
    pending_.append(bytes);
    size_t pos = 0;
    mail::RecView r;
    while (phase_ != Phase::ended) {
        size_t start = pos;
        auto st = mail::rec_next(pending_, pos, r);
        if (st == mail::RecStatus::need_more) break;
        if (st == mail::RecStatus::bad) return fail4("malformed record stream");
        if (auto t = take(r, std::string_view(pending_).substr(start, pos - start)); !t) return t;
    }
    pending_.erase(0, pos);
    if (phase_ == Phase::ended) {
        overrun_ = !pending_.empty();
        pending_.clear();
        return flush();
    }
    if (pending_.size() > kMaxInputRecord) return fail4("malformed record stream: record too long");
    if (out_.size() >= kFlushAt) return flush();
    return {};
}

std::expected<void, Refusal> MessageBuilder::take(const mail::RecView& r, std::string_view raw) {
    using namespace mail;
    if (phase_ == Phase::envelope) return take_envelope(r);
    if (r.type == rec::content_end) {
        if (last_content_type_ == rec::part) return fail4("malformed record stream: content ends inside a line");
        if (phase_ == Phase::headers)
            if (auto f = finish_headers(); !f) return f;
        if (auto f = mime_flush_header(); !f) return f;  // a part's header block cut short
        if (holding_) emit_envelope();
        auto signatures = dkim_signatures();
        if (!signatures) return std::unexpected(signatures.error());
        rec_append(out_, rec::content_end, "");
        for (const auto& field : *signatures) rec_append(out_, rec::prepend, field);
        for (const auto& field : prepended_) rec_append(out_, rec::prepend, field);
        rec_append(out_, rec::end, "");
        summary_.size = size_ + added_bytes_;
        phase_ = Phase::ended;
        return {};
    }
    if (r.type == rec::milter_edit) return take_milter_edit(r.data);  // cleanup_milter_edits.cpp
    if (r.type == rec::prepend) return take_prepended(r.data);
    if (!prepended_.empty() || !summary_.milter_edits.empty()) return fail4("malformed record stream: content after a prepended header");
    last_content_type_ = r.type;
    if (r.type != rec::line && r.type != rec::part)
        return fail4(fmt::format("unexpected record '{}' in content", r.type));
    RecView rv = r;
    std::string stripped;
    if (!strip_.empty() && r.data.find_first_of(strip_) != r.data.npos) {  // message_strip_characters
        stripped = mail::strip_characters(r.data, strip_);
        rv.data = stripped;
        raw = {};
    }
    size_ += static_cast<long>(rv.data.size()) + (rv.type == rec::line ? 1 : 0);
    if (limit_ > 0 && size_ > limit_) return std::unexpected(refuse('5', "5.3.4", "Message size exceeds fixed limit"));
    if (phase_ == Phase::headers) return take_header(rv);
    return take_body(rv.type, rv.data, raw);
}

// A header field the client puts on top of the message once it has seen
// all of it (smtpd's Authentication-Results, a milter's added headers).
std::expected<void, Refusal> MessageBuilder::take_prepended(std::string_view field) {
    if (last_content_type_ == mail::rec::part) return fail4("malformed record stream: prepended header inside a line");
    if (!mail::is_prepend_field(field)) return fail4("malformed record stream: bad prepended header");
    prepended_bytes_ += static_cast<long>(field.size()) + 1;
    if (prepended_bytes_ > header_limit_) return fail4("malformed record stream: prepended headers too long");
    size_ += static_cast<long>(field.size()) + 1;
    if (limit_ > 0 && size_ > limit_) return std::unexpected(refuse('5', "5.3.4", "Message size exceeds fixed limit"));
    prepended_.emplace_back(field);
    return {};
}

std::expected<void, Refusal> MessageBuilder::take_envelope(const mail::RecView& r) {
    using namespace mail;
    envelope_bytes_ += r.data.size() + mail::kStreamEnvelopeRecordCost;
    if (envelope_bytes_ > kMaxEnvelope) return fail4("envelope too large");
    switch (r.type) {
        case rec::attr: {
            size_t eq = r.data.find('=');
            if (eq == r.data.npos) return fail4("malformed attribute record");
            attrs_.emplace_back(r.data.substr(0, eq), r.data.substr(eq + 1));
            break;
        }
        case rec::sender: {
            if (have_sender_) return fail4("duplicate sender");
            have_sender_ = true;
            auto c = canon_(r.data);
            if (!c) return fail4(c.error().text);
            sender_ = *c;
            break;
        }
        case rec::orig_rcpt: pending_orig_ = r.data; break;
        case rec::dsn_orcpt: pending_orcpt_ = r.data; break;
        case rec::dsn_notify: {
            auto n = parse_integer(r.data);
            if (!n || *n < 0 || *n > 15) return fail4("malformed DSN record");
            pending_notify_ = static_cast<int>(*n);
            break;
        }
        case rec::rcpt: {
            if (r.data.empty()) return std::unexpected(refuse('5', "5.1.3", "empty recipient address"));
            auto c = canon_(r.data);
            if (!c) return fail4(c.error().text);
            if (seen_.insert(*c).second)
                rcpts_.push_back({pending_orig_.empty() ? std::string(r.data) : pending_orig_, *c, pending_orcpt_,
                                  pending_notify_});
            pending_orig_.clear();
            pending_orcpt_.clear();
            pending_notify_ = 0;
            break;
        }
        case rec::message: phase_ = Phase::headers; break;
        default: return fail4(fmt::format("unexpected record '{}'", r.type));
    }
    return {};
}

namespace {

// Postfix's cut of a header longer than header_size_limit: at the last line
// boundary when that keeps 90% of the limit, else at the limit itself.
void truncate_header(std::string& h, size_t limit) {
    if (h.size() <= limit) return;
    size_t nl = h.rfind('\n', limit);
    h.resize(nl != std::string::npos && nl > limit * 9 / 10 ? nl : limit);
}

}  // namespace

// A header line, or the line that ends the headers: that one and all after
// it are the body. A header longer than header_size_limit is cut there (the
// rest is dropped, as Postfix does); headers past kHeaderBlockFactor times
// header_size_limit in all are body.
std::expected<void, Refusal> MessageBuilder::take_header(const mail::RecView& r) {
    using namespace mail;
    size_t limit = static_cast<size_t>(header_limit_);
    auto keep_within = [&](std::string_view data, size_t room) {
        size_t keep = std::min(data.size(), room);
        size_ -= static_cast<long>(data.size() - keep);  // counted on arrival, dropped now
        return data.substr(0, keep);
    };
    if (r.type == rec::part) {
        part_ += keep_within(r.data, limit - std::min(limit, part_.size()));
        return {};
    }
    std::string line = part_ + std::string(keep_within(r.data, limit - std::min(limit, part_.size())));
    part_.clear();
    if (mask_cr_lf_) mail::mask_stray_cr_lf(line);
    header_bytes_ += static_cast<long>(line.size());
    if (line.empty() || (!is_continuation(line) && header_name(line).empty()) ||
        (is_continuation(line) && headers_.empty()) || header_bytes_ > kHeaderBlockFactor * header_limit_) {
        if (auto f = finish_headers(); !f) return f;
        phase_ = Phase::body;
        if (line.empty()) {
            rec_append_line(dst(), line);
            return {};
        }
        rec_append(dst(), rec::line, "");  // keep headers and body apart
        size_ += 1;
        return take_body(rec::line, line, {});
    }
    bool continuation = is_continuation(line);
    if (continuation && header_cut_) {  // the rest of a field cut at header_size_limit goes, as in Postfix
        size_ -= static_cast<long>(line.size()) + 1;
        return {};
    }
    header_cut_ = false;
    std::string& h = continuation ? headers_.back() : headers_.emplace_back();
    if (!h.empty()) h += "\n";
    h += line;
    size_t before = h.size();
    truncate_header(h, limit);
    header_cut_ = h.size() < before;
    size_ -= static_cast<long>(before - h.size());
    return {};
}

// The headers are complete: the envelope, the headers and the ones cleanup
// adds go out; the body follows them.
std::expected<void, Refusal> MessageBuilder::finish_headers() {
    using namespace mail;
    if (!have_sender_) return fail4("no sender");
    bool local_origin = attr("origin") == "local";
    if (auto c = check_headers(); !c) return c;
    if (filtering_ && (checks_.mime || checks_.nested)) mime_start(headers_);
    if (attr("extract") == "1") {
        // sendmail -t: recipients from To:, Cc: and Bcc:, added to any given,
        // with sendmail -N's notify bits (pickup's notify attribute).
        auto bits = parse_integer(attr("notify"));
        int notify = bits && *bits > 0 && *bits <= 15 ? static_cast<int>(*bits) : 0;
        for (const auto& h : headers_) {
            if (!header_is(h, "To") && !header_is(h, "Cc") && !header_is(h, "Bcc")) continue;
            for (const auto& a : parse_address_list(header_value(h))) {
                auto c = canon_(a);
                if (!c) return fail4(c.error().text);
                if (seen_.insert(*c).second) rcpts_.push_back({a, *c, "", notify});
            }
        }
    }
    if (local_origin)  // a local submission's blind copies stay blind
        std::erase_if(headers_, [&](const std::string& h) {
            if (!header_is(h, "Bcc")) return false;
            size_ -= static_cast<long>(h.size()) + 1;
            return true;
        });
    if (rcpts_.empty()) return std::unexpected(refuse('5', "5.5.1", "no recipients"));

    bool have_date = false, have_msgid = false, have_from = false;
    int received = 0;
    std::string message_id;
    for (const auto& h : headers_) {
        if (header_is(h, "Date")) have_date = true;
        if (header_is(h, "From")) have_from = true;
        if (header_is(h, "Received")) ++received;
        if (header_is(h, "Message-ID")) {
            have_msgid = true;
            message_id = header_value(h);
        }
    }
    if (received >= cfg_.integer("hopcount_limit")) return std::unexpected(refuse('5', "5.4.6", "Too many hops"));

    std::string hostname = cfg_.str("myhostname");
    std::string date = rfc2822_date(now_sec_);
    std::vector<std::string> added;
    bool requeued = attr("requeue") == "1";        // kurir-super -r: the headers are complete already
    bool forwarded = attr("origin") == "forward";  // local forwarding an alias or .forward target
    if (!requeued) {
        if (local_origin) {
            std::string from_part = fmt::format("by {} ({}, from userid {})", hostname, cfg_.str("mail_name"),
                                                attr("uid").empty() ? "unknown" : attr("uid"));
            added.push_back(fmt::format("Received: {}\n\tid {}; {}", from_part, queue_id_, date));
        } else if (forwarded) {
            added.push_back(fmt::format("Received: by {} ({}) id {}\n\tfor <{}>; {}", hostname, cfg_.str("mail_name"),
                                        queue_id_, quote_address(rcpts_.front().canonical), date));
        } else {
            std::string helo = attr("helo");
            // Postfix names the recipient only when there is one.
            std::string for_part =
                rcpts_.size() == 1 ? fmt::format("\n\tfor <{}>", quote_address(rcpts_.front().canonical)) : "";
            // smtpd_tls_received_header: what TLS was used, as Postfix says it.
            std::string tls = attr("tls_received").empty() ? "" : fmt::format("\n\t({})", attr("tls_received"));
            // Postfix's smtpd_sasl_authenticated_header, off by default (the
            // user name is then visible to every recipient): smtpd says it,
            // from its service's settings (a master.cf -o included).
            std::string auth_part = attr("sasl_received_header") == "yes" && !attr("sasl_username").empty()
                                        ? fmt::format("\n\t(Authenticated sender: {})", attr("sasl_username"))
                                        : "";
            // An IPv6 client is "[IPv6:2001:db8::1]" (RFC 5321 4.1.3), as
            // Postfix's smtpd writes it; client_addr itself is bare.
            std::string addr = attr("client_addr");
            if (addr.find(':') != std::string::npos) addr = "IPv6:" + addr;
            added.push_back(fmt::format("Received: from {} ({} [{}]){}{}\n\tby {} ({}) with {} id {}{}; {}",
                                        helo.empty() ? attr("client_name") : helo, attr("client_name"),
                                        addr, tls, auth_part, hostname, cfg_.str("mail_name"),
                                        attr("protocol").empty() ? "ESMTP" : attr("protocol"), queue_id_, for_part,
                                        date));
        }
    }
    // After the Received: header, which names the recipient as the client
    // gave it: canonical maps and masquerading, blind copies, then virtual
    // aliases.
    if (auto r = rewrite_addresses(); !r) return r;
    if (auto b = add_blind_copies(); !b) return b;
    if (auto v = expand_virtual_aliases(); !v) return v;
    if (!have_msgid && !requeued && !forwarded) {
        char stamp[32];
        time_t t = now_sec_;
        struct tm tm {};
        gmtime_r(&t, &tm);
        strftime(stamp, sizeof stamp, "%Y%m%d%H%M%S", &tm);
        message_id = fmt::format("<{}.{}@{}>", stamp, queue_id_, hostname);
        added.push_back("Message-ID: " + message_id);
    }
    if (!have_date && !requeued && !forwarded) added.push_back("Date: " + date);
    if (!have_from && local_origin && !requeued) {
        std::string fullname = attr("fullname");
        std::erase_if(fullname, [](char c) { return c == '"' || c == '\\' || c == '\r' || c == '\n'; });
        added.push_back(fullname.empty() ? "From: " + quote_address(sender_)
                                         : fmt::format("From: \"{}\" <{}>", fullname, quote_address(sender_)));
    }
    if (local_origin && !attr("auth_warning").empty())
        added.push_back(fmt::format("X-Authentication-Warning: {}: {}", hostname, attr("auth_warning")));
    // Size counts the headers cleanup adds, as the mailbox will hold them.
    for (const auto& h : added) added_bytes_ += static_cast<long>(h.size()) + 1;

    auto add_lines = [&](std::string_view text) { mail::rec_append_field(content_, text, line_limit_); };
    // Received goes first (it is a trace header); the others follow the
    // client's headers, as Postfix places them. They wait in content_ for
    // the envelope, which body_checks may still change (REDIRECT, FILTER).
    size_t trace = requeued ? 0 : 1;
    for (size_t i = 0; i < trace; ++i) add_lines(added[i]);
    for (const auto& h : headers_) add_lines(h);
    for (size_t i = trace; i < added.size(); ++i) add_lines(added[i]);
    if (dkim_keys_) {
        auto signs = dkim_signs_origin(cfg_, [this](std::string_view name) { return attr(name); });
        if (!signs) return fail4(signs.error().text);
        if (*signs) signer_ = std::make_unique<DkimContentSigner>(dkim_keys_, now_sec_);
    }
    holding_ = true;
    if (!filtering_ || !checks_.body || body_check_limit_ <= 0) emit_envelope();

    summary_.message_id = message_id;
    summary_.sender = sender_;
    summary_.hold = attr("hold") == "yes";
    summary_.discard = attr("discard") == "yes";
    headers_.clear();
    headers_.shrink_to_fit();
    return {};
}

std::expected<void, Refusal> MessageBuilder::flush() {
    if (out_.empty()) return {};
    if (signer_)
        if (auto o = signer_->observe(out_); !o) {
            log_.push_back(fmt::format("warning: {}: {}", queue_id_, o.error().text));
            return std::unexpected(refuse('4', "4.3.0", "DKIM signing error"));
        }
    if (auto w = sink_(out_); !w) return std::unexpected(refuse('4', "4.3.0", w.error().text));
    out_offset_ += out_.size();
    out_.clear();
    return {};
}

std::expected<std::vector<std::string>, Refusal> MessageBuilder::dkim_signatures() {
    if (!signer_) return std::vector<std::string>{};
    // Milters may still change the message: it is signed as they leave it.
    if (!summary_.milter_edits.empty() || non_smtpd_milters_apply(cfg_, attr("origin"))) {
        signer_.reset();
        summary_.dkim_after_milters = true;
        return std::vector<std::string>{};
    }
    if (auto f = flush(); !f) return std::unexpected(f.error());
    auto signer = std::move(signer_);
    auto fields = signer->finish(prepended_);
    if (!fields) {
        log_.push_back(fmt::format("warning: {}: {}", queue_id_, fields.error().text));
        return std::unexpected(refuse('4', "4.3.0", "DKIM signing error"));
    }
    std::vector<std::string> out;
    for (auto& f : *fields) {
        added_bytes_ += static_cast<long>(f.field.size()) + 1;
        log_.push_back(fmt::format("{}: DKIM-Signature field added (s={}, d={}, a={})", queue_id_, f.selector,
                                   signer->domain(), f.algorithm));
        out.push_back(std::move(f.field));
    }
    return out;
}

MessageBuilder::Patch MessageBuilder::size_patch() const {
    std::string digits = std::to_string(summary_.size);
    if (digits.size() < kSizeWidth) digits.insert(0, kSizeWidth - digits.size(), '0');
    return {size_offset_, digits};
}

std::expected<CleanupOutput, Refusal> build_queue_file(const mail::Config& cfg, const CleanupInput& in,
                                                       const Canonicalize& canon, const RewriteTables& rewrite,
                                                       const DkimKeysFor& dkim) {
    std::string file;
    MessageBuilder b(cfg, in.queue_id, in.now_sec, in.now_usec, canon, [&](std::string_view bytes) -> util::Result<void> {
        file.append(bytes);
        return {};
    }, {}, rewrite, dkim);
    if (auto f = b.feed(in.stream); !f) return std::unexpected(f.error());
    if (!b.ended()) return std::unexpected(refuse('4', "4.3.0", "malformed record stream"));
    auto patch = b.size_patch();
    file.replace(patch.offset, patch.bytes.size(), patch.bytes);
    CleanupOutput out = b.summary();
    out.file = std::move(file);
    return out;
}

}  // namespace kurir::cleanup
