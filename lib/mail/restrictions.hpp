// The SMTP access restrictions smtpd applies, as a pure function: the
// restriction lists parsed from main.cf, and a decision from what is known
// about the client, its login, the sender and the recipient. Tables and the
// login owners are looked up through callbacks, so this file does no I/O.
//
// Postfix's lists and order. With smtpd_delay_reject = yes (the default)
// smtpd_client_restrictions, smtpd_helo_restrictions,
// smtpd_sender_restrictions, smtpd_relay_restrictions and
// smtpd_recipient_restrictions are all evaluated at RCPT; with "no" each at
// its own command (connect, HELO/EHLO, MAIL; relay and recipient at RCPT).
// smtpd_data_restrictions apply at DATA, smtpd_end_of_data_restrictions
// after the message's final dot. Within a list the first
// restriction that decides ends the list; a permit moves on to the next
// list, a reject or defer ends the whole check.
//
// Restrictions: permit, reject, defer, dunno, permit_mynetworks,
// permit_sasl_authenticated, reject_unauth_destination,
// defer_unauth_destination, reject_sender_login_mismatch,
// reject_invalid_helo_hostname, reject_non_fqdn_helo_hostname,
// reject_non_fqdn_sender, reject_non_fqdn_recipient,
// reject_unlisted_recipient, check_client_access, check_helo_access,
// check_sender_access, check_recipient_access (type:table),
// reject_unknown_sender_domain, reject_unknown_recipient_domain,
// reject_rbl_client and reject_rhsbl_sender (zone[=d.d.d.d]),
// reject_unauth_pipelining, and the names
// of smtpd_restriction_classes. The DNS ones ask for answers through
// RestrictionVerdict::needs_dns, so the caller can look them up
// asynchronously and check again. Any other name is a configuration error, never
// skipped.
//
// Access table results (access(5)): OK or all-numeric (permit), REJECT
// [text], DEFER [text], DUNNO, 4NN/5NN [d.d.d] text, HOLD [text] (the
// message goes to the hold queue), DISCARD [text] (accepted and thrown
// away), WARN text (logged only), or a restriction list (a class name, or
// names such as "permit_mynetworks, reject").
#pragma once

#include "mail/dns_answer.hpp"
#include "util/result.hpp"

#include <functional>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace kurir::mail {

enum class Restriction {
    permit,
    reject,
    defer,
    dunno,
    permit_mynetworks,
    permit_sasl_authenticated,
    reject_unauth_destination,
    defer_unauth_destination,
    reject_sender_login_mismatch,
    reject_invalid_helo_hostname,
    reject_non_fqdn_helo_hostname,
    reject_non_fqdn_sender,
    reject_non_fqdn_recipient,
    reject_unlisted_recipient,
    check_client_access,
    check_helo_access,
    check_sender_access,
    check_recipient_access,
    reject_unknown_sender_domain,
    reject_unknown_recipient_domain,
    reject_rbl_client,
    reject_rhsbl_sender,
    reject_unauth_pipelining,
    restriction_class,
};

struct RestrictionStep {
    Restriction kind;
    std::string arg;  // the table of check_*_access, the DNSBL zone, the name of a class
    bool operator==(const RestrictionStep&) const = default;
};

struct RestrictionList {
    std::string parameter;  // "smtpd_relay_restrictions", or a class name
    std::vector<RestrictionStep> steps;
};

// The reply codes Postfix lets an admin choose.
struct RestrictionCodes {
    int access_map_reject = 554;
    int access_map_defer = 450;
    int non_fqdn_reject = 504;
    int invalid_hostname_reject = 501;
    int unknown_local_recipient_reject = 550;
    int unknown_relay_recipient_reject = 550;
    int unknown_virtual_mailbox_reject = 550;
    int unknown_virtual_alias_reject = 550;
    int relay_domains_reject = 554;
    int unknown_address_reject = 450;
    int maps_rbl_reject = 554;
};

struct RestrictionPolicy {
    std::vector<RestrictionList> lists;  // client, helo, sender, relay, recipient
    RestrictionList data;                // smtpd_data_restrictions
    RestrictionList end_of_data;         // smtpd_end_of_data_restrictions
    std::map<std::string, RestrictionList, std::less<>> classes;
    bool delay_reject = true;
    RestrictionCodes codes;
};

// One list from its parameter's value (names separated by commas or
// whitespace; check_*_access take the next word as their table). An unknown
// or not yet implemented name is an error naming the parameter and the word.
util::Result<RestrictionList> parse_restriction_list(std::string_view parameter, std::string_view value,
                                                     const std::vector<std::string>& class_names = {});

