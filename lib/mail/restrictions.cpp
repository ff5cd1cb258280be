#include "mail/restrictions.hpp"

#include "mail/address.hpp"
#include "mail/maps.hpp"

#include <arpa/inet.h>
#include <fmt/format.h>
#include <netinet/in.h>

#include <algorithm>
#include <array>
#include <cctype>
#include <utility>

namespace kurir::mail {
namespace {

constexpr std::array<std::pair<std::string_view, Restriction>, 23> kNames{{
    {"permit", Restriction::permit},
    {"reject", Restriction::reject},
    {"defer", Restriction::defer},
    {"dunno", Restriction::dunno},
    {"permit_mynetworks", Restriction::permit_mynetworks},
    {"permit_sasl_authenticated", Restriction::permit_sasl_authenticated},
    {"reject_unauth_destination", Restriction::reject_unauth_destination},
    {"defer_unauth_destination", Restriction::defer_unauth_destination},
    {"reject_sender_login_mismatch", Restriction::reject_sender_login_mismatch},
    {"reject_invalid_helo_hostname", Restriction::reject_invalid_helo_hostname},
    {"reject_non_fqdn_helo_hostname", Restriction::reject_non_fqdn_helo_hostname},
    {"reject_non_fqdn_sender", Restriction::reject_non_fqdn_sender},
    {"reject_non_fqdn_recipient", Restriction::reject_non_fqdn_recipient},
    {"reject_unlisted_recipient", Restriction::reject_unlisted_recipient},
    {"check_client_access", Restriction::check_client_access},
    {"check_helo_access", Restriction::check_helo_access},
    {"check_sender_access", Restriction::check_sender_access},
    {"check_recipient_access", Restriction::check_recipient_access},
    {"reject_unknown_sender_domain", Restriction::reject_unknown_sender_domain},
    {"reject_unknown_recipient_domain", Restriction::reject_unknown_recipient_domain},
    {"reject_rbl_client", Restriction::reject_rbl_client},
    {"reject_rhsbl_sender", Restriction::reject_rhsbl_sender},
    {"reject_unauth_pipelining", Restriction::reject_unauth_pipelining},
}};

constexpr std::array<std::string_view, 5> kLists{"smtpd_client_restrictions", "smtpd_helo_restrictions",
                                                  "smtpd_sender_restrictions", "smtpd_relay_restrictions",
                                                  "smtpd_recipient_restrictions"};
constexpr std::string_view kDataList = "smtpd_data_restrictions";
constexpr std::string_view kEndOfDataList = "smtpd_end_of_data_restrictions";
// Classes may name classes; a loop among them ends here.
constexpr int kMaxNesting = 20;

std::vector<std::string_view> words(std::string_view value) {
    std::vector<std::string_view> out;
    auto sep = [](char c) { return c == ',' || c == ' ' || c == '\t' || c == '\n' || c == '\r'; };
    size_t i = 0;
    while (i < value.size()) {
        while (i < value.size() && sep(value[i])) ++i;
        size_t start = i;
        while (i < value.size() && !sep(value[i])) ++i;
        if (i > start) out.push_back(value.substr(start, i - start));
    }
    return out;
}

bool takes_table(Restriction r) {
    return r == Restriction::check_client_access || r == Restriction::check_helo_access ||
           r == Restriction::check_sender_access || r == Restriction::check_recipient_access;
}

bool takes_zone(Restriction r) { return r == Restriction::reject_rbl_client || r == Restriction::reject_rhsbl_sender; }

bool refuses_foreign_mail(const RestrictionList& list) {
    return std::any_of(list.steps.begin(), list.steps.end(), [](const RestrictionStep& s) {
        return s.kind == Restriction::reject || s.kind == Restriction::defer ||
               s.kind == Restriction::reject_unauth_destination || s.kind == Restriction::defer_unauth_destination;
    });
}

bool is_dsn(std::string_view w, char cls) {
    if (w.size() < 5 || w[0] != cls || w[1] != '.') return false;
    size_t dot = w.find('.', 2);
    if (dot == std::string_view::npos || dot == 2 || dot + 1 >= w.size()) return false;
    for (size_t i = 2; i < w.size(); ++i)
        if (i != dot && !std::isdigit(static_cast<unsigned char>(w[i]))) return false;
    return true;
}

std::string upper(std::string_view s) {
    std::string out(s);
    for (auto& c : out) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
    return out;
}

std::string_view trim(std::string_view s) {
    while (!s.empty() && std::isspace(static_cast<unsigned char>(s.front()))) s.remove_prefix(1);
    while (!s.empty() && std::isspace(static_cast<unsigned char>(s.back()))) s.remove_suffix(1);
    return s;
}

// "5.7.1 text" -> ("5.7.1", "text"); "text" -> (fallback, "text").
std::pair<std::string, std::string> split_dsn(std::string_view text, char cls, std::string_view fallback) {
    text = trim(text);
    size_t sp = text.find(' ');
    std::string_view first = text.substr(0, sp);
    if (is_dsn(first, cls))
        return {std::string(first), std::string(sp == std::string_view::npos ? "" : trim(text.substr(sp)))};
    return {std::string(fallback), std::string(text)};
}

// pending: a DNS answer is missing (RestrictionVerdict::needs_dns).
enum class Outcome { dunno, permit, refused, pending };

class Evaluator {
public:
    Evaluator(const RestrictionPolicy& p, SmtpStage stage, const SmtpFacts& f, const RestrictionLookups& l)
        : p_(p), stage_(stage), f_(f), l_(l) {}

