#include "mail/mail_proto.hpp"

#include <catch2/catch.hpp>

using namespace kurir;
using namespace kurir::mail::proto;

namespace {

// The frame with field `index` removed, duplicated, or renamed.
util::Attrs without(const util::Attrs& a, size_t index) {
    util::Attrs out;
    for (size_t i = 0; i < a.items().size(); ++i)
        if (i != index) out.add(a.items()[i].first, a.items()[i].second);
    return out;
}
util::Attrs doubled(const util::Attrs& a, size_t index) {
    util::Attrs out;
    for (size_t i = 0; i < a.items().size(); ++i) {
        out.add(a.items()[i].first, a.items()[i].second);
        if (i == index) out.add(a.items()[i].first, a.items()[i].second);
    }
    return out;
}
util::Attrs with(const util::Attrs& a, size_t index, std::string value) {
    util::Attrs out;
    for (size_t i = 0; i < a.items().size(); ++i)
        out.add(a.items()[i].first, i == index ? value : a.items()[i].second);
    return out;
}
util::Attrs plus(util::Attrs a, std::string name, std::string value) {
    a.add(std::move(name), std::move(value));
    return a;
}

template <class Decode>
void refuses_every_damage(const util::Attrs& good, Decode decode, std::string_view protocol) {
    REQUIRE(decode(good));
    for (size_t i = 0; i < good.items().size(); ++i) {
        const std::string& name = good.items()[i].first;
        INFO("field " << name);
        auto missing = decode(without(good, i));
        REQUIRE_FALSE(missing);
        CHECK(missing.error().text.find(std::string(protocol)) == 0);
        auto twice = decode(doubled(good, i));
        REQUIRE_FALSE(twice);
        CHECK(twice.error().text.find(name) != std::string::npos);
    }
    auto extra = decode(plus(good, "surprise", "x"));
    REQUIRE_FALSE(extra);
    CHECK(extra.error().text.find("surprise") != std::string::npos);
    auto wrong = decode(with(good, 0, "other-protocol/1"));
    REQUIRE_FALSE(wrong);
    CHECK(wrong.error().text.find("other-protocol/1") != std::string::npos);
    std::string next = std::string(protocol) + "/99";  // a version no codec speaks
    auto version = decode(with(good, 0, next));
    REQUIRE_FALSE(version);
    CHECK(version.error().text.find(next) != std::string::npos);
}

}  // namespace

TEST_CASE("cleanup hello and reply round-trip and refuse damage", "[mail_proto]") {
    auto hello = decode_cleanup_hello(encode(CleanupHello{"4Q1abcXyz"}));
    REQUIRE(hello);
    CHECK(hello->queue_id == "4Q1abcXyz");
    refuses_every_damage(encode(CleanupHello{"4Q1abcXyz"}), decode_cleanup_hello, "cleanup-hello");

    CleanupReply refused{'5', "4Q1abcXyz", "5.3.4", "message file too big"};
    auto r = decode_cleanup_reply(encode(refused));
    REQUIRE(r);
    CHECK(r->status == '5');
    CHECK(r->dsn == "5.3.4");
    CHECK(r->reason == "message file too big");
    refuses_every_damage(encode(refused), decode_cleanup_reply, "cleanup-reply");
    auto a = encode(refused);
    CHECK_FALSE(decode_cleanup_reply(with(a, 1, "2")));      // status
    CHECK_FALSE(decode_cleanup_reply(with(a, 3, "4.3.0")));  // dsn of another class
    CHECK_FALSE(decode_cleanup_reply(with(a, 3, "5.x.0")));
    CHECK(decode_cleanup_reply(encode(CleanupReply{'0', "4Q1abcXyz", "", ""})));
    CHECK_FALSE(r->content);
    auto content = decode_cleanup_reply(encode(CleanupReply{'5', "4Q1abcXyz", "5.7.1", "message content rejected", true}));
    REQUIRE(content);
    CHECK(content->content);
    CHECK_FALSE(decode_cleanup_reply(with(encode(refused), 5, "maybe")));
    CHECK_FALSE(decode_cleanup_reply(encode(CleanupReply{'0', "4Q1abcXyz", "", "", true})));
}