// Every list, the classes and the codes from main.cf. Refuses, as Postfix
// does, a configuration whose relay and recipient lists together contain
// nothing that could refuse mail for other domains (an open relay).
util::Result<RestrictionPolicy> parse_restriction_policy(
    const std::function<std::string(std::string_view parameter)>& value_of);

// Where in the session a check is made.
enum class SmtpStage { connect, helo, mail, rcpt, data, end_of_data };

// DNS answers a check has been given so far, by question.
using DnsQuestion = std::pair<DnsType, std::string>;
using DnsAnswers = std::map<DnsQuestion, DnsAnswer>;

// What a check needs to know.
struct SmtpFacts {
    std::string client_name;  // "unknown" when it has none
    std::string client_addr;
    bool client_in_mynetworks = false;
    std::string helo;           // empty before HELO/EHLO
    std::string sasl_username;  // empty: not authenticated
    std::string sender;         // the envelope sender, "" for <>
    std::string recipient;      // the canonical recipient (RCPT only)
    bool recipient_domain_ours = false;  // mydestination or relay_domains (virtual domains later)
    bool recipient_unknown = false;      // local_recipient_maps or relay_recipient_maps does not know it
    bool recipient_relay = false;        // the recipient's domain is in relay_domains
    bool recipient_virtual = false;      // the recipient's domain is in virtual_mailbox_domains
    bool recipient_alias = false;        // the recipient's domain is in virtual_alias_domains
    bool sender_domain_ours = false;     // the sender's domain is one of ours (no DNS check)
    const DnsAnswers* dns = nullptr;     // answers so far (see needs_dns)
    // The client sent commands ahead of time where that is not allowed
    // (without EHLO's PIPELINING, or behind EHLO or DATA).
    bool unauth_pipelining = false;
    std::string recipient_delimiter;

    std::string client() const { return client_name + "[" + client_addr + "]"; }
};

// An access table's value for a key (nullopt: no entry; an error when the
// table cannot answer).
using AccessLookup =
    std::function<util::Result<std::optional<std::string>>(std::string_view table, std::string_view key)>;
// The login names smtpd_sender_login_maps gives as owners of a sender
// address, nullopt when it names no owner; an error when a table fails.
using SenderOwners = std::function<util::Result<std::optional<std::vector<std::string>>>(std::string_view sender)>;

struct RestrictionLookups {
    AccessLookup access;
    SenderOwners owners;
};

struct RestrictionVerdict {
    bool refused = false;
    std::string reply;  // "554 5.7.1 <x@y>: Relay access denied" when refused
    // HOLD and DISCARD act on the whole message; the texts are for the
    // log ("<x@y>: Sender address triggers HOLD action").
    std::optional<std::string> hold;
    std::optional<std::string> discard;
    std::vector<std::string> warnings;  // WARN results, for the log
    // The check stopped for a DNS answer it does not have yet: ask it, add
    // the answer to SmtpFacts::dns and check again.
    std::optional<DnsQuestion> needs_dns;
};

// The lists that apply at this stage (see above) and their verdict. An
// error is a check that could not be made (a table that fails, a bad table
// result): the caller defers, never accepts.
util::Result<RestrictionVerdict> check_restrictions(const RestrictionPolicy& policy, SmtpStage stage,
                                                    const SmtpFacts& facts, const RestrictionLookups& lookups);

// The keys access tables are searched by, in Postfix's order.
// A host name, then its parent domains: a.b.example, b.example, example.
std::vector<std::string> host_access_keys(std::string_view hostname);
// An address, then its shorter network prefixes: 192.0.2.1, 192.0.2, 192.0, 192.
std::vector<std::string> addr_access_keys(std::string_view addr);
// user+ext@domain, user@domain, domain and its parents, user+ext@, user@;
// the null sender is "<>".
std::vector<std::string> address_access_keys(std::string_view address, std::string_view delimiters);

// The DNSBL name of a client address under a zone: 192.0.2.1 and
// zen.example -> 1.2.0.192.zen.example (IPv6: reversed nibbles); empty when
// addr is not an address.
std::string dnsbl_name(std::string_view addr, std::string_view zone);

// RFC 1035 host name syntax as Postfix's valid_hostname, or an address
// literal ([192.0.2.1], [IPv6:...]).
bool valid_helo_hostname(std::string_view helo);
// The refusal of a recipient that the local, virtual mailbox or relay
// recipient table does not know (reject_unlisted_recipient, smtpd_reject_unlisted_recipient).
std::string unknown_recipient_reply(const RestrictionCodes& codes, const SmtpFacts& f);

// The keys Postfix looks a sender up by in smtpd_sender_login_maps: the
// address, then "@domain"; and the login names of a table's value.
std::vector<std::string> sender_login_keys(std::string_view sender);
std::vector<std::string> split_login_names(std::string_view value);

}  // namespace kurir::mail