    util::Result<Outcome> run_list(const RestrictionList& list, std::string_view context, int depth) {
        if (depth > kMaxNesting)
            return util::fail(fmt::format("{}: restriction classes nested more than {} deep", list.parameter,
                                          kMaxNesting));
        for (const auto& step : list.steps) {
            auto o = run_step(step, context, depth);
            if (!o) return o;
            if (*o != Outcome::dunno) return o;
        }
        return Outcome::dunno;
    }

    RestrictionVerdict verdict;

private:
    const RestrictionPolicy& p_;
    SmtpStage stage_;
    const SmtpFacts& f_;
    const RestrictionLookups& l_;

    bool have_sender() const { return stage_ >= SmtpStage::mail; }
    bool have_recipient() const { return stage_ == SmtpStage::rcpt; }

    Outcome refuse(std::string reply) {
        verdict.refused = true;
        verdict.reply = std::move(reply);
        return Outcome::refused;
    }

    // "<object>: Client host rejected", by the list (a plain reject) or by
    // the table (an access table's result).
    std::string object(std::string_view what) const {
        if (what == "smtpd_client_restrictions" || what == "client")
            return fmt::format("<{}>: Client host", f_.client());
        if (what == "smtpd_helo_restrictions" || what == "helo") return fmt::format("<{}>: Helo command", f_.helo);
        if (what == "smtpd_sender_restrictions" || what == "sender")
            return fmt::format("<{}>: Sender address", quote_address(f_.sender));
        if (what == kDataList) return "<DATA>: Data command";
        if (what == kEndOfDataList) return "<END-OF-MESSAGE>: End-of-data";
        return fmt::format("<{}>: Recipient address", quote_address(f_.recipient));
    }

    std::string rejected(int code, std::string_view dsn, std::string_view what, std::string_view text) const {
        return fmt::format("{} {} {} rejected: {}", code, dsn, object(what), text.empty() ? "Access denied" : text);
    }

