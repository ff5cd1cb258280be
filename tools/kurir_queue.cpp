// NAME
//   kurir-queue - list and flush the mail queue, as postqueue(1)
// SYNOPSIS
//   kurir-queue [-c config_dir] -p | -j | -f | -i queue_id | -s site
// DESCRIPTION
//   -p prints the queue in postqueue -p (mailq) layout: a header, one entry
//   per message (queue id with '*' for active and '!' for hold, size,
//   arrival time, sender; then delay reasons and recipients) and the trailer
//   "-- N Kbytes in M Requests."; an empty queue is "Mail queue is empty".
//   -j prints one JSON object per message with Postfix's field names. -f
//   retries every deferred message now, -i one message, -s the messages for
//   a domain. The listing comes from qmgr over public/qmgr as queue-entry
//   frames (mail/mail_proto.hpp), so an ordinary
//   user never reads queue files; root may read them directly when the mail
//   system is down.
// SECURITY
//   Installed setgid kurirdrop (like kurir-drop) only to reach public/.
//   It sends fixed requests and parses qmgr's answer strictly.
// DIAGNOSTICS
//   0 on success; EX_UNAVAILABLE when the mail system is down; EX_USAGE.
#include "mail/clients.hpp"
#include "mail/config.hpp"
#include "mail/mail_proto.hpp"
#include "mail/queue_listing.hpp"

#include <fmt/format.h>
#include <sysexits.h>
#include <unistd.h>

#include <cstdlib>
#include <utility>

using namespace kurir;

namespace {

[[noreturn]] void die(int code, const std::string& text) {
    fmt::print(stderr, "kurir-queue: fatal: {}\n", text);
    std::exit(code);
}

[[noreturn]] void usage() {
    fmt::print(stderr, "usage: kurir-queue [-c config_dir] -p | -j | -f | -i queue_id | -s site\n");
    std::exit(EX_USAGE);
}

}  // namespace

int main(int argc, char** argv) {
    std::string dir = mail::default_config_dir();
    char mode = 0;
    std::string arg;
    for (int i = 1; i < argc; ++i) {
        std::string a = argv[i];
        if (a == "-c" && i + 1 < argc) {
            dir = argv[++i];
        } else if (a == "-p" || a == "-j" || a == "-f") {
            mode = a[1];
        } else if ((a == "-i" || a == "-s") && i + 1 < argc) {
            mode = a[1];
            arg = argv[++i];
        } else {
            usage();
        }
    }
    if (mode == 0) usage();
    auto cfg = mail::Config::load(dir);
    if (!cfg) die(EX_CONFIG, cfg.error().text);
    mail::QueueDir queue(cfg->str("queue_directory"));
    if (mode == 'f' || mode == 'i' || mode == 's') {
        if (mode == 'i' && !mail::valid_queue_id(arg)) die(EX_USAGE, "bad queue id: " + arg);
        if (mode == 's' && (arg.empty() || arg.find_first_of(" \n\r\t\\/") != std::string::npos))
            die(EX_USAGE, "bad site: " + arg);
        std::string req = mode == 'f' ? "F" : mode == 'i' ? "I" + arg : "S" + arg;
        auto r = mail::public_request(queue, mail::service::qmgr, req);
        if (!r) die(EX_UNAVAILABLE, "the mail system is down: " + r.error().text);
        return 0;
    }
    std::vector<mail::ListedMessage> messages;
    auto r = mail::public_request(queue, mail::service::qmgr, "L");
    if (r) {
        auto listed = mail::proto::decode_queue_listing(*r);
        if (!listed) die(EX_PROTOCOL, "malformed queue listing from qmgr: " + listed.error().text);
        messages = std::move(*listed);
    } else if (::access(queue.dir(mail::Queue::incoming).c_str(), R_OK | X_OK) == 0) {
        // The mail system is down: whoever may read the queue reads it.
        messages = mail::list_queue(queue);
    } else {
        die(EX_UNAVAILABLE, "the mail system is down: " + r.error().text);
    }
    if (mode == 'j') {
        for (const auto& m : messages) fmt::print("{}", mail::format_json_line(m));
    } else {
        fmt::print("{}", mail::format_postqueue(messages));
    }
    return 0;
}
