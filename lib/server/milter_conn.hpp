// One connection to one milter on a process's libevent loop: connect to
// "inet:host:port" or "unix:/path" within milter_connect_timeout (a host
// name's lookup on the process's DNS channel included), negotiate
// (OPTNEG, mail/milter_proto.hpp), then one request at a time: packets out,
// and, unless the milter said it does not answer that stage, its reply back
// within the request's timeout, for the whole answer (edits do not restart
// it; a "progress" reply does, within mail/milter_limits.hpp's bound);
// modification replies before the final one (end of message only) go to
// the request's on_edit.
//
// Any fault (refused connect, a timeout, the milter's close, a packet the
// codec refuses, an edit outside the end of message, a reply nobody asked
// for) ends the connection for good: the pending request hears the error,
// and so does every later one, at once. The owner applies
// milter_default_action.
#pragma once

#include "mail/milter_limits.hpp"
#include "mail/milter_proto.hpp"
#include "server/milter_address.hpp"
#include "util/result.hpp"

#include <sys/socket.h>

#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

struct bufferevent;
struct event;
struct event_base;

namespace kurir::server {

struct MilterTimeouts {
    long connect = 30;   // milter_connect_timeout
    long command = 30;   // milter_command_timeout
    long content = 300;  // milter_content_timeout
};

class MilterConn {
public:
    using Reply = mail::milter::Reply;
    // What the milter asked for in OPTNEG: actions, steps, macro lists.
    struct Negotiated {
        mail::milter::Options options;
        std::vector<std::pair<mail::milter::MacroStage, std::string>> macro_lists;
    };

    // spec: "inet:host:port", "unix:/path" (or "local:/path"). ready runs
    // once, from the loop, when negotiation is done or has failed. dns
    // looks up a host name (milter_address.hpp); it must outlive the
    // connection, and may be null when spec names no host.
    static util::Result<std::unique_ptr<MilterConn>> open(event_base* base, std::string_view spec,
                                                          MilterTimeouts timeouts, mail::milter::Options offer,
                                                          std::function<void(util::Result<void>)> ready,
                                                          DnsChannel* dns = nullptr);
    ~MilterConn();
    MilterConn(const MilterConn&) = delete;
    MilterConn& operator=(const MilterConn&) = delete;

    // Sends packets; when want_reply, done runs with the final reply (or the
    // fault) from the loop; otherwise at once with a continue. on_edit takes
    // each modification reply before the final one; without it an edit is
    // a fault. An error from on_edit is a fault too.
    void request(std::string packets, bool want_reply, long timeout, std::function<void(util::Result<Reply>)> done,
                 std::function<util::Result<void>(const Reply&)> on_edit = {});
    // Sends packets and expects nothing back (ABORT, QUIT).
    void send(std::string_view packets);

    const std::string& name() const { return name_; }
    const Negotiated& negotiated() const { return negotiated_; }
    bool failed() const { return !error_.empty(); }
    const std::string& error() const { return error_; }

private:
    MilterConn(event_base* base, std::string name, MilterTimeouts timeouts);
    static void on_read(bufferevent*, void* arg);
    static void on_event(bufferevent*, short what, void* arg);
    static void on_timer(int, short, void* arg);
    static void on_lookup_start(int, short, void* arg);
    void arm(long seconds);
    void arm_until(long deadline_ms);
    void read_packets();
    void handle(mail::milter::Packet packet);
    void fault(std::string text);
    void finish(util::Result<Reply> result);

    event_base* base_;
    std::string name_;
    MilterTimeouts timeouts_;
    mail::milter::Options offer_;
    bufferevent* bev_ = nullptr;
    event* timer_ = nullptr;
    // A host name's lookup, until it has answered (done).
    struct Lookup {
        DnsChannel* dns;
        MilterSpec spec;
        event* start;
        bool done = false;
    };
    std::unique_ptr<Lookup> lookup_;
    std::string in_;
    std::string error_;  // set once the connection is unusable
    bool negotiating_ = true;
    mail::milter::ReplyDeadline deadline_{0, 0};  // of the request in progress
    Negotiated negotiated_;
    std::function<void(util::Result<void>)> ready_;
    std::function<void(util::Result<Reply>)> done_;  // set while a reply is awaited
    std::function<util::Result<void>(const Reply&)> on_edit_;
    std::shared_ptr<bool> alive_ = std::make_shared<bool>(true);
};

}  // namespace kurir::server