    util::Result<Outcome> run_step(const RestrictionStep& step, std::string_view context, int depth) {
        const auto& codes = p_.codes;
        std::string rcpt = quote_address(f_.recipient);
        switch (step.kind) {
            case Restriction::permit: return Outcome::permit;
            case Restriction::dunno: return Outcome::dunno;
            case Restriction::reject: return refuse(rejected(554, "5.7.1", context, ""));
            case Restriction::defer: return refuse(rejected(450, "4.7.1", context, ""));
            case Restriction::permit_mynetworks: return f_.client_in_mynetworks ? Outcome::permit : Outcome::dunno;
            case Restriction::permit_sasl_authenticated:
                return f_.sasl_username.empty() ? Outcome::dunno : Outcome::permit;
            case Restriction::reject_unauth_destination:
                if (!have_recipient() || f_.recipient_domain_ours) return Outcome::dunno;
                return refuse(fmt::format("{} 5.7.1 <{}>: Relay access denied", codes.relay_domains_reject, rcpt));
            case Restriction::defer_unauth_destination:
                if (!have_recipient() || f_.recipient_domain_ours) return Outcome::dunno;
                return refuse(fmt::format("454 4.7.1 <{}>: Relay access denied", rcpt));
            case Restriction::reject_sender_login_mismatch: return login_mismatch();
            case Restriction::reject_invalid_helo_hostname:
                if (f_.helo.empty() || valid_helo_hostname(f_.helo)) return Outcome::dunno;
                return refuse(fmt::format("{} 5.5.2 <{}>: Helo command rejected: Invalid name",
                                          codes.invalid_hostname_reject, f_.helo));
            case Restriction::reject_non_fqdn_helo_hostname:
                if (f_.helo.empty() || f_.helo.front() == '[' || f_.helo.find('.') != std::string::npos)
                    return Outcome::dunno;
                return refuse(fmt::format("{} 5.5.2 <{}>: Helo command rejected: need fully-qualified hostname",
                                          codes.non_fqdn_reject, f_.helo));
            case Restriction::reject_non_fqdn_sender:
                if (!have_sender() || f_.sender.empty() || fqdn_address(f_.sender)) return Outcome::dunno;
                return refuse(fmt::format("{} 5.5.2 <{}>: Sender address rejected: need fully-qualified address",
                                          codes.non_fqdn_reject, quote_address(f_.sender)));
            case Restriction::reject_non_fqdn_recipient:
                if (!have_recipient() || fqdn_address(f_.recipient)) return Outcome::dunno;
                return refuse(fmt::format("{} 5.5.2 <{}>: Recipient address rejected: need fully-qualified address",
                                          codes.non_fqdn_reject, rcpt));
            case Restriction::reject_unlisted_recipient:
                if (!have_recipient() || !f_.recipient_unknown) return Outcome::dunno;
                return refuse(unknown_recipient_reply(codes, f_));
            case Restriction::check_client_access: {
                std::vector<AccessKey> keys;
                if (f_.client_name != "unknown") keys = whole_then_partial(host_access_keys(f_.client_name));
                for (auto& k : whole_then_partial(addr_access_keys(f_.client_addr))) keys.push_back(std::move(k));
                return check_access(step.arg, keys, "client", context, depth);
            }
            case Restriction::check_helo_access:
                if (f_.helo.empty()) return Outcome::dunno;
                return check_access(step.arg, whole_then_partial(host_access_keys(f_.helo)), "helo", context, depth);
            case Restriction::check_sender_access:
                if (!have_sender()) return Outcome::dunno;
                return check_access(step.arg, whole_then_partial(address_access_keys(f_.sender, f_.recipient_delimiter)),
                                    "sender", context, depth);
            case Restriction::check_recipient_access:
                if (!have_recipient()) return Outcome::dunno;
                return check_access(step.arg,
                                    whole_then_partial(address_access_keys(f_.recipient, f_.recipient_delimiter)),
                                    "recipient", context, depth);
            case Restriction::reject_unknown_sender_domain:
                if (!have_sender() || f_.sender.empty() || f_.sender_domain_ours) return Outcome::dunno;
                return unknown_domain(f_.sender, "Sender address", '8');
            case Restriction::reject_unknown_recipient_domain:
                if (!have_recipient() || f_.recipient_domain_ours) return Outcome::dunno;
                return unknown_domain(f_.recipient, "Recipient address", '2');
            case Restriction::reject_rbl_client: {
                std::string name = dnsbl_name(f_.client_addr, zone_of(step.arg));
                if (name.empty()) return Outcome::dunno;
                return dnsbl(name, step.arg, "Client host", f_.client_addr);
            }
            case Restriction::reject_rhsbl_sender: {
                if (!have_sender() || f_.sender.empty()) return Outcome::dunno;
                std::string domain = lowercase(domain_part(f_.sender));
                if (domain.empty() || domain.front() == '[') return Outcome::dunno;
                return dnsbl(domain + "." + std::string(zone_of(step.arg)), step.arg, "Sender address",
                             quote_address(f_.sender));
            }
            case Restriction::reject_unauth_pipelining:
                if (!f_.unauth_pipelining) return Outcome::dunno;
                return refuse(fmt::format("503 5.5.0 {} rejected: Improper use of SMTP command pipelining",
                                          object(context)));
            case Restriction::restriction_class: {
                auto it = p_.classes.find(step.arg);
                if (it == p_.classes.end()) return util::fail("restriction class " + step.arg + " is not defined");
                return run_list(it->second, context, depth + 1);
            }
        }
        return Outcome::dunno;
    }

