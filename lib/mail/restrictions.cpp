#include "mail/restrictions.hpp"

#include "mail/address.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <array>
#include <utility>

namespace kurir::mail {
namespace {

constexpr std::array<std::pair<std::string_view, Restriction>, 8> kNames{{
    {"permit", Restriction::permit},
    {"reject", Restriction::reject},
    {"defer", Restriction::defer},
    {"permit_mynetworks", Restriction::permit_mynetworks},
    {"permit_sasl_authenticated", Restriction::permit_sasl_authenticated},
    {"reject_unauth_destination", Restriction::reject_unauth_destination},
    {"defer_unauth_destination", Restriction::defer_unauth_destination},
    {"reject_sender_login_mismatch", Restriction::reject_sender_login_mismatch},
}};

constexpr std::array<std::string_view, 5> kLists{"smtpd_client_restrictions", "smtpd_helo_restrictions",
                                                  "smtpd_sender_restrictions", "smtpd_relay_restrictions",
                                                  "smtpd_recipient_restrictions"};

std::vector<std::string_view> words(std::string_view value) {
    std::vector<std::string_view> out;
    size_t i = 0;
    while (i < value.size()) {
        while (i < value.size() && (value[i] == ',' || value[i] == ' ' || value[i] == '\t' || value[i] == '\n')) ++i;
        size_t start = i;
        while (i < value.size() && value[i] != ',' && value[i] != ' ' && value[i] != '\t' && value[i] != '\n') ++i;
        if (i > start) out.push_back(value.substr(start, i - start));
    }
    return out;
}

bool refuses_foreign_mail(const RestrictionList& list) {
    return std::any_of(list.steps.begin(), list.steps.end(), [](Restriction r) {
        return r == Restriction::reject || r == Restriction::defer || r == Restriction::reject_unauth_destination ||
               r == Restriction::defer_unauth_destination;
    });
}

// The object a list's generic reject names, as Postfix words it.
std::string access_denied(std::string_view parameter, const RcptFacts& f, bool defer) {
    std::string_view code = defer ? "450 4.7.1" : "554 5.7.1";
    if (parameter == "smtpd_client_restrictions")
        return fmt::format("{} <{}>: Client host rejected: Access denied", code, f.client);
    if (parameter == "smtpd_helo_restrictions")
        return fmt::format("{} <{}>: Helo command rejected: Access denied", code, f.helo);
    if (parameter == "smtpd_sender_restrictions")
        return fmt::format("{} <{}>: Sender address rejected: Access denied", code, quote_address(f.sender));
    return fmt::format("{} <{}>: Recipient address rejected: Access denied", code, quote_address(f.recipient));
}

// reject_sender_login_mismatch: refused when the map names owners of the
// sender and the client is not logged in as one of them, or when the
// client is logged in and its name does not own the sender.
util::Result<std::optional<std::string>> login_mismatch(const RcptFacts& f, const SenderOwners& owners) {
    if (f.sender.empty()) return std::nullopt;  // <>: no owner to check against
    auto found = owners(f.sender);
    if (!found) return std::unexpected(found.error());
    std::string quoted = quote_address(f.sender);
    if (f.sasl_username.empty()) {
        if (!*found) return std::nullopt;
        return fmt::format("553 5.7.1 <{}>: Sender address rejected: not logged in", quoted);
    }
    if (*found && std::find((*found)->begin(), (*found)->end(), f.sasl_username) != (*found)->end())
        return std::nullopt;
    return fmt::format("553 5.7.1 <{}>: Sender address rejected: not owned by user {}", quoted, f.sasl_username);
}

}  // namespace

util::Result<RestrictionList> parse_restriction_list(std::string_view parameter, std::string_view value) {
    RestrictionList list{std::string(parameter), {}};
    for (auto w : words(value)) {
        auto it = std::find_if(kNames.begin(), kNames.end(), [&](const auto& n) { return n.first == w; });
        if (it == kNames.end())
            return util::fail(fmt::format("{}: restriction \"{}\" is not implemented by kurir", parameter, w));
        list.steps.push_back(it->second);
    }
    return list;
}

util::Result<std::vector<RestrictionList>> parse_restriction_lists(
    const std::function<std::string(std::string_view parameter)>& value_of) {
    std::vector<RestrictionList> lists;
    for (auto parameter : kLists) {
        auto list = parse_restriction_list(parameter, value_of(parameter));
        if (!list) return std::unexpected(list.error());
        lists.push_back(std::move(*list));
    }
    if (!refuses_foreign_mail(lists[3]) && !refuses_foreign_mail(lists[4]))
        return util::fail(
            "smtpd_relay_restrictions and smtpd_recipient_restrictions: specify at least one of "
            "reject_unauth_destination, defer_unauth_destination, reject or defer (an open relay otherwise)");
    return lists;
}

util::Result<RestrictionVerdict> check_recipient(const std::vector<RestrictionList>& lists, const RcptFacts& f,
                                                 const SenderOwners& owners) {
    std::string quoted_rcpt = quote_address(f.recipient);
    for (const auto& list : lists) {
        for (Restriction r : list.steps) {
            std::optional<std::string> refusal;
            bool permitted = false;
            switch (r) {
                case Restriction::permit: permitted = true; break;
                case Restriction::reject: refusal = access_denied(list.parameter, f, false); break;
                case Restriction::defer: refusal = access_denied(list.parameter, f, true); break;
                case Restriction::permit_mynetworks: permitted = f.client_in_mynetworks; break;
                case Restriction::permit_sasl_authenticated: permitted = !f.sasl_username.empty(); break;
                case Restriction::reject_unauth_destination:
                    if (!f.recipient_domain_ours) refusal = fmt::format("554 5.7.1 <{}>: Relay access denied", quoted_rcpt);
                    break;
                case Restriction::defer_unauth_destination:
                    if (!f.recipient_domain_ours) refusal = fmt::format("454 4.7.1 <{}>: Relay access denied", quoted_rcpt);
                    break;
                case Restriction::reject_sender_login_mismatch: {
                    auto m = login_mismatch(f, owners);
                    if (!m) return std::unexpected(m.error());
                    refusal = std::move(*m);
                    break;
                }
            }
            if (refusal) return RestrictionVerdict{true, std::move(*refusal)};
            if (permitted) break;  // this list is done; the next one still applies
        }
    }
    return RestrictionVerdict{};
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

}  // namespace kurir::mail
