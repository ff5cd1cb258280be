// smtpd's restriction lists and access table results: the first line of the
// input is a restriction list (with a class "c" defined by the second
// line), the rest is what every access table answers for every key. Never
// crash, never loop (classes that name each other end), and a refusal is
// always an SMTP reply; the key derivations keep their bounds.
#include "fuzz_util.hpp"
#include "mail/restrictions.hpp"

#include <cstddef>
#include <cstdint>
#include <string>

using namespace kurir::mail;

namespace {

std::string_view next_line(std::string_view& in) {
    size_t nl = in.find('\n');
    std::string_view line = in.substr(0, nl);
    in = nl == std::string_view::npos ? std::string_view() : in.substr(nl + 1);
    return line;
}

void check_keys(std::string_view in) {
    for (const auto& k : host_access_keys(in)) FUZZ_CHECK(!k.empty() && k.size() <= in.size());
    for (const auto& k : addr_access_keys(in)) FUZZ_CHECK(!k.empty() && k.size() <= in.size());
    auto keys = address_access_keys(in, "+");
    FUZZ_CHECK(!keys.empty());
    for (const auto& k : keys) FUZZ_CHECK(k.size() <= in.size() + 2);
    (void)valid_helo_hostname(in);
    (void)dnsbl_name(in, "zone.example");
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    std::string_view in(reinterpret_cast<const char*>(data), size);
    check_keys(in);
    std::string_view rest = in;
    std::string list(next_line(rest));
    std::string klass(next_line(rest));
    std::string table_value(rest);
    auto policy = parse_restriction_policy([&](std::string_view p) -> std::string {
        if (p == "smtpd_recipient_restrictions") return list;
        if (p == "smtpd_relay_restrictions") return "reject_unauth_destination";
        if (p == "smtpd_restriction_classes") return "c";
        if (p == "c") return klass.empty() ? "dunno" : klass;
        if (p == "smtpd_delay_reject") return "yes";
        if (p.ends_with("_code")) return p.starts_with("access_map_defer") ? "450" : "554";
        return "";
    });
    if (!policy) return 0;
    SmtpFacts f;
    f.client_name = "client.example";
    f.client_addr = "192.0.2.1";
    f.helo = "client.example";
    f.sender = "a@b.example";
    f.recipient = "u@ours.example";
    f.recipient_domain_ours = true;
    f.recipient_delimiter = "+";
    DnsAnswers dns;
    f.dns = &dns;
    RestrictionLookups lookups;
    lookups.access = [&](std::string_view, std::string_view) -> kurir::util::Result<std::optional<std::string>> {
        return std::optional<std::string>(table_value);
    };
    lookups.owners = [](std::string_view) -> kurir::util::Result<std::optional<std::vector<std::string>>> {
        return std::nullopt;
    };
    for (int round = 0; round < 8; ++round) {
        auto v = check_restrictions(*policy, SmtpStage::rcpt, f, lookups);
        if (!v) return 0;
        if (v->refused) {
            FUZZ_CHECK(v->reply.size() >= 4 && (v->reply[0] == '4' || v->reply[0] == '5'));
            return 0;
        }
        if (!v->needs_dns) return 0;
        DnsAnswer a;
        a.status = DnsAnswer::Status::found;
        a.records = {"127.0.0.2"};
        dns[*v->needs_dns] = a;
    }
    return 0;
}
