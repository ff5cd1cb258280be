// NAME
//   sendmail, mailq, newaliases - the Sendmail-compatible interface
// SYNOPSIS
//   sendmail [-t] [-i] [-f sender] [-F name] [-N dsn] [-V envid] [-C dir] [--] [recipient ...]
//   sendmail -bs | -bp | -bi | -bv address ... | -q
//   mailq; newaliases
// DESCRIPTION
//   Reads a message from standard input and submits it through kurir-drop
//   into the maildrop queue; exits 0 once the message is safely on disk,
//   75 (EX_TEMPFAIL) when it is not. Without -i a line with a lone "." ends
//   the message. -t takes recipients from To:, Cc: and Bcc: (added to any
//   given; Bcc: is removed); with none there and none given, sendmail exits
//   64, "No recipient addresses found in message header", and submits
//   nothing. -N never, or a list of success, failure and delay, and -V
//   envid are the DSN NOTIFY and ENVID (RFC 3461) of every recipient, -t's
//   too. -bs speaks SMTP on standard input and output,
//   submitting each message the same way. -bp is mailq, -bi is newaliases,
//   -q flushes the queue, -bv prints how each address would be delivered.
//   The configuration directory is -C DIR, else $KURIR_CONFIG, else
//   /etc/kurir.
// SECURITY
//   Runs as the calling user, with no privileges of its own; kurir-drop is
//   the setgid helper, and pickup trusts only the file owner it sees.
// DIAGNOSTICS
//   sysexits(3): 0, 64 (usage), 65 (data), 75 (try again), 78 (config).
#include "build_paths.hpp"
#include "mail/address.hpp"
#include "mail/config.hpp"
#include "mail/resolve.hpp"
#include "tools/sendmail_session.hpp"
#include "tools/sendmail_submit.hpp"

#include <fmt/format.h>
#include <sysexits.h>
#include <unistd.h>

#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

using namespace kurir;

namespace {

[[noreturn]] void die(int code, const std::string& text) {
    fmt::print(stderr, "sendmail: fatal: {}\n", text);
    std::exit(code);
}

[[noreturn]] void exec_tool(const std::string& program, std::vector<std::string> args) {
    std::string path = std::string(KURIR_SBINDIR) + "/" + program;
    args.insert(args.begin(), program);
    std::vector<char*> argv;
    for (auto& a : args) argv.push_back(a.data());
    argv.push_back(nullptr);
    ::execv(path.c_str(), argv.data());
    die(EX_UNAVAILABLE, fmt::format("exec {}: {}", path, std::strerror(errno)));
}

int deliver(const tools::SendmailOptions& opts, const std::string& dir, const mail::Config& cfg) {
    tools::SubmissionWriter writer(opts);
    tools::DropProcess drop(dir);
    if (!drop.write(writer.envelope())) die(EX_TEMPFAIL, "cannot run kurir-drop");
    long limit = cfg.integer("message_size_limit");
    std::string chunk;
    char* line = nullptr;
    size_t cap = 0;
    ssize_t len;
    while ((len = ::getline(&line, &cap, stdin)) > 0) {
        std::string_view text(line, static_cast<size_t>(len));
        if (text.back() == '\n') text.remove_suffix(1);
        if (!writer.line(text, chunk)) break;
        if (limit > 0 && static_cast<long>(writer.content_bytes()) > limit) {
            drop.abort();
            die(EX_DATAERR, "message file too big");
        }
        if (chunk.size() > 65536) {
            if (!drop.write(chunk)) break;
            chunk.clear();
        }
    }
    std::free(line);
    if (std::ferror(stdin)) {
        drop.abort();
        die(EX_TEMPFAIL, "error reading standard input");
    }
    if (writer.without_recipients()) {
        drop.abort();
        die(EX_USAGE, "No recipient addresses found in message header");
    }
    chunk += writer.finish();
    drop.write(chunk);
    return drop.finish();
}

int verify(const tools::SendmailOptions& opts, const mail::Config& cfg) {
    for (const auto& r : opts.recipients) {
        auto maps = mail::MapList::open(cfg.list("transport_maps"));
        auto relay_domains = mail::DomainList::from_config(cfg, "relay_domains");
        auto res = relay_domains ? mail::resolve_address(cfg, r, maps ? &*maps : nullptr, &*relay_domains)
                                 : util::Result<mail::Resolved>(std::unexpected(relay_domains.error()));
        if (!res) {
            fmt::print("<{}>: {}\n", mail::quote_address(r), res.error().text);
            continue;
        }
        fmt::print("<{}>: transport={} nexthop={} recipient=<{}>\n", mail::quote_address(r), res->transport,
                   res->nexthop, mail::quote_address(res->recipient));
    }
    return 0;
}

}  // namespace

int main(int argc, char** argv) {
    std::string program = argv[0];
    if (auto slash = program.rfind('/'); slash != std::string::npos) program = program.substr(slash + 1);
    std::vector<std::string> args(argv + 1, argv + argc);
    auto opts = tools::parse_sendmail_args(program, args);
    if (!opts) {
        fmt::print(stderr, "sendmail: fatal: {}\n", opts.error().text);
        fmt::print(stderr, "usage: sendmail [-t] [-i] [-f sender] [-F name] [-C dir] [--] [recipient ...]\n");
        return EX_USAGE;
    }
    std::string dir = !opts->config_dir.empty() ? opts->config_dir : mail::default_config_dir();
    ::signal(SIGPIPE, SIG_IGN);
    switch (opts->mode) {
        case tools::SendmailMode::print_queue: exec_tool("kurir-queue", {"-c", dir, "-p"});
        case tools::SendmailMode::init_aliases: exec_tool("kurir-alias", {"-c", dir});
        case tools::SendmailMode::flush_queue: exec_tool("kurir", {"-c", dir, "flush"});
        default: break;
    }
    auto cfg = mail::Config::load(dir);
    if (!cfg) die(EX_CONFIG, cfg.error().text);
    switch (opts->mode) {
        case tools::SendmailMode::verify: return verify(*opts, *cfg);
        case tools::SendmailMode::smtp_stdin: return tools::run_smtp_session(*opts, dir, *cfg);
        default: return deliver(*opts, dir, *cfg);
    }
}