TEST_CASE("rewrite and resolve round-trip and refuse damage", "[mail_proto]") {
    RewriteRequest req{RewriteRequest::Kind::resolve, "u@example.com", "s@example.com"};
    auto d = decode_rewrite_request(encode(req));
    REQUIRE(d);
    CHECK(d->kind == RewriteRequest::Kind::resolve);
    CHECK(d->address == "u@example.com");
    CHECK(d->sender == "s@example.com");
    refuses_every_damage(encode(req), decode_rewrite_request, "rewrite-request");
    CHECK_FALSE(decode_rewrite_request(with(encode(req), 1, "expand")));

    refuses_every_damage(encode(RewriteReply{"u@example.com"}), decode_rewrite_reply, "rewrite-reply");

    ResolveReply res{"", "smtp", "[127.0.0.1]:2526", "u@example.com", ""};
    auto rr = decode_resolve_reply(encode(res));
    REQUIRE(rr);
    CHECK(rr->nexthop == "[127.0.0.1]:2526");
    refuses_every_damage(encode(res), decode_resolve_reply, "resolve-reply");
    CHECK_FALSE(decode_resolve_reply(encode(ResolveReply{})));  // neither an error nor a transport
    CHECK(decode_resolve_reply(encode(ResolveReply{"transport_maps: lookup error", "", "", "", ""})));
}

TEST_CASE("delivery request round-trips addresses with any bytes", "[mail_proto]") {
    DeliveryRequest req{"4Q1abcXyz", "s@client.test", "example.com", 1700000000250000,
                        {{120, "\"a b\"@example.com"}, {188, "}\"\\\xc3\xa9@example.com"}}};
    auto d = decode_delivery_request(encode(req));
    REQUIRE(d);
    CHECK(d->active_usec == 1700000000250000);
    REQUIRE(d->recipients.size() == 2);
    CHECK(d->recipients[0].offset == 120);
    CHECK(d->recipients[0].address == "\"a b\"@example.com");
    CHECK(d->recipients[1].address == "}\"\\\xc3\xa9@example.com");
    refuses_every_damage(encode(req), decode_delivery_request, "delivery-request");
    auto a = encode(req);
    for (std::string bad : {"", "-1", "12x", " 12", "0x10", "99999999999999999999999"}) {
        INFO(bad);
        auto e = decode_delivery_request(with(a, 5, bad));
        REQUIRE_FALSE(e);
        CHECK(e.error().text == "delivery-request: malformed offset: \"" + bad + "\"");
    }
    for (std::string bad : {"", "soon", "-5", "1e9", "5.0", "5 ", "inf", "nan", "99999999999999999999"}) {
        INFO(bad);
        CHECK_FALSE(decode_delivery_request(with(a, 4, bad)));
    }
    req.recipients.clear();
    auto none = decode_delivery_request(encode(req));
    REQUIRE_FALSE(none);
    CHECK(none.error().text == "delivery-request: no recipient");
}

TEST_CASE("delivery result round-trips and refuses damage", "[mail_proto]") {
    DeliveryResult res{true,
                       {{120, "4.4.1", "connect to mx: refused", "", "", ""},
                        {188, "5.1.1", "host said: 550 no such user", "550 5.1.1 no such user", "mx.example.com", "none"}}};
    auto d = decode_delivery_result(encode(res));
    REQUIRE(d);
    CHECK(d->site_dead);
    REQUIRE(d->recipients.size() == 2);
    CHECK(d->recipients[1].diagnostic == "550 5.1.1 no such user");
    CHECK(d->recipients[1].remote_mta == "mx.example.com");
    CHECK(d->recipients[1].action == "none");
    refuses_every_damage(encode(res), decode_delivery_result, "delivery-result");
    auto a = encode(res);
    CHECK_FALSE(decode_delivery_result(with(a, 1, "maybe")));
    for (std::string bad : {"", "3.0.0", "2.0", "2..0", "2.0.0.0", "2.a.0", "2.1000.0", "2.0.1000"}) {
        INFO(bad);
        CHECK_FALSE(decode_delivery_result(with(a, 3, bad)));
    }
    CHECK(decode_delivery_result(encode(DeliveryResult{false, {}})));
}

TEST_CASE("queue listing carries any bytes in addresses and reasons", "[mail_proto]") {
    mail::ListedMessage m;
    m.queue_name = "deferred";
    m.queue_id = "4Q1abcXyz";
    m.arrival_time = 1700000000;
    m.message_size = 1234;
    m.sender = "we}ird\"\\\xe2\x82\xac@client.test";
    m.sender_uid = -1;
    m.recipients = {{"a}b@example.com", "connect to x: \"}\" \\ \xc3\xa9"}, {"c@example.com", ""}};
    std::string wire = encode_queue_listing({m, m});
    auto d = decode_queue_listing(wire);
    REQUIRE(d);
    REQUIRE(d->size() == 2);
    CHECK((*d)[1].sender == m.sender);
    CHECK_FALSE((*d)[1].forced_expire);
    m.forced_expire = true;
    CHECK((*decode_queue_listing(encode_queue_listing({m})))[0].forced_expire);
    REQUIRE((*d)[1].recipients.size() == 2);
    CHECK((*d)[1].recipients[0].address == "a}b@example.com");
    CHECK((*d)[1].recipients[0].delay_reason == m.recipients[0].delay_reason);
    refuses_every_damage(encode(m), decode_queue_entry, "queue-entry");
    CHECK_FALSE(decode_queue_listing(wire.substr(0, wire.size() - 1)));
    CHECK(decode_queue_listing(""));
}

