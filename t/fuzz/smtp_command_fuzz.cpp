// parse_smtp_command and parse_mail_args: never crash; accepted parameters
// are well formed and uppercased.
#include "fuzz_util.hpp"
#include "mail/address.hpp"
#include "mail/dsn_params.hpp"
#include "mail/smtp_command.hpp"

#include <cctype>
#include <cstddef>
#include <cstdint>

using namespace kurir::mail;

namespace {
void check_args(const kurir::util::Result<MailArgs>& r) {
    if (!r) return;
    FUZZ_CHECK(r->address.size() <= kMaxAddress);
    for (const auto& [name, value] : r->params) {
        FUZZ_CHECK(!name.empty());
        for (char c : name) {
            auto u = static_cast<unsigned char>(c);
            FUZZ_CHECK((isupper(u) || isdigit(u) || c == '-'));
        }
        for (char c : value) {
            auto u = static_cast<unsigned char>(c);
            FUZZ_CHECK(u >= 0x21 && u <= 0x7e);
        }
    }
}
}  // namespace

// DSN parameters: what parses is printable and formats back to a value
// that parses to the same thing.
void check_dsn(std::string_view value) {
    if (auto n = parse_notify(value)) FUZZ_CHECK(parse_notify(format_notify(*n)).value() == *n);
    if (auto o = parse_orcpt(value)) FUZZ_CHECK(parse_orcpt(format_orcpt(*o)).value() == *o);
    if (auto e = parse_envid(value)) {
        for (char c : *e) FUZZ_CHECK(static_cast<unsigned char>(c) >= 0x20 && static_cast<unsigned char>(c) < 0x7f);
        FUZZ_CHECK(parse_envid(encode_xtext(*e)).value() == *e);
    }
    if (auto x = decode_xtext(value)) FUZZ_CHECK(decode_xtext(encode_xtext(*x)).value() == *x);
    (void)parse_ret(value);
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    std::string_view in(reinterpret_cast<const char*>(data), size);
    check_dsn(in);
    SmtpCommand cmd = parse_smtp_command(in);
    FUZZ_CHECK(cmd.arg.size() <= size);
    FUZZ_CHECK(cmd.arg.empty() || (cmd.arg.back() != ' ' && cmd.arg.back() != '\t'));
    FUZZ_CHECK(in.find(cmd.arg) != std::string_view::npos);
    check_args(parse_mail_args(cmd.arg, "FROM:"));
    check_args(parse_mail_args(cmd.arg, "TO:"));
    check_args(parse_mail_args(in, "FROM:"));
    // Same command, other case: same verb.
    std::string upper(in);
    for (char& c : upper) c = static_cast<char>(toupper(static_cast<unsigned char>(c)));
    FUZZ_CHECK(parse_smtp_command(upper).verb == cmd.verb);
    return 0;
}
