#include "mail/mail_proto.hpp"

#include <optional>

#include <array>

#include "mail/queue.hpp"

#include <fmt/format.h>

#include <charconv>
#include <limits>

namespace kurir::mail::proto {

namespace {

constexpr std::string_view kCleanupHello = "cleanup-hello/1";
constexpr std::string_view kCleanupReply = "cleanup-reply/1";
constexpr std::string_view kRewriteRequest = "rewrite-request/1";
constexpr std::string_view kRewriteReply = "rewrite-reply/1";
constexpr std::string_view kResolveReply = "resolve-reply/1";
constexpr std::string_view kDeliveryRequest = "delivery-request/1";
constexpr std::string_view kDeliveryResult = "delivery-result/1";
constexpr std::string_view kQueueEntry = "queue-entry/2";
constexpr std::string_view kTrigger = "trigger/1";
constexpr std::string_view kAnvilRequest = "anvil-request/2";
constexpr std::string_view kAnvilReply = "anvil-reply/2";
constexpr size_t kMaxAnvilField = 255;  // a service name or an address

// Walks a frame's fields in the one order its protocol allows.
class Reader {
public:
    Reader(const util::Attrs& attrs, std::string_view protocol) : items_(attrs.items()), protocol_(protocol) {}

    util::Result<void> open() {
        if (items_.empty() || items_[0].first != "protocol") return fail("no protocol field");
        if (items_[0].second != protocol_)
            return fail(fmt::format("protocol \"{}\", expected \"{}\"", items_[0].second, protocol_));
        next_ = 1;
        return {};
    }

    bool at(std::string_view name) const { return next_ < items_.size() && items_[next_].first == name; }
    bool done() const { return next_ == items_.size(); }

    util::Result<std::string> text(std::string_view name) {
        if (next_ == items_.size()) return fail(fmt::format("missing field {}", name));
        const auto& [have, value] = items_[next_];
        if (have != name) return fail(fmt::format("field {} where {} was expected", have, name));
        ++next_;
        return value;
    }

    template <class Int>
    util::Result<Int> number(std::string_view name, Int min = std::numeric_limits<Int>::min()) {
        auto v = text(name);
        if (!v) return std::unexpected(v.error());
        Int n{};
        auto [end, ec] = std::from_chars(v->data(), v->data() + v->size(), n);
        if (v->empty() || ec != std::errc() || end != v->data() + v->size() || n < min)
            return fail(fmt::format("malformed {}: \"{}\"", name, *v));
        return n;
    }

    util::Result<void> close() {
        if (next_ != items_.size()) return fail(fmt::format("extra field {}", items_[next_].first));
        return {};
    }

