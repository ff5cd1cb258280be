// NAME
//   kurir-queue - list and flush the mail queue, as postqueue(1)
// SYNOPSIS
//   kurir-queue [-c config_dir] -p | -j | -f | -i queue_id | -s site
//   kurir-queue [-c config_dir] -q [-s] [-p] [-m min_subdomains] [-b bucket_count]
//     [-t bucket_time] [-l] [-w terminal_width] [queue_name ...]
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
//
//   -q prints the queue's shape as qshape(1) does: how many recipients per
//   domain have waited how long, in minutes. The columns are the total (T)
//   and age buckets named by their upper limit: by default 5 10 20 40 80
//   160 320 640 1280 1280+ (each twice the one before, the last without a
//   limit). The first row is TOTAL, then one row per recipient domain, the
//   most recipients first. The options after -q are qshape's: -s counts
//   messages by sender domain instead (the null sender is MAILER-DAEMON);
//   -p adds rows for parent domains (".example.com") that have at least
//   min_subdomains (default 5) subdomains; -b the number of buckets
//   (default 10); -t the first bucket's limit in minutes (default 5); -l
//   linear buckets (multiples of bucket_time); -w the width the rows are
//   right justified to (default 80). The queues counted are the
//   incoming and active queues, or those named (maildrop, incoming, active,
//   deferred, hold): "kurir-queue -q deferred" shows what waits for a retry.
// SECURITY
//   Installed setgid kurirdrop (like kurir-drop) only to reach public/: the
//   group is off from the start, raised for the connect to public/qmgr and
//   given up for good right after it. The configuration is read with the
//   caller's own rights; a directory other than the compiled-in default is
//   acted on with the group only for root or when the default main.cf lists
//   it in alternate_config_directories (as Postfix's postqueue). It sends
//   fixed requests and parses qmgr's answer strictly.
// DIAGNOSTICS
//   0 on success; EX_UNAVAILABLE when the mail system is down; EX_USAGE.
#include "mail/clients.hpp"
#include "mail/config.hpp"
#include "mail/config_trust.hpp"
#include "mail/mail_proto.hpp"
#include "mail/queue_listing.hpp"
#include "mail/queue_shape.hpp"
#include "util/fs.hpp"
#include "util/log.hpp"
#include "util/privilege.hpp"

#include <fmt/format.h>
#include <sysexits.h>
#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <ctime>
#include <optional>
#include <utility>

using namespace kurir;

namespace {

[[noreturn]] void die(int code, const std::string& text) { util::tool_fatal("kurir-queue", code, text); }

[[noreturn]] void usage() {
    std::string_view line =
        "usage: kurir-queue [-c config_dir] -p | -j | -f | -i queue_id | -s site\n"
        "       kurir-queue [-c config_dir] -q [-s] [-p] [-m min_subdomains] [-b bucket_count]\n"
        "                   [-t bucket_time] [-l] [-w terminal_width] [queue_name ...]\n";
    [[maybe_unused]] ssize_t n = ::write(2, line.data(), line.size());
    std::exit(EX_USAGE);
}

// qmgr's answer to a request: the group is raised for the connect alone
// (public/ is mode 0710, group kurirdrop) and given up for good after it.
util::Result<std::string> ask_qmgr(const mail::QueueDir& queue, util::SetgidPrivilege& privilege,
                                   std::string_view request) {
    if (privilege.held())
        if (auto r = privilege.raise(); !r) return std::unexpected(r.error());
    auto fd = mail::public_connect(queue, mail::service::qmgr);
    if (privilege.held())
        if (auto d = privilege.drop(); !d) die(EX_SOFTWARE, d.error().text);
    if (!fd) return std::unexpected(fd.error());
    return mail::public_converse(std::move(*fd), mail::service::qmgr, request);
}

}  // namespace

int main(int argc, char** argv) {
    if (!util::open_stdio()) return EX_OSERR;
    auto privilege = util::SetgidPrivilege::begin();  // the group is off from here on
    if (!privilege) die(EX_SOFTWARE, privilege.error().text);
    std::optional<std::string> dash_c;
    char mode = 0;
    std::string arg;
    mail::QueueShapeOptions shape;
    std::vector<std::string> shape_queues;
    auto number = [&](int& i) {
        if (i + 1 >= argc) usage();
        auto n = mail::parse_integer(argv[++i]);
        if (!n || *n < 1 || *n > 100000) usage();
        return static_cast<int>(*n);
    };
    for (int i = 1; i < argc; ++i) {
        std::string a = argv[i];
        if (a == "-c" && i + 1 < argc) {
            dash_c = argv[++i];
        } else if (a == "-q" && mode == 0) {
            mode = 'q';
        } else if (mode == 'q') {
            // After -q the options are qshape's.
            if (a == "-s")
                shape.by_sender = true;
            else if (a == "-p")
                shape.parents = true;
            else if (a == "-l")
                shape.linear = true;
            else if (a == "-m")
                shape.min_subdomains = number(i);
            else if (a == "-b")
                shape.bucket_count = number(i);
            else if (a == "-t")
                shape.bucket_minutes = number(i);
            else if (a == "-w")
                shape.width = number(i);
            else if (mail::parse_queue(a) && a != "corrupt")
                shape_queues.push_back(a);
            else if (!a.empty() && a[0] != '-')
                die(EX_USAGE, fmt::format("unknown queue: {}", a));
            else
                usage();
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
    // A configuration the administrator has not blessed is the caller's:
    // read, and acted on, with the caller's rights alone (mail/config_trust).
    std::string dir = mail::caller_config_dir(dash_c);
    if (privilege->held() && !mail::config_dir_trusted(dir))
        if (auto d = privilege->drop(); !d) die(EX_SOFTWARE, d.error().text);
    auto cfg = mail::Config::load(dir);  // with the caller's rights: nothing it could not read itself
    if (!cfg) die(EX_CONFIG, cfg.error().text);
    mail::QueueDir queue(cfg->str("queue_directory"));
    if (mode == 'f' || mode == 'i' || mode == 's') {
        using Kind = mail::proto::Trigger::Kind;
        Kind kind = mode == 'f' ? Kind::flush : mode == 'i' ? Kind::deliver_one : Kind::flush_site;
        std::string req = mail::proto::trigger_bytes({kind, arg});
        if (!mail::proto::decode_trigger_bytes(req)) die(EX_USAGE, fmt::format("bad {}: {}", mode == 'i' ? "queue id" : "site", arg));
        auto r = ask_qmgr(queue, *privilege, req);
        if (!r) die(EX_UNAVAILABLE, "the mail system is down: " + r.error().text);
        return 0;
    }
    std::vector<mail::ListedMessage> messages;
    auto r = ask_qmgr(queue, *privilege, mail::proto::trigger_bytes({mail::proto::Trigger::Kind::list, ""}));
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
    std::string out;
    if (mode == 'q') {
        if (shape_queues.empty()) shape_queues = {"incoming", "active"};  // qshape's default
        std::erase_if(messages, [&](const mail::ListedMessage& m) {
            return std::find(shape_queues.begin(), shape_queues.end(), m.queue_name) == shape_queues.end();
        });
        out = mail::format_queue_shape(messages, static_cast<long>(std::time(nullptr)), shape);
    } else if (mode == 'j') {
        for (const auto& m : messages) out += mail::format_json_line(m);
    } else {
        out = mail::format_postqueue(messages);
    }
    if (auto w = util::write_all(1, out, "standard output"); !w) die(EX_IOERR, w.error().text);
    return 0;
}