TEST_CASE("triggers: one request, an argument only where one belongs", "[mail_proto]") {
    using K = Trigger::Kind;
    for (auto [kind, arg] : {std::pair{K::wakeup, ""}, std::pair{K::flush, ""}, std::pair{K::list, ""},
                             std::pair{K::deliver_one, "4jhx8r6SLH89sxY"}, std::pair{K::flush_site, "example.com"}}) {
        auto d = decode_trigger_bytes(trigger_bytes(Trigger{kind, arg}));
        REQUIRE(d);
        CHECK(d->kind == kind);
        CHECK(d->arg == arg);
    }
    refuses_every_damage(encode(Trigger{K::flush_site, "example.com"}), decode_trigger, "trigger");
    auto with_arg = [](std::string request, std::string arg) {
        return util::Attrs{{"protocol", "trigger/1"}, {"request", std::move(request)}, {"arg", std::move(arg)}};
    };
    for (auto [request, arg] : std::vector<std::pair<std::string, std::string>>{
             {"", ""}, {"X", ""}, {"w", ""}, {"WW", ""}, {"F", "x"}, {"L", " "}, {"I", ""}, {"I", "../etc/passwd"},
             {"S", ""}, {"S", "a b"}, {"S", "a/b"}, {"S", "a\\b"}, {"S", std::string("a\0", 2)}, {"S", std::string(256, 'a')}}) {
        INFO(request << " " << arg);
        auto d = decode_trigger(with_arg(request, arg));
        REQUIRE_FALSE(d);
        CHECK(d.error().text.starts_with("trigger: malformed "));
    }
    // One frame, nothing after it; the old one-byte wake-up is refused by name.
    std::string one = trigger_bytes(Trigger{K::wakeup, ""});
    CHECK_FALSE(decode_trigger_bytes(one + "W"));
    CHECK_FALSE(decode_trigger_bytes(one.substr(0, one.size() - 1)));
    auto old = decode_trigger_bytes("W");
    REQUIRE_FALSE(old);
    CHECK(old.error().text.starts_with("trigger: "));
}

TEST_CASE("anvil request and reply round-trip and refuse damage", "[mail_proto]") {
    using K = AnvilRequest::Kind;
    for (auto kind : {K::connect, K::disconnect, K::message, K::recipient, K::newtls, K::auth}) {
        auto d = decode_anvil_request(encode(AnvilRequest{kind, "smtp", "127.0.0.1"}));
        REQUIRE(d);
        CHECK(d->kind == kind);
        CHECK(d->service == "smtp");
        CHECK(d->client_addr == "127.0.0.1");
    }
    refuses_every_damage(encode(AnvilRequest{K::connect, "smtp", "::1"}), decode_anvil_request, "anvil-request");
    auto req = [](std::string request, std::string service, std::string addr) {
        return util::Attrs{{"protocol", "anvil-request/2"}, {"request", std::move(request)},
                           {"service", std::move(service)}, {"client_addr", std::move(addr)}};
    };
    for (const auto& bad : {req("", "smtp", "1.2.3.4"), req("lookup", "smtp", "1.2.3.4"), req("connect", "", "1.2.3.4"),
                            req("connect", "smtp", ""), req("connect", "smtp", std::string(256, '1'))}) {
        auto d = decode_anvil_request(bad);
        REQUIRE_FALSE(d);
        CHECK(d.error().text.starts_with("anvil-request: malformed "));
    }
    auto reply = decode_anvil_reply(encode(AnvilReply{51, 7}));
    REQUIRE(reply);
    CHECK(reply->count == 51);
    CHECK(reply->rate == 7);
    refuses_every_damage(encode(AnvilReply{1, 1}), decode_anvil_reply, "anvil-reply");
    for (const char* count : {"", "-1", "x", "1 "}) {
        CHECK_FALSE(decode_anvil_reply(util::Attrs{{"protocol", "anvil-reply/2"}, {"count", count}, {"rate", "1"}}));
        CHECK_FALSE(decode_anvil_reply(util::Attrs{{"protocol", "anvil-reply/2"}, {"count", "1"}, {"rate", count}}));
    }
    CHECK_FALSE(decode_anvil_reply(util::Attrs{{"protocol", "anvil-reply/2"}, {"count", "1"}}));
}
