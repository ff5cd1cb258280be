// The suite's internal conversations: one struct per message, one strict
// codec each (Postfix's mail_proto.h is the model). Every message is one
// attribute frame (util/attr.hpp) whose first field is
//
//   protocol = NAME "/" VERSION
//
// and whose other fields follow in exactly the order listed here, each once;
// "then per recipient" groups repeat, in order. A decoder refuses a wrong
// protocol or version, and a missing, duplicated, extra, out-of-order or
// malformed field, with an error that names it: never a default, never a
// guess.
//
//   cleanup-hello/1     cleanup -> client    queue_id
//   cleanup-reply/1     cleanup -> client    status ("0" queued and durable,
//                                            "4" try again, "5" refused)
//                                            queue_id dsn reason content ("yes":
//                                            header/body_checks REJECT, "no")
//   rewrite-request/1   client -> rewrite    request ("rewrite" | "resolve")
//                                            address
//   rewrite-reply/1     rewrite -> client    address
//   resolve-reply/1     rewrite -> client    error (empty when resolved)
//                                            transport nexthop recipient flags
//   delivery-request/1  qmgr -> agent        queue_id sender nexthop
//                                            active_usec (microseconds since
//                                            the epoch),
//                                            then per recipient: offset address
//   delivery-result/1   agent -> qmgr        site ("alive" | "dead": no server
//                                            of the nexthop could be reached),
//                                            then per recipient: offset dsn
//                                            (2.x.x/4.x.x/5.x.x) text diag
//                                            mta action (the last three may
//                                            be empty)
//   queue-entry/2       qmgr -> kurir-queue  one frame per message, until the
//                                            end of the stream: queue_name
//                                            queue_id arrival_time
//                                            message_size sender sender_uid
//                                            forced_expire (0 | 1),
//                                            then per recipient: address
//                                            delay_reason
//
//   trigger/1           anyone -> public/qmgr, public/pickup
//                                            request (one letter: W wake up,
//                                            F flush the deferred queue, L
//                                            list the queue, I deliver one
//                                            message now, S flush mail for a
//                                            site), arg (the queue id for I,
//                                            the domain for S, else empty);
//                                            then the client's shutdown. L is
//                                            answered with queue-entry frames.
//
//   anvil-request/2     smtpd -> anvil       request ("connect" |
//                                            "disconnect" | "message" |
//                                            "recipient" | "newtls" | "auth"),
//                                            service (master.cf name),
//                                            client_addr (an IP address); on
//                                            one long-lived connection per
//                                            smtpd process
//   anvil-reply/2       anvil -> smtpd       count (the client's concurrent
//                                            connections to the service, this
//                                            one included, after the request),
//                                            rate (requests of this kind from
//                                            the client to the service in the
//                                            current anvil_rate_time_unit,
//                                            this one included; 0 for
//                                            disconnect)
//
// Defined where they are used: the record stream to cleanup (record.hpp),
// master's child status (server/master_proto.hpp).
#pragma once

#include "mail/queue_listing.hpp"
#include "util/attr.hpp"
#include "util/result.hpp"

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace kurir::mail::proto {

struct CleanupHello {
    std::string queue_id;
};

struct CleanupReply {
    char status = '4';  // '0', '4' or '5'
    std::string queue_id;
    std::string dsn;     // empty when queued
    std::string reason;  // empty when queued
    // header/body_checks REJECT: the reason is the whole text after the
    // code ("550 5.7.1 message content rejected"), as Postfix's smtpd says it.
    bool content = false;
};

struct RewriteRequest {
    enum class Kind { rewrite, resolve };
    Kind kind = Kind::rewrite;
    std::string address;
    std::string sender;  // resolve: the envelope sender (sender_dependent_relayhost_maps); may be empty
};

struct RewriteReply {
    std::string address;
};

struct ResolveReply {
    std::string error;  // not empty: the address could not be resolved
    std::string transport;
    std::string nexthop;
    std::string recipient;
    std::string flags;
};

struct DeliveryRecipient {
    size_t offset = 0;  // of its record in the queue file
    std::string address;
};

struct DeliveryRequest {
    std::string queue_id;
    std::string sender;
    std::string nexthop;
    int64_t active_usec = 0;  // when qmgr moved the message to active/
    std::vector<DeliveryRecipient> recipients;
};

struct RecipientResult {
    size_t offset = 0;
    std::string dsn;          // "2.0.0", "4.4.1", "5.1.1"
    std::string text;         // for the log and the defer reason
    std::string diagnostic;   // the remote reply, when there was one
    std::string remote_mta;   // the host that answered, when one did
    std::string action;       // "none": a DSN request went on to the server
};

struct DeliveryResult {
    bool site_dead = false;
    std::vector<RecipientResult> recipients;
};

struct Trigger {
    enum class Kind : char { wakeup = 'W', flush = 'F', list = 'L', deliver_one = 'I', flush_site = 'S' };
    Kind kind = Kind::wakeup;
    std::string arg;  // the queue id (I) or the domain (S); empty otherwise
};

struct AnvilRequest {
    enum class Kind { connect, disconnect, message, recipient, newtls, auth };
    Kind kind = Kind::connect;
    std::string service;
    std::string client_addr;
};

struct AnvilReply {
    long count = 0;  // connections open now
    long rate = 0;   // events of the request's kind in this time unit, this one included
};

util::Attrs encode(const AnvilRequest& m);
util::Attrs encode(const AnvilReply& m);
util::Result<AnvilRequest> decode_anvil_request(const util::Attrs& a);
util::Result<AnvilReply> decode_anvil_reply(const util::Attrs& a);

util::Attrs encode(const Trigger& m);
util::Result<Trigger> decode_trigger(const util::Attrs& a);
// What a public service read from one connection: exactly one trigger frame.
util::Result<Trigger> decode_trigger_bytes(std::string_view bytes);
// The bytes a client writes.
std::string trigger_bytes(const Trigger& m);

util::Attrs encode(const CleanupHello& m);
util::Attrs encode(const CleanupReply& m);
util::Attrs encode(const RewriteRequest& m);
util::Attrs encode(const RewriteReply& m);
util::Attrs encode(const ResolveReply& m);
util::Attrs encode(const DeliveryRequest& m);
util::Attrs encode(const DeliveryResult& m);
util::Attrs encode(const ListedMessage& m);

util::Result<CleanupHello> decode_cleanup_hello(const util::Attrs& a);
util::Result<CleanupReply> decode_cleanup_reply(const util::Attrs& a);
util::Result<RewriteRequest> decode_rewrite_request(const util::Attrs& a);
util::Result<RewriteReply> decode_rewrite_reply(const util::Attrs& a);
util::Result<ResolveReply> decode_resolve_reply(const util::Attrs& a);
util::Result<DeliveryRequest> decode_delivery_request(const util::Attrs& a);
util::Result<DeliveryResult> decode_delivery_result(const util::Attrs& a);
util::Result<ListedMessage> decode_queue_entry(const util::Attrs& a);

// The queue listing as qmgr sends it: queue-entry frames back to back. A
// partial frame at the end is an error.
std::string encode_queue_listing(const std::vector<ListedMessage>& messages);
util::Result<std::vector<ListedMessage>> decode_queue_listing(std::string_view bytes);

}  // namespace kurir::mail::proto
