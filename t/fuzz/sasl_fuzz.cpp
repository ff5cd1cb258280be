// The SASL exchange: AUTH arguments, client responses (base64, "=", "*"),
// PLAIN's NUL-separated fields, LOGIN's steps, and the Dovecot auth
// protocol's lines (handshake and replies). Never crash; what decodes
// encodes back to the same bytes; what parses keeps its bounds.
#include "fuzz_util.hpp"
#include "mail/dovecot_auth.hpp"
#include "mail/sasl.hpp"

#include <cstddef>
#include <cstdint>
#include <string>

using namespace kurir::mail;

namespace {

void check_base64(std::string_view in) {
    auto bytes = base64_decode(in);
    if (bytes) FUZZ_CHECK(base64_encode(*bytes) == in);  // strict: one spelling per byte string
    FUZZ_CHECK(base64_decode(base64_encode(in)).value() == in);
}

void check_auth(std::string_view in) {
    if (auto a = parse_auth_args(in)) {
        FUZZ_CHECK(!a->mechanism.empty() && a->mechanism.size() <= 20);
        if (a->initial) FUZZ_CHECK(!a->initial->empty() && a->initial->find(' ') == std::string::npos);
    }
    auto r = parse_sasl_response(in);
    if (auto* s = std::get_if<std::string>(&r)) FUZZ_CHECK(s->size() <= in.size());
    if (auto p = parse_plain(in)) {
        FUZZ_CHECK(!p->authcid.empty() && !p->passwd.empty());
        FUZZ_CHECK(p->authzid.size() <= 255 && p->authcid.size() <= 255 && p->passwd.size() <= 255);
        FUZZ_CHECK(p->authzid.size() + p->authcid.size() + p->passwd.size() + 2 == in.size());
    }
}

// The input split at newlines drives one exchange: the first line chooses
// the mechanism and the initial response, the rest are responses.
void check_exchange(std::string_view in) {
    using M = MechanismExchange;
    size_t nl = in.find('\n');
    std::string_view first = in.substr(0, nl);
    M m;
    std::string_view mech = first.size() % 2 ? "PLAIN" : "LOGIN";
    M::Step s = M::start(mech, first.empty() ? std::nullopt : std::optional<std::string_view>(first), m);
    int steps = 0;
    while (nl != std::string_view::npos && std::holds_alternative<M::Challenge>(s)) {
        in.remove_prefix(nl + 1);
        nl = in.find('\n');
        s = m.next(in.substr(0, nl));
        FUZZ_CHECK(++steps <= 2);  // PLAIN asks once at most, LOGIN twice
    }
    if (auto* c = std::get_if<M::Credentials>(&s)) {
        FUZZ_CHECK(!c->username.empty() && c->username.size() <= 255);
        FUZZ_CHECK(!c->password.empty() && c->password.size() <= 255);
    }
}

void check_dovecot(std::string_view in) {
    FUZZ_CHECK(dovecot_unescape(dovecot_escape(in)).value() == in);
    std::string esc = dovecot_escape(in);
    FUZZ_CHECK(esc.find('\t') == std::string::npos && esc.find('\n') == std::string::npos);
    DovecotHandshake h;
    size_t start = 0;
    while (start <= in.size()) {
        size_t nl = in.find('\n', start);
        std::string_view line = in.substr(start, nl == std::string_view::npos ? nl : nl - start);
        if (!h.done()) {
            if (!h.feed(line)) break;
        } else if (auto r = parse_dovecot_reply(line)) {
            FUZZ_CHECK(r->kind != DovecotReply::Kind::ok || !r->user.empty());
            if (r->kind == DovecotReply::Kind::cont) (void)base64_decode(r->challenge);
        }
        if (nl == std::string_view::npos) break;
        start = nl + 1;
    }
    // What we send never has a stray TAB or LF inside a field.
    DovecotAuthRequest req;
    req.id = in.size();
    req.mechanism = std::string(in.substr(0, 20));
    req.remote_addr = std::string(in.substr(0, 40));
    req.initial = base64_encode(in);
    std::string line = format_dovecot_auth(req);
    FUZZ_CHECK(line.find('\n') == line.size() - 1);
    auto fields = dovecot_split(std::string_view(line).substr(0, line.size() - 1));
    if (line.size() <= kMaxDovecotLine) {
        FUZZ_CHECK(fields.has_value());
        FUZZ_CHECK((*fields)[2] == req.mechanism);
    }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    std::string_view in(reinterpret_cast<const char*>(data), size);
    check_base64(in);
    check_auth(in);
    check_exchange(in);
    check_dovecot(in);
    return 0;
}
