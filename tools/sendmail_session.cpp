#include "tools/sendmail_session.hpp"

#include "build_paths.hpp"
#include "mail/address.hpp"
#include "mail/record.hpp"
#include "mail/smtp_command.hpp"
#include "util/fs.hpp"

#include <fcntl.h>
#include <spawn.h>
#include <fmt/format.h>
#include <sys/wait.h>
#include <sysexits.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

namespace kurir::tools {

// Started with posix_spawn: the child shares sendmail's memory until it
// execs, so there is no page-table copy on the path of every message.
DropProcess::DropProcess(const std::string& config_dir) {
    int p[2];
    if (::pipe2(p, O_CLOEXEC) < 0) return;
    std::string path = std::string(KURIR_SBINDIR) + "/kurir-drop";
    posix_spawn_file_actions_t actions;
    int err = ::posix_spawn_file_actions_init(&actions);
    std::string name = "kurir-drop", flag = "-c", dir = config_dir;
    char* argv[] = {name.data(), flag.data(), dir.data(), nullptr};
    pid_t pid = -1;
    if (err == 0) {
        err = ::posix_spawn_file_actions_adddup2(&actions, p[0], 0);
        if (err == 0) err = ::posix_spawn(&pid, path.c_str(), &actions, nullptr, argv, environ);
        ::posix_spawn_file_actions_destroy(&actions);
    }
    ::close(p[0]);
    if (err != 0) {
        fmt::print(stderr, "sendmail: fatal: exec {}: {}\n", path, std::strerror(err));
        ::close(p[1]);
        return;
    }
    pid_ = pid;
    fd_ = p[1];
}

DropProcess::~DropProcess() {
    if (fd_ >= 0 || pid_ > 0) abort();
}

bool DropProcess::write(std::string_view data) {
    if (fd_ < 0) return false;
    return static_cast<bool>(util::write_all(fd_, data, "kurir-drop"));
}

void DropProcess::abort() {
    if (fd_ >= 0) ::close(fd_);
    fd_ = -1;
    if (pid_ > 0) {
        int status;
        ::waitpid(pid_, &status, 0);
    }
    pid_ = -1;
}

int DropProcess::finish() {
    if (fd_ >= 0) ::close(fd_);
    fd_ = -1;
    if (pid_ <= 0) return EX_TEMPFAIL;
    int status = 0;
    while (::waitpid(pid_, &status, 0) < 0 && errno == EINTR) {
    }
    pid_ = -1;
    if (!WIFEXITED(status)) return EX_TEMPFAIL;
    return WEXITSTATUS(status);
}

namespace {

class StdinSession {
public:
    StdinSession(const SendmailOptions& opts, std::string dir, const mail::Config& cfg)
        : opts_(opts), dir_(std::move(dir)), cfg_(cfg) {}

    int run() {
        reply(fmt::format("220 {}", cfg_.str("smtpd_banner")));
        while (true) {
            auto line = next_line();
            if (!line) return 0;
            auto cmd = mail::parse_smtp_command(*line);
            using V = mail::SmtpVerb;
            switch (cmd.verb) {
                case V::helo: reply(fmt::format("250 {}", cfg_.str("myhostname"))); break;
                case V::ehlo:
                    reply(fmt::format("250-{}\r\n250-PIPELINING\r\n250-SIZE {}\r\n250-ENHANCEDSTATUSCODES\r\n250 8BITMIME",
                                      cfg_.str("myhostname"), cfg_.integer("message_size_limit")));
                    break;
                case V::mail: {
                    if (have_mail_) {
                        reply("503 5.5.1 Error: nested MAIL command");
                        break;
                    }
                    auto a = mail::parse_mail_args(cmd.arg, "FROM:");
                    if (!a) {
                        reply("501 5.1.7 Bad sender address syntax");
                        break;
                    }
                    have_mail_ = true;
                    sender_ = a->address;
                    reply("250 2.1.0 Ok");
                    break;
                }
                case V::rcpt: {
                    if (!have_mail_) {
                        reply("503 5.5.1 Error: need MAIL command");
                        break;
                    }
                    auto a = mail::parse_mail_args(cmd.arg, "TO:");
                    if (!a || a->address.empty()) {
                        reply("501 5.1.3 Bad recipient address syntax");
                        break;
                    }
                    rcpts_.push_back(a->address);
                    reply("250 2.1.5 Ok");
                    break;
                }
                case V::data:
                    if (rcpts_.empty()) {
                        reply("554 5.5.1 Error: no valid recipients");
                        break;
                    }
                    if (!data()) return EX_TEMPFAIL;
                    break;
                case V::rset:
                    reset();
                    reply("250 2.0.0 Ok");
                    break;
                case V::noop: reply("250 2.0.0 Ok"); break;
                case V::vrfy: reply("252 2.0.0 Cannot VRFY user"); break;
                case V::quit: reply("221 2.0.0 Bye"); return 0;
                default: reply("502 5.5.2 Error: command not recognized"); break;
            }
        }
    }

private:
    void reply(const std::string& text) {
        std::string out = text + "\r\n";
        (void)util::write_all(1, out, "standard output");
    }

