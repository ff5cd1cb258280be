// NAME
//   kurir-drop - put a locally submitted message into the maildrop queue
// SYNOPSIS
//   kurir-drop [-c config_dir]
// DESCRIPTION
//   Reads a record stream (A, S, R, M, N/L, X; lib/mail/record.hpp) from
//   standard input, as sendmail writes it, checks it strictly, and writes it
//   as maildrop/ID with the arrival time and the submitter's uid and login
//   name in front, durably (util::create_file_durable: an unnamed file,
//   fsync, linked as its queue id, directory sync). Exits 0 only then, and
//   wakes pickup. Nothing half-written ever has a queue id name.
// SECURITY
//   Installed setgid kurirdrop: the only program that can write into
//   maildrop/ (mode 1730). The group is off from the start and raised only
//   for the maildrop write and pickup's wake-up. The configuration is read
//   with the caller's own rights, so no message can show a byte the caller
//   could not read; a directory named with -c or KURIR_CONFIG other than
//   the compiled-in default is acted on with the group only when the real
//   user is root or the default main.cf lists it in
//   alternate_config_directories (or multi_instance_directories), as
//   Postfix's postdrop; otherwise the group is given up before it is read.
//   Descriptors 0-2 are opened on /dev/null when closed. It parses only its
//   input stream, writes only into a directory that looks like a maildrop
//   (mode 1730, our group, not owned by root), and takes the user's
//   identity from getuid(), never from input. pickup trusts the file's
//   owner, which is the submitting user.
// DIAGNOSTICS
//   0: queued; 75 (EX_TEMPFAIL): not queued, try again; 65 (EX_DATAERR):
//   the input is malformed or too big; 78 (EX_CONFIG).
#include "mail/clients.hpp"
#include "mail/config.hpp"
#include "mail/config_trust.hpp"
#include "mail/queue.hpp"
#include "mail/queue_file.hpp"
#include "mail/record.hpp"
#include "util/fs.hpp"
#include "util/log.hpp"
#include "util/privilege.hpp"

#include <fcntl.h>
#include <fmt/format.h>
#include <sodium.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sysexits.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <optional>

using namespace kurir;

namespace {

[[noreturn]] void die(int code, const std::string& text) { util::tool_fatal("kurir-drop", code, text); }

std::string read_input(size_t limit) {
    auto in = util::read_all_bounded(0, "standard input", limit);
    if (!in) die(EX_TEMPFAIL, in.error().text);
    if (!*in) die(EX_DATAERR, "message file too big");
    return std::move(**in);
}

}  // namespace

int main(int argc, char** argv) {
    // Before anything is opened: a caller who closed 0-2 must not get the
    // next file taken for input or for error messages.
    if (!util::open_stdio()) return EX_OSERR;
    auto privilege = util::SetgidPrivilege::begin();  // the group is off from here on
    if (!privilege) die(EX_SOFTWARE, privilege.error().text);
    std::optional<std::string> dash_c;
    for (int i = 1; i < argc; ++i) {
        std::string a = argv[i];
        if (a == "-c" && i + 1 < argc)
            dash_c = argv[++i];
        else
            die(EX_USAGE, "usage: kurir-drop [-c config_dir]");
    }
    // A configuration the administrator has not blessed (mail/config_trust)
    // is the caller's: read, and acted on, with the caller's rights alone.
    std::string dir = mail::caller_config_dir(dash_c);
    bool setgid = privilege->held();
    bool trusted = !setgid || mail::config_dir_trusted(dir);
    if (!trusted)
        if (auto d = privilege->drop(); !d) die(EX_SOFTWARE, d.error().text);
    ::umask(022);
    if (sodium_init() < 0) die(EX_SOFTWARE, "libsodium initialisation failed");
    auto cfg = mail::Config::load(dir);  // with the caller's rights: nothing it could not read itself
    if (!cfg) die(EX_CONFIG, cfg.error().text);
    mail::QueueDir queue(cfg->str("queue_directory"));
    std::string maildrop = queue.dir(mail::Queue::maildrop);

    // The setgid group is for a privilege-separated maildrop only (mode 1730,
    // our group, owned by mail_owner). Anywhere else - an instance run by a
    // normal user - kurir-drop writes with the user's own rights.
    if (privilege->held()) {
        struct stat st {};
        bool privsep_maildrop = ::stat(maildrop.c_str(), &st) == 0 && S_ISDIR(st.st_mode) && st.st_uid != 0 &&
                                st.st_gid == privilege->group() && (st.st_mode & 07777) == 01730;
        if (!privsep_maildrop)
            if (auto d = privilege->drop(); !d) die(EX_SOFTWARE, d.error().text);
    }

    long limit = cfg->integer("message_size_limit");
    size_t max_input = limit > 0 ? static_cast<size_t>(limit) * 2 + (1 << 20) : mail::kMaxRecord;
    std::string stream = read_input(max_input);

    uid_t uid = ::getuid();
    auto account = util::find_account(uid);
    struct timeval now {};
    ::gettimeofday(&now, nullptr);
    std::string file;
    mail::rec_append(file, mail::rec::version, "1");
    mail::rec_append(file, mail::rec::time, fmt::format("{} {}", now.tv_sec, now.tv_usec));
    mail::rec_append(file, mail::rec::attr, fmt::format("uid={}", uid));
    mail::rec_append(file, mail::rec::attr, "user=" + (account ? account->name : std::to_string(uid)));
    file += stream;
    mail::rec_append(file, mail::rec::end, "");
    auto env = mail::parse_queue_file(file, mail::RecipientsRequired::no);
    if (!env) die(EX_DATAERR, "malformed submission: " + env.error().text);
    if (limit > 0 && static_cast<long>(env->content_end - env->content_offset) > limit * 2)
        die(EX_DATAERR, "message file too big");

    // The group is held for the maildrop write and pickup's wake-up only.
    std::string id = mail::new_queue_id();
    if (privilege->held())
        if (auto r = privilege->raise(); !r) die(EX_TEMPFAIL, r.error().text);
    if (auto w = util::create_file_durable(maildrop, id, {file}, 0644); !w) {
        if (!trusted)
            die(EX_TEMPFAIL, fmt::format("{} (the configuration directory {} is not the default; to submit "
                                         "there as a user other than root, list it in "
                                         "alternate_config_directories of {}/main.cf)",
                                         w.error().text, dir, mail::compiled_config_dir()));
        die(EX_TEMPFAIL, w.error().text);
    }
    mail::send_trigger(queue, mail::service::pickup, mail::proto::Trigger::Kind::wakeup);
    if (privilege->held())
        if (auto d = privilege->drop(); !d) die(EX_SOFTWARE, d.error().text);
    return 0;
}
