// Client stubs for the suite's internal services, and the service names.
// What the attribute conversations carry is defined in mail_proto.hpp:
//
//   cleanup (private): cleanup-hello, then the client's record stream
//     (record.hpp: A, S, O, R, M, N/L, X), answered by cleanup-reply.
//   rewrite (private): rewrite-request -> rewrite-reply or resolve-reply.
//   local, smtp (private): delivery-request -> delivery-result.
//   qmgr, pickup (public): trigger frames, then the client's shutdown
//     (qmgr answers L with queue-entry frames, and closes).
#pragma once

#include "mail/mail_proto.hpp"
#include "mail/mail_proto.hpp"
#include "mail/queue.hpp"
#include "util/attr.hpp"
#include "util/fs.hpp"

#include <chrono>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

namespace kurir::mail {

namespace service {
inline constexpr std::string_view cleanup = "cleanup";
inline constexpr std::string_view rewrite = "rewrite";
inline constexpr std::string_view local = "local";
inline constexpr std::string_view qmgr = "qmgr";
inline constexpr std::string_view pickup = "pickup";
inline constexpr std::string_view anvil = "anvil";
}  // namespace service


// Best effort: triggers are hints. With wait_seconds = 0 it never blocks: a
// service whose listen queue is full has wake-ups waiting already, and a
// sender blocked there (cleanup, after its reply) would look busy to master,
// which would start yet another one. A command a person typed (flush) waits.
void send_trigger(const QueueDir& queue, std::string_view public_service, proto::Trigger::Kind kind,
                  int wait_seconds = 0);

// A connection to a trigger service kept for the process's next wake-ups,
// a frame each (cleanup wakes qmgr once per message it queues): no socket,
// connect and close per message, nor accept and close in the service. As
// send_trigger it never blocks: a wake-up the service's connection does not
// take at once is dropped (it has wake-ups waiting). One written to a
// connection the service closed (idle, a new qmgr) goes on a new one.
class KeptTrigger {
public:
    KeptTrigger(const QueueDir& queue, std::string_view public_service);
    void send(proto::Trigger::Kind kind);

private:
    std::string path_;
    util::Fd fd_;
};
// A request to a public service, and everything it answers.
util::Result<std::string> public_request(const QueueDir& queue, std::string_view service, std::string_view request);
// public_request in two steps, for a set-gid program that holds its group
// only for the connect: the connection, then the request and whole answer.
util::Result<util::Fd> public_connect(const QueueDir& queue, std::string_view service);
util::Result<std::string> public_converse(util::Fd fd, std::string_view service, std::string_view request);

// One message handed to cleanup over a blocking connection: the record
// stream out, cleanup's answer back. on_queue_id runs once cleanup has named
// the queue id (before the stream is sent), so callers can log it first.
struct CleanupAnswer {
    char status;  // '0' queued and durable, '4' try again, '5' refused
    std::string queue_id;
    std::string reason;
    std::string dsn;
    bool content = false;  // refused by header/body_checks
};
// What cleanup says to a submitter, one frame at a time: its hello (the
// queue id), then its reply. Both submitters read it here: submit_to_cleanup
// (blocking) and smtpd (on its event loop).
class CleanupConversation {
public:
    // The next frame from cleanup; an error names what was wrong with it (a
    // frame after the reply is one).
    util::Result<void> take(const util::Attrs& frame);
    bool greeted() const { return greeted_; }
    // What the hello named (empty before it).
    const std::string& queue_id() const { return queue_id_; }
    // nullopt until the reply.
    const std::optional<proto::CleanupReply>& reply() const { return reply_; }

private:
    bool greeted_ = false;
    std::string queue_id_;
    std::optional<proto::CleanupReply> reply_;
};
util::Result<CleanupAnswer> submit_to_cleanup(const QueueDir& queue, std::string_view stream, int timeout_seconds,
                                             const std::function<void(const std::string&)>& on_queue_id = nullptr);

// The stream for a message the mail system writes itself (bounce notices,
// forwarded copies): "name=value" attributes, sender, recipients, then the
// text ("\n"-separated header and body) as content records.
std::string compose_cleanup_stream(const std::vector<std::string>& attrs, std::string_view sender,
                                   const std::vector<std::string>& recipients, std::string_view text);

struct Resolved {
    std::string transport;  // "local", "smtp", "error", ...
    std::string nexthop;
    std::string recipient;
    std::string flags;
};

// A persistent blocking connection to trivial-rewrite, reconnecting on
// failure. Answers are remembered for a second (at most kCacheSize of them):
// mail comes in bursts from and to the same addresses, and each question
// saved is a round trip between two processes. A table rebuilt on disk is
// seen within that second; errors are never remembered.
class RewriteClient {
public:
    static constexpr size_t kCacheSize = 256;
    explicit RewriteClient(QueueDir queue, std::chrono::milliseconds remember = std::chrono::seconds(1))
        : queue_(std::move(queue)), remember_(remember) {}
    util::Result<std::string> rewrite(std::string_view address);
    // sender: the envelope sender, for sender_dependent_relayhost_maps.
    util::Result<Resolved> resolve(std::string_view address, std::string_view sender = {});
    // Questions that went to trivial-rewrite (the rest came from memory).
    size_t asked() const { return asked_; }

private:
    util::Result<util::Attrs> call(const util::Attrs& request);
    // trivial-rewrite's answer, decoded once: the rewritten address or the
    // resolution, whichever was asked.
    struct Answer {
        std::string address;
        Resolved resolved;
    };
    util::Result<Answer> cached_call(proto::RewriteRequest::Kind kind, std::string_view address,
                                     std::string_view sender = {});
    struct Remembered {
        std::chrono::steady_clock::time_point until;
        Answer answer;
    };
    QueueDir queue_;
    std::chrono::milliseconds remember_;
    util::Fd fd_;
    std::unordered_map<std::string, Remembered> cache_;
    size_t asked_ = 0;
};

}  // namespace kurir::mail