    bool fill() {
        char tmp[65536];
        ssize_t n;
        do n = ::read(0, tmp, sizeof tmp);
        while (n < 0 && errno == EINTR);
        if (n <= 0) return false;
        buf_.append(tmp, static_cast<size_t>(n));
        return true;
    }

    std::optional<std::string> next_line() {
        while (buf_.find('\n') == std::string::npos) {
            if (buf_.size() > 4096) buf_.clear();  // an over-long command line is dropped
            if (!fill()) return std::nullopt;
        }
        size_t nl = buf_.find('\n');
        std::string line = buf_.substr(0, nl);
        buf_.erase(0, nl + 1);
        if (!line.empty() && line.back() == '\r') line.pop_back();
        return line;
    }

    bool data() {
        reply("354 End data with <CR><LF>.<CR><LF>");
        SendmailOptions o = opts_;
        o.sender = sender_;
        o.recipients = rcpts_;
        o.extract = false;
        o.dots_end = false;
        SubmissionWriter writer(o);
        DropProcess drop(dir_);
        bool ok = drop.write(writer.envelope());
        long limit = cfg_.integer("message_size_limit");
        bool too_big = false;
        mail::DataReader reader;
        std::string chunk;
        std::string part;
        while (!reader.ended()) {
            size_t used = reader.feed(buf_, [&](mail::DataReader::Kind k, std::string_view text) {
                if (k == mail::DataReader::Kind::end) return;
                if (k == mail::DataReader::Kind::part) {
                    part += text;
                    return;
                }
                std::string whole = part + std::string(text);
                part.clear();
                // A CR before the LF is the line end, not content (-bs reads local text).
                writer.line(whole, chunk);
            });
            buf_.erase(0, used);
            if (limit > 0 && static_cast<long>(writer.content_bytes()) > limit) too_big = true;
            if (ok && !too_big && chunk.size() > 65536) {
                ok = drop.write(chunk);
                chunk.clear();
            }
            if (!reader.ended() && !fill()) {
                drop.abort();
                return false;
            }
        }
        if (too_big) {
            drop.abort();
            reply("552 5.3.4 Error: message file too big");
        } else {
            chunk += writer.finish();
            ok = ok && drop.write(chunk);
            int rc = drop.finish();
            reply(ok && rc == 0 ? "250 2.0.0 Ok: queued" : "451 4.3.0 Error: queue file write error");
        }
        reset();
        return true;
    }

    void reset() {
        have_mail_ = false;
        sender_.clear();
        rcpts_.clear();
    }

    const SendmailOptions& opts_;
    std::string dir_;
    const mail::Config& cfg_;
    std::string buf_;
    bool have_mail_ = false;
    std::string sender_;
    std::vector<std::string> rcpts_;
};

}  // namespace

int run_smtp_session(const SendmailOptions& opts, const std::string& config_dir, const mail::Config& cfg) {
    return StdinSession(opts, config_dir, cfg).run();
}

}  // namespace kurir::tools
