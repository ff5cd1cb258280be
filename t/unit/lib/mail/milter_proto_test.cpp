#include "mail/milter_proto.hpp"

#include <catch2/catch.hpp>

#include <string>

using namespace kurir::mail::milter;
using namespace std::string_literals;

namespace {

Packet packet(char command, std::string data) { return Packet{command, std::move(data)}; }

}  // namespace

TEST_CASE("milter packets: length-prefixed, taken whole or not at all", "[milter]") {
    std::string wire = encode_packet('c', "") + encode_packet('h', "X-A\0v\0"s);
    CHECK(wire.substr(0, 5) == "\0\0\0\1c"s);
    std::string buffer = wire.substr(0, 7);
    auto first = take_packet(buffer, 1024);
    REQUIRE(first);
    REQUIRE(first->has_value());
    CHECK((*first)->command == 'c');
    CHECK((*first)->data.empty());
    auto partial = take_packet(buffer, 1024);
    REQUIRE(partial);
    CHECK_FALSE(partial->has_value());  // the header packet is not complete yet
    buffer += wire.substr(7);
    auto second = take_packet(buffer, 1024);
    REQUIRE(second);
    REQUIRE(second->has_value());
    CHECK((*second)->command == 'h');
    CHECK((*second)->data == "X-A\0v\0"s);
    CHECK(buffer.empty());
}

TEST_CASE("milter packets: a zero or oversized length is an error", "[milter]") {
    std::string zero = "\0\0\0\0"s;
    CHECK_FALSE(take_packet(zero, 1024));
    std::string big = encode_packet('b', std::string(2000, 'x'));
    CHECK_FALSE(take_packet(big, 1024));
    std::string huge = "\xff\xff\xff\xff"s;  // no need to wait for 4 GB to refuse it
    CHECK_FALSE(take_packet(huge, 1 << 20));
}

TEST_CASE("milter commands: Postfix's wire forms", "[milter]") {
    CHECK(encode_optneg({6, action::all, 0}) == "\0\0\0\x0dO\0\0\0\6\0\0\1\xff\0\0\0\0"s);
    CHECK(encode_macros('C', {{"j", "mx.example"}, {"{daemon_name}", "smtpd"}}) ==
          encode_packet('D', "Cj\0mx.example\0{daemon_name}\0smtpd\0"s));
    CHECK(encode_connect("client.example", Family::inet, 2525, "192.0.2.1") ==
          encode_packet('C', "client.example\0" "4\x09\xdd" "192.0.2.1\0"s));
    CHECK(encode_connect("localhost", Family::unknown, 0, "") == encode_packet('C', "localhost\0U"s));
    CHECK(encode_envelope(command::mail, "<a@b>", {"SIZE=10", "BODY=8BITMIME"}) ==
          encode_packet('M', "<a@b>\0SIZE=10\0BODY=8BITMIME\0"s));
    CHECK(encode_header("Subject", " hi") == encode_packet('L', "Subject\0 hi\0"s));
    CHECK(encode_simple(command::end_of_headers) == "\0\0\0\1N"s);
}

TEST_CASE("milter replies: each action decoded", "[milter]") {
    auto r = decode_reply(packet('y', "550 5.7.1 go away\0"s));
    REQUIRE(r);
    CHECK(r->kind == ReplyKind::reply_code);
    CHECK(r->text == "550 5.7.1 go away");

    r = decode_reply(packet('i', "\0\0\0\2X-Spam\0 yes\n\tand more\0"s));
    REQUIRE(r);
    CHECK(r->kind == ReplyKind::insert_header);
    CHECK(r->index == 2);
    CHECK(r->name == "X-Spam");
    CHECK(r->value == " yes\n\tand more");

    r = decode_reply(packet('m', "\0\0\0\1Subject\0\0"s));
    REQUIRE(r);
    CHECK(r->kind == ReplyKind::change_header);
    CHECK(r->value.empty());  // deletes the first Subject

    r = decode_reply(packet('2', "<x@y>\0NOTIFY=NEVER\0"s));
    REQUIRE(r);
    CHECK(r->kind == ReplyKind::add_rcpt_par);
    CHECK(r->address == "<x@y>");
    CHECK(r->params == "NOTIFY=NEVER");

    r = decode_reply(packet('e', "<new@sender>\0"s));
    REQUIRE(r);
    CHECK(r->kind == ReplyKind::change_from);
    CHECK(r->params.empty());

    // An address is an address: nothing after it, no empty recipient.
    CHECK_FALSE(decode_reply(packet('+', "<v@ex.com> NOTIFY=NEVER\0"s)));
    CHECK_FALSE(decode_reply(packet('2', "<x@y> ORCPT=a\0NOTIFY=NEVER\0"s)));
    CHECK_FALSE(decode_reply(packet('+', "<>\0"s)));
    CHECK_FALSE(decode_reply(packet('e', "<a@b> SIZE=1\0"s)));
    CHECK(decode_reply(packet('e', "<>\0"s)));
    CHECK(decode_reply(packet('+', "bare@example.org\0"s)));

    r = decode_reply(packet('b', "new\r\nbody\0with NUL"s));
    REQUIRE(r);
    CHECK(r->body == "new\r\nbody\0with NUL"s);

    r = decode_reply(packet('q', "suspicious\0"s));
    REQUIRE(r);
    CHECK(r->kind == ReplyKind::quarantine);
    CHECK(r->text == "suspicious");

    for (auto [c, k] : {std::pair{'a', ReplyKind::accept}, {'c', ReplyKind::continue_}, {'d', ReplyKind::discard},
                        {'r', ReplyKind::reject}, {'t', ReplyKind::tempfail}, {'s', ReplyKind::skip},
                        {'p', ReplyKind::progress}}) {
        auto bare = decode_reply(packet(c, ""));
        REQUIRE(bare);
        CHECK(bare->kind == k);
    }
}