    std::unexpected<util::Error> fail(const std::string& what) const {
        return util::fail(fmt::format("{}: {}", protocol_.substr(0, protocol_.find('/')), what));
    }

private:
    const std::vector<std::pair<std::string, std::string>>& items_;
    std::string_view protocol_;
    size_t next_ = 0;
};

#define TRY_INTO(lhs, expr)                                  \
    do {                                                     \
        auto tried_ = (expr);                                \
        if (!tried_) return std::unexpected(tried_.error()); \
        lhs = std::move(*tried_);                            \
    } while (0)

#define TRY(expr)                                            \
    do {                                                     \
        auto tried_ = (expr);                                \
        if (!tried_) return std::unexpected(tried_.error()); \
    } while (0)

util::Attrs start(std::string_view protocol) { return util::Attrs{{"protocol", std::string(protocol)}}; }

bool valid_dsn(std::string_view dsn) {
    // class "." subject "." detail (RFC 3463), class 2, 4 or 5.
    if (dsn.size() < 5 || (dsn[0] != '2' && dsn[0] != '4' && dsn[0] != '5') || dsn[1] != '.') return false;
    size_t dot = dsn.find('.', 2);
    if (dot == std::string_view::npos || dot == 2 || dot > 5 || dot + 1 == dsn.size() || dsn.size() - dot - 1 > 3)
        return false;
    for (size_t i = 2; i < dsn.size(); ++i)
        if (i != dot && (dsn[i] < '0' || dsn[i] > '9')) return false;
    return true;
}

}  // namespace

util::Attrs encode(const Trigger& m) {
    auto a = start(kTrigger);
    a.add("request", std::string(1, static_cast<char>(m.kind)));
    a.add("arg", m.arg);
    return a;
}

util::Result<Trigger> decode_trigger(const util::Attrs& a) {
    Reader r(a, kTrigger);
    Trigger m;
    TRY(r.open());
    std::string code;
    TRY_INTO(code, r.text("request"));
    if (code.size() != 1 || std::string_view("WFLIS").find(code[0]) == std::string_view::npos)
        return r.fail("malformed request: \"" + code + "\"");
    m.kind = static_cast<Trigger::Kind>(code[0]);
    TRY_INTO(m.arg, r.text("arg"));
    TRY(r.close());
    switch (m.kind) {
        case Trigger::Kind::deliver_one:
            if (!valid_queue_id(m.arg)) return r.fail("malformed arg: bad queue id");
            break;
        case Trigger::Kind::flush_site:
            if (m.arg.empty() || m.arg.size() > 255) return r.fail("malformed arg: bad site");
            for (char c : m.arg)
                if (static_cast<unsigned char>(c) <= 0x20 || c == 0x7f || c == '/' || c == '\\')
                    return r.fail("malformed arg: bad site");
            break;
        default:
            if (!m.arg.empty()) return r.fail(fmt::format("malformed arg: {} takes none", code));
    }
    return m;
}

util::Result<Trigger> decode_trigger_bytes(std::string_view bytes) {
    auto frame = util::attr_decode(bytes);
    if (!frame) return util::fail("trigger: " + frame.error().text);
    if (!*frame) return util::fail("trigger: incomplete frame");
    if ((*frame)->consumed != bytes.size())
        return util::fail(fmt::format("trigger: {} bytes after the frame", bytes.size() - (*frame)->consumed));
    return decode_trigger((*frame)->attrs);
}

std::string trigger_bytes(const Trigger& m) { return util::attr_encode(encode(m)); }

util::Attrs encode(const CleanupHello& m) {
    auto a = start(kCleanupHello);
    a.add("queue_id", m.queue_id);
    return a;
}

util::Result<CleanupHello> decode_cleanup_hello(const util::Attrs& a) {
    Reader r(a, kCleanupHello);
    CleanupHello m;
    TRY(r.open());
    TRY_INTO(m.queue_id, r.text("queue_id"));
    TRY(r.close());
    return m;
}

util::Attrs encode(const CleanupReply& m) {
    auto a = start(kCleanupReply);
    a.add("status", std::string(1, m.status));
    a.add("queue_id", m.queue_id);
    a.add("dsn", m.dsn);
    a.add("reason", m.reason);
    a.add("content", m.content ? "yes" : "no");
    return a;
}

util::Result<CleanupReply> decode_cleanup_reply(const util::Attrs& a) {
    Reader r(a, kCleanupReply);
    CleanupReply m;
    TRY(r.open());
    std::string status;
    TRY_INTO(status, r.text("status"));
    if (status != "0" && status != "4" && status != "5") return r.fail("malformed status: \"" + status + "\"");
    m.status = status[0];
    TRY_INTO(m.queue_id, r.text("queue_id"));
    TRY_INTO(m.dsn, r.text("dsn"));
    if (m.status != '0' && (!valid_dsn(m.dsn) || m.dsn[0] != m.status)) return r.fail("malformed dsn: \"" + m.dsn + "\"");
    TRY_INTO(m.reason, r.text("reason"));
    std::string content;
    TRY_INTO(content, r.text("content"));
    if (content != "yes" && content != "no") return r.fail("malformed content: \"" + content + "\"");
    m.content = content == "yes";
    if (m.content && m.status == '0') return r.fail("content rejection of a queued message");
    TRY(r.close());
    return m;
}

util::Attrs encode(const RewriteRequest& m) {
    auto a = start(kRewriteRequest);
    a.add("request", m.kind == RewriteRequest::Kind::rewrite ? "rewrite" : "resolve");
    a.add("address", m.address);
    a.add("sender", m.sender);
    return a;
}

util::Result<RewriteRequest> decode_rewrite_request(const util::Attrs& a) {
    Reader r(a, kRewriteRequest);
    RewriteRequest m;
    TRY(r.open());
    std::string kind;
    TRY_INTO(kind, r.text("request"));
    if (kind == "rewrite")
        m.kind = RewriteRequest::Kind::rewrite;
    else if (kind == "resolve")
        m.kind = RewriteRequest::Kind::resolve;
    else
        return r.fail("malformed request: \"" + kind + "\"");
    TRY_INTO(m.address, r.text("address"));
    TRY_INTO(m.sender, r.text("sender"));
    TRY(r.close());
    return m;
}

util::Attrs encode(const RewriteReply& m) {
    auto a = start(kRewriteReply);
    a.add("address", m.address);
    return a;
}

util::Result<RewriteReply> decode_rewrite_reply(const util::Attrs& a) {
    Reader r(a, kRewriteReply);
    RewriteReply m;
    TRY(r.open());
    TRY_INTO(m.address, r.text("address"));
    TRY(r.close());
    return m;
}

util::Attrs encode(const ResolveReply& m) {
    auto a = start(kResolveReply);
    a.add("error", m.error);
    a.add("transport", m.transport);
    a.add("nexthop", m.nexthop);
    a.add("recipient", m.recipient);
    a.add("flags", m.flags);
    return a;
}

util::Result<ResolveReply> decode_resolve_reply(const util::Attrs& a) {
    Reader r(a, kResolveReply);
    ResolveReply m;
    TRY(r.open());
    TRY_INTO(m.error, r.text("error"));
    TRY_INTO(m.transport, r.text("transport"));
    TRY_INTO(m.nexthop, r.text("nexthop"));
    TRY_INTO(m.recipient, r.text("recipient"));
    TRY_INTO(m.flags, r.text("flags"));
    TRY(r.close());
    if (m.error.empty() && m.transport.empty()) return r.fail("empty transport");
    return m;
}

util::Attrs encode(const DeliveryRequest& m) {
    auto a = start(kDeliveryRequest);
    a.add("queue_id", m.queue_id);
    a.add("sender", m.sender);
    a.add("nexthop", m.nexthop);
    a.add("active_usec", std::to_string(m.active_usec));
    for (const auto& r : m.recipients) {
        a.add("offset", std::to_string(r.offset));
        a.add("address", r.address);
    }
    return a;
}

util::Result<DeliveryRequest> decode_delivery_request(const util::Attrs& a) {
    Reader r(a, kDeliveryRequest);
    DeliveryRequest m;
    TRY(r.open());
    TRY_INTO(m.queue_id, r.text("queue_id"));
    TRY_INTO(m.sender, r.text("sender"));
    TRY_INTO(m.nexthop, r.text("nexthop"));
    TRY_INTO(m.active_usec, r.number<int64_t>("active_usec", 0));
    while (!r.done()) {
        DeliveryRecipient rc;
        TRY_INTO(rc.offset, r.number<size_t>("offset"));
        TRY_INTO(rc.address, r.text("address"));
        m.recipients.push_back(std::move(rc));
    }
    if (m.recipients.empty()) return r.fail("no recipient");
    return m;
}

util::Attrs encode(const DeliveryResult& m) {
    auto a = start(kDeliveryResult);
    a.add("site", m.site_dead ? "dead" : "alive");
    for (const auto& r : m.recipients) {
        a.add("offset", std::to_string(r.offset));
        a.add("dsn", r.dsn);
        a.add("text", r.text);
        a.add("diag", r.diagnostic);
        a.add("mta", r.remote_mta);
        a.add("action", r.action);
    }
    return a;
}

util::Result<DeliveryResult> decode_delivery_result(const util::Attrs& a) {
    Reader r(a, kDeliveryResult);
    DeliveryResult m;
    TRY(r.open());
    std::string site;
    TRY_INTO(site, r.text("site"));
    if (site != "alive" && site != "dead") return r.fail("malformed site: \"" + site + "\"");
    m.site_dead = site == "dead";
    while (!r.done()) {
        RecipientResult rc;
        TRY_INTO(rc.offset, r.number<size_t>("offset"));
        TRY_INTO(rc.dsn, r.text("dsn"));
        if (!valid_dsn(rc.dsn)) return r.fail("malformed dsn: \"" + rc.dsn + "\"");
        TRY_INTO(rc.text, r.text("text"));
        TRY_INTO(rc.diagnostic, r.text("diag"));
        TRY_INTO(rc.remote_mta, r.text("mta"));
        TRY_INTO(rc.action, r.text("action"));
        m.recipients.push_back(std::move(rc));
    }
    return m;
}

util::Attrs encode(const ListedMessage& m) {
    auto a = start(kQueueEntry);
    a.add("queue_name", m.queue_name);
    a.add("queue_id", m.queue_id);
    a.add("arrival_time", std::to_string(m.arrival_time));
    a.add("message_size", std::to_string(m.message_size));
    a.add("sender", m.sender);
    a.add("sender_uid", std::to_string(m.sender_uid));
    a.add("forced_expire", m.forced_expire ? "1" : "0");
    for (const auto& r : m.recipients) {
        a.add("address", r.address);
        a.add("delay_reason", r.delay_reason);
    }
    return a;
}

util::Result<ListedMessage> decode_queue_entry(const util::Attrs& a) {
    Reader r(a, kQueueEntry);
    ListedMessage m;
    TRY(r.open());
    TRY_INTO(m.queue_name, r.text("queue_name"));
    TRY_INTO(m.queue_id, r.text("queue_id"));
    TRY_INTO(m.arrival_time, r.number<long>("arrival_time", 0));
    TRY_INTO(m.message_size, r.number<long>("message_size", 0));
    TRY_INTO(m.sender, r.text("sender"));
    TRY_INTO(m.sender_uid, r.number<long>("sender_uid", -1));
    int forced = 0;
    TRY_INTO(forced, r.number<int>("forced_expire", 0));
    if (forced > 1) return r.fail(fmt::format("malformed forced_expire: \"{}\"", forced));
    m.forced_expire = forced == 1;
    while (!r.done()) {
        ListedRecipient rc;
        TRY_INTO(rc.address, r.text("address"));
        TRY_INTO(rc.delay_reason, r.text("delay_reason"));
        m.recipients.push_back(std::move(rc));
    }
    return m;
}

std::string encode_queue_listing(const std::vector<ListedMessage>& messages) {
    std::string out;
    for (const auto& m : messages) out += util::attr_encode(encode(m));
    return out;
}

util::Result<std::vector<ListedMessage>> decode_queue_listing(std::string_view bytes) {
    std::vector<ListedMessage> out;
    while (!bytes.empty()) {
        auto frame = util::attr_decode(bytes);
        if (!frame) return util::fail("queue-entry: " + frame.error().text);
        if (!*frame) return util::fail("queue-entry: the listing ends inside a frame");
        auto m = decode_queue_entry((*frame)->attrs);
        if (!m) return std::unexpected(m.error());
        out.push_back(std::move(*m));
        bytes.remove_prefix((*frame)->consumed);
    }
    return out;
}

namespace {
constexpr std::array<std::pair<AnvilRequest::Kind, std::string_view>, 6> kAnvilKinds{{
    {AnvilRequest::Kind::connect, "connect"},
    {AnvilRequest::Kind::disconnect, "disconnect"},
    {AnvilRequest::Kind::message, "message"},
    {AnvilRequest::Kind::recipient, "recipient"},
    {AnvilRequest::Kind::newtls, "newtls"},
    {AnvilRequest::Kind::auth, "auth"},
}};
std::string_view anvil_kind_name(AnvilRequest::Kind k) {
    for (const auto& [kind, name] : kAnvilKinds)
        if (kind == k) return name;
    return "connect";
}
std::optional<AnvilRequest::Kind> anvil_kind_of(std::string_view name) {
    for (const auto& [kind, n] : kAnvilKinds)
        if (n == name) return kind;
    return std::nullopt;
}
}  // namespace

util::Attrs encode(const AnvilRequest& m) {
    auto a = start(kAnvilRequest);
    a.add("request", std::string(anvil_kind_name(m.kind)));
    a.add("service", m.service);
    a.add("client_addr", m.client_addr);
    return a;
}

util::Result<AnvilRequest> decode_anvil_request(const util::Attrs& a) {
    Reader r(a, kAnvilRequest);
    AnvilRequest m;
    TRY(r.open());
    std::string kind;
    TRY_INTO(kind, r.text("request"));
    auto known = anvil_kind_of(kind);
    if (!known) return r.fail("malformed request: \"" + kind + "\"");
    m.kind = *known;
    TRY_INTO(m.service, r.text("service"));
    if (m.service.empty() || m.service.size() > kMaxAnvilField) return r.fail("malformed service: \"" + m.service + "\"");
    TRY_INTO(m.client_addr, r.text("client_addr"));
    if (m.client_addr.empty() || m.client_addr.size() > kMaxAnvilField)
        return r.fail("malformed client_addr: \"" + m.client_addr + "\"");
    TRY(r.close());
    return m;
}

util::Attrs encode(const AnvilReply& m) {
    auto a = start(kAnvilReply);
    a.add("count", std::to_string(m.count));
    a.add("rate", std::to_string(m.rate));
    return a;
}

util::Result<AnvilReply> decode_anvil_reply(const util::Attrs& a) {
    Reader r(a, kAnvilReply);
    AnvilReply m;
    TRY(r.open());
    TRY_INTO(m.count, r.number<long>("count", 0));
    TRY_INTO(m.rate, r.number<long>("rate", 0));
    TRY(r.close());
    return m;
}

}  // namespace kurir::mail::proto
