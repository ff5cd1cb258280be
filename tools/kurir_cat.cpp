// NAME
//   kurir-cat - show a queued message, as postcat(1)
// SYNOPSIS
//   kurir-cat [-c config_dir] [-e] [-h] [-b] [-q] queue_id | file
// DESCRIPTION
//   Prints a queue file's envelope (-e), headers (-h) and body (-b); all
//   three when none is chosen. The argument is a queue id (looked up in
//   every queue) or a path. Headers and body are printed byte-exact, with
//   LF line ends, as local delivery would write them.
// SECURITY
//   Reads queue files: root or mail_owner only. The file is opened without
//   following a symbolic link and must be a regular file (a FIFO or device
//   put in a queue directory is refused, not waited on).
// DIAGNOSTICS
//   0 on success; EX_NOINPUT when there is no such message; EX_DATAERR when
//   the file is not a valid queue file.
#include "mail/address.hpp"
#include "mail/config.hpp"
#include "mail/queue.hpp"
#include "mail/queue_file.hpp"
#include "util/fs.hpp"

#include <fmt/format.h>
#include <sysexits.h>

#include <cstdlib>
#include <ctime>

using namespace kurir;

int main(int argc, char** argv) {
    std::string dir = mail::default_config_dir();
    bool env = false, hdr = false, body = false;
    std::string target;
    for (int i = 1; i < argc; ++i) {
        std::string a = argv[i];
        if (a == "-c" && i + 1 < argc)
            dir = argv[++i];
        else if (a == "-e")
            env = true;
        else if (a == "-h")
            hdr = true;
        else if (a == "-b")
            body = true;
        else if (a == "-q")
            ;  // the argument is a queue id (the default when it looks like one)
        else if (!a.empty() && a[0] != '-' && target.empty())
            target = a;
        else {
            fmt::print(stderr, "usage: kurir-cat [-c config_dir] [-e] [-h] [-b] queue_id | file\n");
            return EX_USAGE;
        }
    }
    if (target.empty()) {
        fmt::print(stderr, "usage: kurir-cat [-c config_dir] [-e] [-h] [-b] queue_id | file\n");
        return EX_USAGE;
    }
    if (!env && !hdr && !body) env = hdr = body = true;
    std::string path = target, label = target;
    if (mail::valid_queue_id(target)) {
        auto cfg = mail::Config::load(dir);
        if (!cfg) {
            fmt::print(stderr, "kurir-cat: fatal: {}\n", cfg.error().text);
            return EX_CONFIG;
        }
        mail::QueueDir queue(cfg->str("queue_directory"));
        auto where = queue.find(target);
        if (!where) {
            fmt::print(stderr, "kurir-cat: fatal: {}: no such message\n", target);
            return EX_NOINPUT;
        }
        path = queue.path(*where, target);
        label = std::string(mail::queue_name(*where)) + "/" + target;
    }
    // A queue file is in a directory mail_owner writes, and root may run
    // this: never through a symbolic link, never blocking on a FIFO.
    auto bytes = util::read_regular(path);
    if (!bytes) {
        fmt::print(stderr, "kurir-cat: fatal: {}\n", bytes.error().text);
        return EX_NOINPUT;
    }
    auto e = mail::parse_queue_file(*bytes, mail::RecipientsRequired::no);
    if (!e) {
        fmt::print(stderr, "kurir-cat: fatal: {}: {}\n", path, e.error().text);
        return EX_DATAERR;
    }
    std::string out;
    if (env) {
        time_t t = e->arrival_sec;
        char date[64];
        struct tm tm {};
        localtime_r(&t, &tm);
        strftime(date, sizeof date, "%a %b %e %H:%M:%S %Y", &tm);
        out += fmt::format("*** ENVELOPE RECORDS {} ***\n", label);
        out += fmt::format("message_size: {}\n", e->content_size);
        out += fmt::format("message_arrival_time: {}\n", date);
        out += fmt::format("sender: {}\n", mail::quote_address(e->sender));
        for (const auto& [n, v] : e->attrs) out += fmt::format("named_attribute: {}={}\n", n, v);
        for (const auto& r : e->recipients) {
            if (!r.original.empty()) out += fmt::format("original_recipient: {}\n", mail::quote_address(r.original));
            out += fmt::format("{}: {}\n", r.done ? "done_recipient" : "recipient", mail::quote_address(r.address));
            if (!r.defer_reason.empty()) out += fmt::format("delay_reason: {}\n", r.defer_reason);
        }
    }
    if (hdr || body) {
        if (env) out += fmt::format("*** MESSAGE CONTENTS {} ***\n", label);
        bool in_header = true;
        (void)mail::for_each_content_line(*bytes, *e, [&](std::string_view line) {
            bool show = in_header ? hdr : body;
            if (in_header && line.empty()) {
                in_header = false;
                show = hdr && body;  // the separator belongs to the whole message only
            }
            if (show) {
                out.append(line);
                out += '\n';
            }
        });
    }
    if (env) out += fmt::format("*** MESSAGE FILE END {} ***\n", label);
    fwrite(out.data(), 1, out.size(), stdout);
    return 0;
}
