// The SMTP access restrictions smtpd applies to each recipient, as a pure
// function: the restriction lists parsed from main.cf, and a decision from
// what is known about the client, its login, the sender and the recipient.
//
// Postfix's lists and order, with Postfix's smtpd_delay_reject = yes: every
// list is evaluated at RCPT time, smtpd_client_restrictions,
// smtpd_helo_restrictions, smtpd_sender_restrictions,
// smtpd_relay_restrictions, smtpd_recipient_restrictions. Within a list the
// first restriction that decides ends the list; a permit moves on to the
// next list, a reject or defer ends the whole check.
//
// The restrictions kurir implements so far are those authenticated relaying
// needs: permit, reject, defer, permit_mynetworks, permit_sasl_authenticated,
// reject_unauth_destination, defer_unauth_destination and
// reject_sender_login_mismatch (with smtpd_sender_login_maps). Any other
// name is a configuration error, never skipped.
#pragma once

#include "util/result.hpp"

#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace kurir::mail {

enum class Restriction {
    permit,
    reject,
    defer,
    permit_mynetworks,
    permit_sasl_authenticated,
    reject_unauth_destination,
    defer_unauth_destination,
    reject_sender_login_mismatch,
};

struct RestrictionList {
    std::string parameter;  // "smtpd_relay_restrictions"
    std::vector<Restriction> steps;
};

// One list from its parameter's value (names separated by commas or
// whitespace). An unknown or not yet implemented name is an error that
// names the parameter and the word.
util::Result<RestrictionList> parse_restriction_list(std::string_view parameter, std::string_view value);

// The five lists in evaluation order. Refuses, as Postfix does, a
// configuration whose relay and recipient lists together contain nothing
// that could refuse mail for other domains (an open relay).
util::Result<std::vector<RestrictionList>> parse_restriction_lists(
    const std::function<std::string(std::string_view parameter)>& value_of);

// What a recipient's check needs to know.
struct RcptFacts {
    std::string client;         // "name[addr]", for client-stage reply texts
    bool client_in_mynetworks = false;
    std::string helo;
    std::string sasl_username;  // empty: not authenticated
    std::string sender;         // the envelope sender, "" for <>
    std::string recipient;      // the canonical recipient
    bool recipient_domain_ours = false;  // mydestination (relay_domains and virtual domains later)
};

// The login names smtpd_sender_login_maps gives as owners of a sender
// address, nullopt when it names no owner; an error when a table fails.
using SenderOwners = std::function<util::Result<std::optional<std::vector<std::string>>>(std::string_view sender)>;

struct RestrictionVerdict {
    bool refused = false;
    std::string reply;  // "554 5.7.1 <x@y>: Relay access denied" when refused
};

util::Result<RestrictionVerdict> check_recipient(const std::vector<RestrictionList>& lists, const RcptFacts& facts,
                                                 const SenderOwners& owners);

// The keys Postfix looks a sender up by in smtpd_sender_login_maps: the
// address, then "@domain"; and the login names of a table's value.
std::vector<std::string> sender_login_keys(std::string_view sender);
std::vector<std::string> split_login_names(std::string_view value);

}  // namespace kurir::mail
