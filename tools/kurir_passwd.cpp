// NAME
//   kurir-passwd - add, change or remove a user of kurir's SMTP AUTH table
// SYNOPSIS
//   kurir-passwd [-c config_dir] [-f file] user
//   kurir-passwd [-c config_dir] [-f file] -d user
//   kurir-passwd -p user
// DESCRIPTION
//   Reads a password (from standard input, one line; on a terminal it is
//   asked for twice without echo), hashes it with argon2id
//   (libsodium's crypto_pwhash_str, opslimit and memlimit "interactive":
//   64 MiB, well under a second to verify) and writes "user hash" into the
//   table's source file, replacing the user's line or adding one, then
//   rebuilds file.db as kurir-map does. -d removes the user. -p only prints
//   the "user hash" line. The file is the first hash: or btree: table of
//   smtpd_sasl_password_maps (default $config_directory/sasl_passwd)
//   unless -f names one. Passwords are never stored in plaintext.
// SECURITY
//   The source and the table are created mode 0640; run by root, they are
//   owned by root and mail_owner's group, so that smtpd can reopen a
//   rebuilt table after dropping privileges.
// DIAGNOSTICS
//   Exit 0 on success; sysexits(3) codes otherwise.
#include "mail/config.hpp"
#include "mail/maps.hpp"
#include "tools/passwd_file.hpp"
#include "util/indexed_map.hpp"
#include "util/fs.hpp"
#include "util/privilege.hpp"

#include <fcntl.h>
#include <fmt/format.h>
#include <sodium.h>
#include <sys/stat.h>
#include <sysexits.h>
#include <termios.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <iostream>
#include <optional>
#include <string>

using namespace kurir;
using namespace kurir::tools;

namespace {

std::optional<std::string> read_password_line(const char* prompt, bool tty) {
    termios old {};
    if (tty) {
        fmt::print(stderr, "{}", prompt);
        ::tcgetattr(0, &old);
        termios quiet = old;
        quiet.c_lflag &= ~static_cast<tcflag_t>(ECHO);
        ::tcsetattr(0, TCSAFLUSH, &quiet);
    }
    std::string line;
    bool ok = static_cast<bool>(std::getline(std::cin, line));
    if (tty) {
        ::tcsetattr(0, TCSAFLUSH, &old);
        fmt::print(stderr, "\n");
    }
    if (!ok) return std::nullopt;
    if (!line.empty() && line.back() == '\r') line.pop_back();
    return line;
}

int fail(int code, const std::string& text) {
    fmt::print(stderr, "kurir-passwd: fatal: {}\n", text);
    return code;
}

}  // namespace

int main(int argc, char** argv) {
    std::string dir = mail::default_config_dir();
    if (const char* e = std::getenv("KURIR_CONFIG"); e && *e) dir = e;
    std::string file;
    bool remove = false, print_only = false;
    std::string user;
    for (int i = 1; i < argc; ++i) {
        std::string a = argv[i];
        if (a == "-c" && i + 1 < argc)
            dir = argv[++i];
        else if (a == "-f" && i + 1 < argc)
            file = argv[++i];
        else if (a == "-d")
            remove = true;
        else if (a == "-p")
            print_only = true;
        else if (!a.empty() && a[0] != '-' && user.empty())
            user = a;
        else
            return fail(EX_USAGE, "usage: kurir-passwd [-c config_dir] [-f file] [-d | -p] user");
    }
    if (!passwd_user_ok(user)) return fail(EX_USAGE, "user \"" + user + "\": not a valid user name");
    if (sodium_init() < 0) return fail(EX_SOFTWARE, "libsodium: initialisation failed");

    std::optional<std::string> hash;
    if (!remove) {
        bool tty = ::isatty(0);
        auto pw = read_password_line("Password: ", tty);
        if (!pw || pw->empty()) return fail(EX_DATAERR, "no password given");
        if (pw->size() > 255) return fail(EX_DATAERR, "password longer than 255 octets");
        if (tty) {
            auto again = read_password_line("Again: ", tty);
            if (!again || *again != *pw) return fail(EX_DATAERR, "the passwords differ");
        }
        char out[crypto_pwhash_STRBYTES];
        if (crypto_pwhash_str(out, pw->data(), pw->size(), crypto_pwhash_OPSLIMIT_INTERACTIVE,
                              crypto_pwhash_MEMLIMIT_INTERACTIVE) != 0)
            return fail(EX_OSERR, "crypto_pwhash_str: out of memory");
        sodium_memzero(pw->data(), pw->size());
        hash = out;
    }
    if (print_only) {
        if (!hash) return fail(EX_USAGE, "-p and -d exclude each other");
        fmt::print("{} {}\n", user, *hash);
        return 0;
    }

    auto cfg = mail::Config::load(dir);
    if (!cfg) return fail(EX_CONFIG, cfg.error().text);
    util::DbType type = util::DbType::hash;
    if (file.empty()) {
        for (const auto& spec : cfg->list("smtpd_sasl_password_maps")) {
            auto s = mail::parse_map_spec(spec);
            if (!s || !s->indexed()) continue;
            file = s->path;
            type = s->type;
            break;
        }
        if (file.empty()) return fail(EX_CONFIG, "smtpd_sasl_password_maps: no hash:, btree:, lmdb: or cdb: table named");
    }

    ::umask(077);
    std::string text;
    if (auto t = util::read_file(file); t)
        text = std::move(*t);
    else if (::access(file.c_str(), F_OK) == 0)
        return fail(EX_NOINPUT, t.error().text);
    bool found = false;
    std::string updated = passwd_source_update(text, user, hash, found);
    if (remove && !found) return fail(EX_NOUSER, "user " + user + ": not in " + file);
    auto entries = mail::parse_map_source(updated, file);
    if (!entries) return fail(EX_DATAERR, entries.error().text);

    size_t slash = file.rfind('/');
    std::string fdir = slash == std::string::npos ? "." : (slash == 0 ? "/" : file.substr(0, slash));
    std::string fname = slash == std::string::npos ? file : file.substr(slash + 1);
    if (auto r = util::write_file_durable(fdir, fname, updated, 0640); !r) return fail(EX_CANTCREAT, r.error().text);
    std::string db = util::indexed_file(file, type);
    if (auto r = util::build_indexed(file, type, *entries); !r) return fail(EX_CANTCREAT, r.error().text);
    if (util::running_as_root()) {
        auto owner = util::find_account(cfg->str("mail_owner"));
        gid_t gid = owner ? owner->gid : 0;
        for (const auto& f : {file, db})
            if (::chown(f.c_str(), 0, gid) < 0 || ::chmod(f.c_str(), 0640) < 0)
                return fail(EX_CANTCREAT, "chown " + f + ": " + std::strerror(errno));
    } else if (::chmod(db.c_str(), 0640) < 0) {
        return fail(EX_CANTCREAT, "chmod " + db + ": " + std::strerror(errno));
    }
    fmt::print(stderr, "kurir-passwd: {} {} in {}\n", user, remove ? "removed" : (found ? "changed" : "added"), file);
    return 0;
}