    // The answer to a question, or null after asking for it (pending).
    const DnsAnswer* dns(DnsType type, const std::string& name) {
        if (f_.dns) {
            auto it = f_.dns->find({type, name});
            if (it != f_.dns->end()) return &it->second;
        }
        verdict.needs_dns = DnsQuestion{type, name};
        return nullptr;
    }

    static std::string_view zone_of(std::string_view arg) { return arg.substr(0, arg.find('=')); }

    // reject_unknown_*_domain: a domain with no MX, A or AAAA record, or a
    // null MX, as Postfix; a lookup that fails temporarily defers.
    util::Result<Outcome> unknown_domain(const std::string& address, std::string_view what, char detail) {
        std::string domain = lowercase(domain_part(address));
        if (domain.empty() || domain.front() == '[') return Outcome::dunno;
        int code = p_.codes.unknown_address_reject;
        std::string quoted = quote_address(address);
        auto not_found = [&](int c) {
            return refuse(fmt::format("{} {}.1.{} <{}>: {} rejected: Domain not found", c, c / 100, detail, quoted,
                                      what));
        };
        const DnsAnswer* mx = dns(DnsType::mx, domain);
        if (!mx) return Outcome::pending;
        if (mx->status == DnsAnswer::Status::failed) return not_found(450);
        if (mx->status == DnsAnswer::Status::not_found) return not_found(code);
        if (mx->status == DnsAnswer::Status::found) {
            if (mx->records.size() == 1 && mx->records[0].find(' ') == mx->records[0].size() - 1)
                return refuse(fmt::format("556 5.1.10 <{}>: {} rejected: Domain {} does not accept mail (nullMX)",
                                          quoted, what, domain));
            return Outcome::dunno;
        }
        for (DnsType type : {DnsType::a, DnsType::aaaa}) {
            const DnsAnswer* addr = dns(type, domain);
            if (!addr) return Outcome::pending;
            if (addr->status == DnsAnswer::Status::found) return Outcome::dunno;
            if (addr->status == DnsAnswer::Status::failed) return not_found(450);
        }
        return not_found(code);
    }

    // A DNSBL lookup: listed when the name has an A record (that matches
    // the "=d.d.d.d" filter, when given); the reason from its TXT record.
    // A lookup that fails counts as not listed, as in Postfix.
    util::Result<Outcome> dnsbl(const std::string& name, std::string_view arg, std::string_view cls,
                                std::string_view what) {
        const DnsAnswer* a = dns(DnsType::a, name);
        if (!a) return Outcome::pending;
        if (a->status != DnsAnswer::Status::found) return Outcome::dunno;
        size_t eq = arg.find('=');
        if (eq != std::string_view::npos) {
            std::string_view want = arg.substr(eq + 1);
            if (std::find(a->records.begin(), a->records.end(), want) == a->records.end()) return Outcome::dunno;
        }
        const DnsAnswer* txt = dns(DnsType::txt, name);
        if (!txt) return Outcome::pending;
        std::string reason;
        if (txt->status == DnsAnswer::Status::found && !txt->records.empty()) reason = "; " + txt->records.front();
        int code = p_.codes.maps_rbl_reject;
        return refuse(fmt::format("{} {}.7.1 Service unavailable; {} [{}] blocked using {}{}", code, code / 100, cls,
                                  what, zone_of(arg), reason));
    }

    static bool fqdn_address(std::string_view address) {
        std::string_view domain = domain_part(address);
        return !domain.empty() && (domain.front() == '[' || domain.find('.') != std::string_view::npos);
    }

    // reject_sender_login_mismatch: refused when the map names owners of the
    // sender and the client is not logged in as one of them, or when the
    // client is logged in and its name does not own the sender.
    util::Result<Outcome> login_mismatch() {
        if (!have_sender() || f_.sender.empty()) return Outcome::dunno;  // <>: no owner to check against
        auto found = l_.owners(f_.sender);
        if (!found) return std::unexpected(found.error());
        std::string quoted = quote_address(f_.sender);
        if (f_.sasl_username.empty()) {
            if (!*found) return Outcome::dunno;
            return refuse(fmt::format("553 5.7.1 <{}>: Sender address rejected: not logged in", quoted));
        }
        if (*found && std::find((*found)->begin(), (*found)->end(), f_.sasl_username) != (*found)->end())
            return Outcome::dunno;
        return refuse(
            fmt::format("553 5.7.1 <{}>: Sender address rejected: not owned by user {}", quoted, f_.sasl_username));
    }

