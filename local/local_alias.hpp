// local's expansion of a recipient: aliases (alias_maps), the user's
// .forward, then the mailbox. Alias and .forward items may be addresses
// (local ones are expanded again, others forwarded through cleanup),
// |commands, /files, :include: files and \user (the mailbox, no further
// expansion). What was expanded is remembered (local_expansion.hpp): a list
// met inside itself is a loop (5.4.6), a destination met again gets no
// second copy, depth and fan-out are bounded; a Delivered-To: the message
// already carries for the recipient is a loop too. Commands and files are
// never run or written as root: a .forward of root's (or an alias) gives
// them default_privs' rights.
#pragma once

#include "local/local_expansion.hpp"
#include "local/local_mailbox.hpp"
#include "local/local_routing.hpp"
#include "mail/config.hpp"
#include "mail/maps.hpp"
#include "mail/queue.hpp"
#include "mail/queue_file.hpp"
#include "util/privilege.hpp"

#include <functional>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <string_view>

namespace kurir::local {

struct Message {
    const mail::QueueEnvelope& env;
    std::string_view body;  // header and body, LF line ends
    std::string queue_id;
};

// Forwards a copy of the message to an address through cleanup.
using Forwarder = std::function<DeliveryStatus(const std::string& target, const std::string& delivered_to)>;
// Hands a recipient to another delivery agent ("lmtp:unix:private/x"):
// mailbox_transport, fallback_transport (local_routing.hpp, local_pass.hpp).
using Passer = std::function<DeliveryStatus(const std::string& transport, const std::string& recipient)>;

class Expander {
public:
    // routing: the tables of local_routing.hpp; without it (nullptr) every
    // mailbox is local's own.
    Expander(const mail::Config& cfg, const mail::MapList& aliases, const Message& msg, Forwarder forward,
             Passer pass = {}, const RoutingTables* routing = nullptr);
    DeliveryStatus deliver(const std::string& recipient);
    // The last recipient went, as it was, to another agent (which logged it).
    bool passed_only() const { return passes_ > 0 && passes_ == expansion_.items(); }

private:
    DeliveryStatus deliver_at(const std::string& recipient, bool expand);
    // Expands the list named key (an alias, a .forward, a :include: file)
    // unless the expansion has met it before.
    DeliveryStatus expand_list(const std::string& key, const std::string& recipient,
                               const std::vector<std::string>& items, const std::string& origin, uid_t uid, gid_t gid,
                               const std::string& home);
    DeliveryStatus deliver_items(const std::string& recipient, const std::vector<std::string>& items,
                                 const std::string& origin, uid_t uid, gid_t gid, const std::string& home);
    DeliveryStatus deliver_include(const std::string& recipient, const std::string& path, uid_t uid, gid_t gid,
                                   const std::string& home);
    DeliveryStatus to_mailbox(const std::string& recipient);
    DeliveryStatus to_transport(const std::string& transport, const std::string& recipient);
    DeliveryStatus to_luser_relay(const std::string& address, const std::string& recipient);
    std::string prefix(const std::string& recipient) const;
    // A user's passwd entry, looked up once for the .forward and the mailbox.
    const std::optional<util::Account>& account(const std::string& user);

    const mail::Config& cfg_;
    const mail::MapList& aliases_;
    const Message& msg_;
    Forwarder forward_;
    Passer pass_;
    const RoutingTables* routing_;
    size_t passes_ = 0;
    std::set<std::string> delivered_to_;  // from the message's Delivered-To: headers
    std::map<std::string, std::optional<util::Account>> accounts_;
    Expansion expansion_;
};

// What a visit the expansion refused means for the recipient: nothing for
// first, success for again (the copy went there already), 5.4.6 otherwise.
DeliveryStatus refused_visit(Expansion::Visit visit, const std::string& recipient);


}  // namespace kurir::local
