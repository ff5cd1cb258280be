// Dovecot's authentication protocol (v1.x, client side), as pure functions
// over lines. The wire grammar (one command per LF-ended line, fields
// separated by TAB, each field tab-escaped with \001: "\0010" NUL,
// "\0011" \001, "\001t" TAB, "\001r" CR, "\001n" LF):
//
//   server: VERSION 1 <minor> | MECH <name> [flags] | SPID <pid> |
//           CUID <n> | COOKIE <hex> | DONE           (the handshake)
//   client: VERSION 1 1 / CPID <pid>                  (its handshake)
//   client: AUTH <id> <mech> service=smtp nologin [lip=] [rip=] [secured]
//           [resp=<base64>]
//   server: OK <id> [user=<u>] ... | FAIL <id> [reason=<r>] [temp] ... |
//           CONT <id> <base64>
//   client: CONT <id> <base64>                        (a client response)
//
// Unknown optional fields are ignored, as the protocol says; a malformed
// line is an error naming it.
#pragma once

#include "util/result.hpp"

#include <map>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

namespace kurir::mail {

// Longest line kurir accepts from the auth server.
constexpr size_t kMaxDovecotLine = 16384;

std::string dovecot_escape(std::string_view field);
util::Result<std::string> dovecot_unescape(std::string_view field);
// A line (without its LF) split at TABs, each field unescaped.
util::Result<std::vector<std::string>> dovecot_split(std::string_view line);

// The server's handshake, fed line by line until done().
class DovecotHandshake {
public:
    util::Result<void> feed(std::string_view line);
    bool done() const { return done_; }
    bool has_mechanism(std::string_view name) const { return mechanisms_.contains(std::string(name)); }
    const std::set<std::string>& mechanisms() const { return mechanisms_; }

private:
    bool version_ = false;
    bool done_ = false;
    std::set<std::string> mechanisms_;  // uppercase
};

// The client's handshake.
std::string dovecot_client_hello(long pid);

struct DovecotAuthRequest {
    unsigned long id = 0;
    std::string mechanism;
    std::string service = "smtp";
    std::string local_addr, remote_addr;
    bool secured = false;                // the session is under TLS
    std::optional<std::string> initial;  // base64, "" for an empty initial response
};
std::string format_dovecot_auth(const DovecotAuthRequest& r);
std::string format_dovecot_cont(unsigned long id, std::string_view base64);

struct DovecotReply {
    enum class Kind { ok, fail, cont } kind = Kind::fail;
    unsigned long id = 0;
    std::string challenge;  // CONT: base64 as sent
    std::string user;       // OK, FAIL: user=
    std::string reason;     // FAIL: reason=
    bool temporary = false; // FAIL: temp
};
util::Result<DovecotReply> parse_dovecot_reply(std::string_view line);

}  // namespace kurir::mail