    // A key of an access check: the whole name or address, or a partial
    // key made from it (a parent domain, "user@", an address prefix).
    struct AccessKey {
        std::string key;
        bool partial = false;
    };
    static std::vector<AccessKey> whole_then_partial(std::vector<std::string> keys) {
        std::vector<AccessKey> out;
        for (size_t i = 0; i < keys.size(); ++i) out.push_back({std::move(keys[i]), i > 0});
        return out;
    }

    // The first key the table has decides. Pattern tables (regexp:,
    // pcre:) are asked for the whole keys only, as Postfix asks them.
    util::Result<Outcome> check_access(const std::string& table, const std::vector<AccessKey>& keys,
                                       std::string_view what, std::string_view context, int depth) {
        const bool whole_only = map_matches_whole_key_only(table);
        for (const auto& [key, partial] : keys) {
            if (partial && whole_only) continue;
            auto value = l_.access(table, key);
            if (!value) return util::fail(fmt::format("{}: {}", table, value.error().text));
            if (!*value) continue;
            auto o = table_result(table, **value, what, context, depth);
            if (!o || *o != Outcome::dunno) return o;
            return Outcome::dunno;  // the first key found decides, even DUNNO
        }
        return Outcome::dunno;
    }

    util::Result<Outcome> table_result(const std::string& table, std::string_view raw, std::string_view what,
                                       std::string_view context, int depth) {
        std::string_view value = trim(raw);
        size_t sp = value.find_first_of(" \t");
        std::string action = upper(value.substr(0, sp));
        std::string_view rest = sp == std::string_view::npos ? std::string_view() : trim(value.substr(sp));
        const auto& codes = p_.codes;
        if (action == "OK") return Outcome::permit;
        if (!action.empty() && std::all_of(action.begin(), action.end(), [](char c) { return std::isdigit(static_cast<unsigned char>(c)); })) {
            if (action.size() == 3 && (action[0] == '4' || action[0] == '5')) {
                auto [dsn, text] = split_dsn(rest, action[0], action[0] == '4' ? "4.7.1" : "5.7.1");
                return refuse(rejected(std::stoi(action), dsn, what, text));
            }
            return Outcome::permit;  // access(5): an all-numeric result is OK
        }
        if (action == "REJECT") {
            auto [dsn, text] = split_dsn(rest, '5', "5.7.1");
            return refuse(rejected(codes.access_map_reject, dsn, what, text));
        }
        if (action == "DEFER") {
            auto [dsn, text] = split_dsn(rest, '4', "4.7.1");
            return refuse(rejected(codes.access_map_defer, dsn, what, text));
        }
        if (action == "DUNNO") return Outcome::dunno;
        if (action == "HOLD" || action == "DISCARD") {
            std::string note = rest.empty() ? fmt::format("{} triggers {} action", object(what), action)
                                            : fmt::format("{} {}", object(what), rest);
            (action == "HOLD" ? verdict.hold : verdict.discard) = std::move(note);
            return action == "HOLD" ? Outcome::dunno : Outcome::permit;
        }
        if (action == "WARN") {
            verdict.warnings.push_back(fmt::format("{} {}", object(what), rest));
            return Outcome::dunno;
        }
        // A restriction list: a class name, or names such as
        // "permit_mynetworks, reject".
        std::vector<std::string> class_names;
        for (const auto& [name, list] : p_.classes) class_names.push_back(name);
        auto list = parse_restriction_list(table, value, class_names);
        if (!list) return util::fail(fmt::format("{}: bad access table result \"{}\": {}", table, value,
                                                 list.error().text));
        return run_list(*list, context, depth + 1);
    }
};

std::vector<const RestrictionList*> lists_for(const RestrictionPolicy& p, SmtpStage stage) {
    std::vector<const RestrictionList*> out;
    if (stage == SmtpStage::data || stage == SmtpStage::end_of_data) {
        out.push_back(stage == SmtpStage::data ? &p.data : &p.end_of_data);
        return out;
    }
    if (p.delay_reject) {
        if (stage == SmtpStage::rcpt)
            for (const auto& l : p.lists) out.push_back(&l);
        return out;
    }
    switch (stage) {
        case SmtpStage::connect: out.push_back(&p.lists[0]); break;
        case SmtpStage::helo: out.push_back(&p.lists[1]); break;
        case SmtpStage::mail: out.push_back(&p.lists[2]); break;
        case SmtpStage::rcpt:
            out.push_back(&p.lists[3]);
            out.push_back(&p.lists[4]);
            break;
        case SmtpStage::data:
        case SmtpStage::end_of_data: break;
    }
    return out;
}

util::Result<int> reply_code(const std::function<std::string(std::string_view)>& value_of, std::string_view name,
                             char first) {
    std::string v(trim(value_of(name)));
    if (v.size() != 3 || !std::all_of(v.begin(), v.end(), [](char c) { return std::isdigit(static_cast<unsigned char>(c)); }) ||
        (v[0] != first && !(first == '5' && v[0] == '4')))
        return util::fail(fmt::format("{}: want a {}xx reply code: \"{}\"", name, first, v));
    return std::stoi(v);
}

}  // namespace

util::Result<RestrictionList> parse_restriction_list(std::string_view parameter, std::string_view value,
                                                     const std::vector<std::string>& class_names) {
    RestrictionList list{std::string(parameter), {}};
    auto w = words(value);
    for (size_t i = 0; i < w.size(); ++i) {
        if (std::find(class_names.begin(), class_names.end(), w[i]) != class_names.end()) {
            list.steps.push_back({Restriction::restriction_class, std::string(w[i])});
            continue;
        }
        auto it = std::find_if(kNames.begin(), kNames.end(), [&](const auto& n) { return n.first == w[i]; });
        if (it == kNames.end())
            return util::fail(fmt::format("{}: restriction \"{}\" is not implemented by kurir", parameter, w[i]));
        RestrictionStep step{it->second, {}};
        if (takes_table(step.kind)) {
            if (i + 1 >= w.size() || w[i + 1].find(':') == std::string_view::npos)
                return util::fail(fmt::format("{}: {} needs a type:table argument", parameter, w[i]));
            step.arg = std::string(w[++i]);
        }
        if (takes_zone(step.kind)) {
            if (i + 1 >= w.size() || w[i + 1].find('.') == std::string_view::npos ||
                std::find_if(kNames.begin(), kNames.end(), [&](const auto& n) { return n.first == w[i + 1]; }) !=
                    kNames.end())
                return util::fail(fmt::format("{}: {} needs a DNS zone argument", parameter, w[i]));
            step.arg = lowercase(w[++i]);
        }
        list.steps.push_back(std::move(step));
    }
    return list;
}

util::Result<RestrictionPolicy> parse_restriction_policy(
    const std::function<std::string(std::string_view parameter)>& value_of) {
    RestrictionPolicy p;
    std::vector<std::string> class_names;
    const std::string classes = value_of("smtpd_restriction_classes");  // words() are views into it
    for (auto name : words(classes)) {
        if (std::find_if(kNames.begin(), kNames.end(), [&](const auto& n) { return n.first == name; }) != kNames.end())
            return util::fail(fmt::format("smtpd_restriction_classes: \"{}\" is the name of a restriction", name));
        class_names.emplace_back(name);
    }
    for (const auto& name : class_names) {
        std::string value = value_of(name);
        if (trim(value).empty())
            return util::fail(fmt::format("smtpd_restriction_classes: class {} has no restrictions (set {} in main.cf)",
                                          name, name));
        auto list = parse_restriction_list(name, value, class_names);
        if (!list) return std::unexpected(list.error());
        p.classes.emplace(name, std::move(*list));
    }
    for (auto parameter : kLists) {
        auto list = parse_restriction_list(parameter, value_of(parameter), class_names);
        if (!list) return std::unexpected(list.error());
        p.lists.push_back(std::move(*list));
    }
    auto data = parse_restriction_list(kDataList, value_of(kDataList), class_names);
    if (!data) return std::unexpected(data.error());
    p.data = std::move(*data);
    auto end = parse_restriction_list(kEndOfDataList, value_of(kEndOfDataList), class_names);
    if (!end) return std::unexpected(end.error());
    p.end_of_data = std::move(*end);
    if (!refuses_foreign_mail(p.lists[3]) && !refuses_foreign_mail(p.lists[4]))
        return util::fail(
            "smtpd_relay_restrictions and smtpd_recipient_restrictions: specify at least one of "
            "reject_unauth_destination, defer_unauth_destination, reject or defer (an open relay otherwise)");
    std::string delay = lowercase(trim(value_of("smtpd_delay_reject")));
    if (delay != "yes" && delay != "true" && delay != "no" && delay != "false")
        return util::fail("smtpd_delay_reject: want yes or no: \"" + delay + "\"");
    p.delay_reject = delay == "yes" || delay == "true";
    struct Code {
        std::string_view name;
        char first;
        int* into;
    };
    for (auto [name, first, into] : {Code{"access_map_reject_code", '5', &p.codes.access_map_reject},
                                     Code{"access_map_defer_code", '4', &p.codes.access_map_defer},
                                     Code{"non_fqdn_reject_code", '5', &p.codes.non_fqdn_reject},
                                     Code{"invalid_hostname_reject_code", '5', &p.codes.invalid_hostname_reject},
                                     Code{"unknown_local_recipient_reject_code", '5',
                                          &p.codes.unknown_local_recipient_reject},
                                     Code{"unknown_address_reject_code", '5', &p.codes.unknown_address_reject},
                                     Code{"unknown_relay_recipient_reject_code", '5',
                                          &p.codes.unknown_relay_recipient_reject},
                                     Code{"relay_domains_reject_code", '5', &p.codes.relay_domains_reject},
                                     Code{"unknown_virtual_mailbox_reject_code", '5',
                                          &p.codes.unknown_virtual_mailbox_reject},
                                     Code{"unknown_virtual_alias_reject_code", '5',
                                          &p.codes.unknown_virtual_alias_reject},
                                     Code{"maps_rbl_reject_code", '5', &p.codes.maps_rbl_reject}}) {
        auto code = reply_code(value_of, name, first);
        if (!code) return std::unexpected(code.error());
        *into = *code;
    }
    return p;
}

util::Result<RestrictionVerdict> check_restrictions(const RestrictionPolicy& policy, SmtpStage stage,
                                                    const SmtpFacts& facts, const RestrictionLookups& lookups) {
    Evaluator e(policy, stage, facts, lookups);
    for (const RestrictionList* list : lists_for(policy, stage)) {
        auto o = e.run_list(*list, list->parameter, 0);
        if (!o) return std::unexpected(o.error());
        if (*o == Outcome::refused || *o == Outcome::pending) break;
    }
    return std::move(e.verdict);
}

std::vector<std::string> host_access_keys(std::string_view hostname) {
    std::vector<std::string> keys;
    std::string name = lowercase(hostname);
    while (!name.empty() && name.back() == '.') name.pop_back();
    std::string_view rest = name;
    while (!rest.empty()) {
        keys.emplace_back(rest);
        size_t dot = rest.find('.');
        if (dot == std::string_view::npos) break;
        rest.remove_prefix(dot + 1);
    }
    return keys;
}

std::vector<std::string> addr_access_keys(std::string_view addr) {
    std::vector<std::string> keys;
    std::string a = lowercase(addr);
    char sep = a.find(':') != std::string::npos ? ':' : '.';
    while (!a.empty()) {
        keys.push_back(a);
        size_t cut = a.rfind(sep);
        if (cut == std::string::npos) break;
        a.resize(cut);
        while (!a.empty() && a.back() == sep) a.pop_back();  // "2001:db8::" -> "2001:db8"
    }
    return keys;
}

std::vector<std::string> address_access_keys(std::string_view address, std::string_view delimiters) {
    if (address.empty()) return {"<>"};
    std::string a = lowercase(address);
    std::string local(local_part(a));
    std::string domain(domain_part(a));
    std::string bare = local;
    if (!delimiters.empty()) {
        size_t at = local.find_first_of(delimiters);
        if (at != std::string::npos && at > 0) bare = local.substr(0, at);
    }
    std::vector<std::string> keys;
    auto add = [&](std::string k) {
        if (std::find(keys.begin(), keys.end(), k) == keys.end()) keys.push_back(std::move(k));
    };
    if (domain.empty()) {
        add(local);
        add(bare);
        return keys;
    }
    add(a);
    add(bare + "@" + domain);
    for (auto& k : host_access_keys(domain)) add(std::move(k));
    add(local + "@");
    add(bare + "@");
    return keys;
}

std::string dnsbl_name(std::string_view addr, std::string_view zone) {
    std::string a(addr);
    in_addr v4{};
    in6_addr v6{};
    std::string out;
    if (::inet_pton(AF_INET, a.c_str(), &v4) == 1) {
        auto* b = reinterpret_cast<const unsigned char*>(&v4);
        out = fmt::format("{}.{}.{}.{}", b[3], b[2], b[1], b[0]);
    } else if (::inet_pton(AF_INET6, a.c_str(), &v6) == 1) {
        static constexpr char kHex[] = "0123456789abcdef";
        for (int i = 15; i >= 0; --i) {
            out += kHex[v6.s6_addr[i] & 0xf];
            out += '.';
            out += kHex[v6.s6_addr[i] >> 4];
            if (i > 0) out += '.';
        }
    } else {
        return {};
    }
    return out + "." + std::string(zone);
}

bool valid_helo_hostname(std::string_view helo) {
    if (helo.size() >= 2 && helo.front() == '[' && helo.back() == ']') {
        std::string_view lit = helo.substr(1, helo.size() - 2);
        if (lit.size() > 5 && upper(lit.substr(0, 5)) == "IPV6:") {
            lit.remove_prefix(5);
            return !lit.empty() && std::all_of(lit.begin(), lit.end(), [](char c) {
                return std::isxdigit(static_cast<unsigned char>(c)) || c == ':' || c == '.';
            });
        }
        int dots = 0;
        for (char c : lit) {
            if (c == '.') ++dots;
            else if (!std::isdigit(static_cast<unsigned char>(c))) return false;
        }
        return dots == 3;
    }
    if (helo.empty() || helo.size() > 255) return false;
    std::string_view name = helo;
    if (name.back() == '.') name.remove_suffix(1);
    size_t start = 0;
    bool all_numeric = true;
    std::string_view last_label;
    while (start <= name.size()) {
        size_t dot = name.find('.', start);
        std::string_view label = name.substr(start, dot == std::string_view::npos ? std::string_view::npos : dot - start);
        if (label.empty() || label.size() > 63 || label.front() == '-' || label.back() == '-') return false;
        for (char c : label) {
            if (!std::isalnum(static_cast<unsigned char>(c)) && c != '-' && c != '_') return false;
            if (!std::isdigit(static_cast<unsigned char>(c))) all_numeric = false;
        }
        last_label = label;
        if (dot == std::string_view::npos) break;
        start = dot + 1;
    }
    // A bare IPv4 address is not a host name; nor is a numeric top label.
    if (all_numeric) return false;
    return !std::all_of(last_label.begin(), last_label.end(), [](char c) { return std::isdigit(static_cast<unsigned char>(c)); });
}

std::vector<std::string> sender_login_keys(std::string_view sender) {
    std::vector<std::string> keys{lowercase(sender)};
    auto domain = domain_part(sender);
    if (!domain.empty()) keys.push_back("@" + lowercase(domain));
    return keys;
}

std::vector<std::string> split_login_names(std::string_view value) {
    std::vector<std::string> out;
    for (auto w : words(value)) out.emplace_back(w);
    return out;
}

std::string unknown_recipient_reply(const RestrictionCodes& codes, const SmtpFacts& f) {
    if (f.recipient_alias)
        return fmt::format("{} 5.1.1 <{}>: Recipient address rejected: User unknown in virtual alias table",
                           codes.unknown_virtual_alias_reject, quote_address(f.recipient));
    if (f.recipient_virtual)
        return fmt::format("{} 5.1.1 <{}>: Recipient address rejected: User unknown in virtual mailbox table",
                           codes.unknown_virtual_mailbox_reject, quote_address(f.recipient));
    return fmt::format("{} 5.1.1 <{}>: Recipient address rejected: User unknown in {} recipient table",
                       f.recipient_relay ? codes.unknown_relay_recipient_reject : codes.unknown_local_recipient_reject,
                       quote_address(f.recipient), f.recipient_relay ? "relay" : "local");
}

}  // namespace kurir::mail