TEST_CASE("milter replies: option negotiation with macro lists", "[milter]") {
    std::string data = "\0\0\0\6\0\0\0\x11\0\0\0\x40"s + "\0\0\0\2{mail_addr} {auth_authen}\0"s;
    auto r = decode_reply(packet('O', data));
    REQUIRE(r);
    CHECK(r->options.version == 6);
    CHECK(r->options.actions == (action::add_headers | action::change_headers));
    CHECK(r->options.steps == step::no_eoh);
    REQUIRE(r->macro_lists.size() == 1);
    CHECK(r->macro_lists[0].first == MacroStage::mail);
    CHECK(r->macro_lists[0].second == "{mail_addr} {auth_authen}");
    CHECK_FALSE(decode_reply(packet('O', "\0\0\0\6"s)));
    CHECK_FALSE(decode_reply(packet('O', "\0\0\0\6\0\0\0\0\0\0\0\0\0\0\0\x09x\0"s)));  // stage 9
}

TEST_CASE("milter replies: what could inject into a message is refused", "[milter]") {
    // A header value that starts a new header line, bare CR, a bad name.
    CHECK_FALSE(decode_reply(packet('h', "X-A\0v\nBcc: victim@example\0"s)));
    CHECK_FALSE(decode_reply(packet('h', "X-A\0v\rx\0"s)));
    CHECK_FALSE(decode_reply(packet('h', "X A\0v\0"s)));
    CHECK_FALSE(decode_reply(packet('h', "X-A:\0v\0"s)));
    CHECK_FALSE(decode_reply(packet('h', "\0v\0"s)));
    CHECK(decode_reply(packet('h', "X-A\0v\r\n\tw\0"s)));
    // Addresses with line ends or control characters; missing terminators.
    CHECK_FALSE(decode_reply(packet('+', "<a@b>\r\nRCPT TO:<c@d>\0"s)));
    CHECK_FALSE(decode_reply(packet('+', "<a@b>"s)));
    CHECK_FALSE(decode_reply(packet('+', "\0"s)));
    CHECK_FALSE(decode_reply(packet('+', "<a@b>\0extra\0"s)));
    CHECK_FALSE(decode_reply(packet('e', "<a@b>\0A=1\0B=2\0"s)));
    CHECK_FALSE(decode_reply(packet('2', "<a@b>\0NOTIFY=\nX\0"s)));
    // Reply codes: only 4xx/5xx, one code throughout, agreeing status class.
    CHECK_FALSE(decode_reply(packet('y', "250 ok\0"s)));
    CHECK_FALSE(decode_reply(packet('y', "550 5.7.1 a\nb\0"s)));
    CHECK_FALSE(decode_reply(packet('y', "550-a\r\n450 b\0"s)));
    CHECK_FALSE(decode_reply(packet('y', "550 4.7.1 mixed\0"s)));
    CHECK(decode_reply(packet('y', "550-5.7.1 first\r\n550 5.7.1 second\0"s)));
    CHECK(decode_reply(packet('y', "421\0"s)));
    // Data where none belongs; unknown commands.
    CHECK_FALSE(decode_reply(packet('c', "x")));
    CHECK(decode_reply(packet('c', "\0"s)));
    CHECK_FALSE(decode_reply(packet('Z', "")));
    CHECK_FALSE(decode_reply(packet('i', "\0\0"s)));
}
