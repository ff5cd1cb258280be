// NAME
//   kurir-dkim - make DKIM keys, print their DNS records, sign a message
// SYNOPSIS
//   kurir-dkim genkey [-t rsa|ed25519] [-b bits] -d domain -s selector -o keyfile
//   kurir-dkim txt -d domain -s selector -k keyfile
//   kurir-dkim sign -d domain -s selector -k keyfile [-k keyfile ...] [-T unix_time]
//   kurir-dkim verify -K keyrecords [-T unix_time]
// DESCRIPTION
//   genkey makes a private key (RSA of -b bits, default 2048, or Ed25519
//   per RFC 8463), writes it to keyfile in PKCS#8 PEM, and prints the TXT
//   record to publish as selector._domainkey.domain. txt prints that
//   record again for an existing key.
//   sign reads a message on standard input and writes it to standard
//   output with a DKIM-Signature header for each key (relaxed/relaxed,
//   rsa-sha256 or ed25519-sha256 by the key's type; From, Subject, Date,
//   To, Cc, Reply-To, Message-ID, In-Reply-To, References and the MIME
//   headers signed and oversigned), the message itself unchanged; -T sets
//   the signature time (default now). It is the signer cleanup uses, for
//   checking a key and a DNS record by hand.
//   verify reads a signed message on standard input and prints one line
//   per DKIM-Signature (at most 5), as in an Authentication-Results header:
//   "dkim=pass header.d=... header.s=... header.a=... header.b=...", or
//   fail, neutral, permerror, policy with the reason in parentheses;
//   "dkim=none" when the message has no signature. The keys come from the
//   file keyrecords, one "selector._domainkey.domain record" per line, not
//   from DNS (a name not in the file has no key).
// SECURITY
//   genkey creates keyfile mode 0600 and never replaces an existing file
//   or follows a symbolic link. Run it as the user that will read the key.
// DIAGNOSTICS
//   Exit 0 on success; EX_USAGE for bad arguments, EX_NOINPUT for a key
//   that cannot be read, EX_CANTCREAT when keyfile cannot be created,
//   EX_DATAERR for a message that cannot be signed.
#include "mail/dkim_sign.hpp"
#include "mail/dkim_verify.hpp"

#include <fcntl.h>
#include <fmt/format.h>
#include <sysexits.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <ctime>
#include <fstream>
#include <map>
#include <iostream>
#include <iterator>
#include <string>
#include <vector>

using namespace kurir;

namespace {

int usage() {
    fmt::print(stderr,
               "usage: kurir-dkim genkey [-t rsa|ed25519] [-b bits] -d domain -s selector -o keyfile\n"
               "       kurir-dkim txt -d domain -s selector -k keyfile\n"
               "       kurir-dkim sign -d domain -s selector -k keyfile [-k keyfile ...] [-T unix_time]\n"
               "       kurir-dkim verify -K keyrecords [-T unix_time]\n");
    return EX_USAGE;
}

// The record as zone-file text: strings of at most 255 bytes.
void print_record(const std::string& domain, const std::string& selector, const std::string& record) {
    fmt::print("{}._domainkey.{}. IN TXT (", selector, domain);
    for (size_t i = 0; i < record.size(); i += 250) fmt::print(" \"{}\"", record.substr(i, 250));
    fmt::print(" )\n");
}

struct Message {
    std::vector<mail::DkimHeaderField> headers;
    size_t body_start = 0;  // offset of the first body byte in the input
};

// The header fields (continuation lines joined with their line ends) and
// where the body starts: after the first empty line, or at the first line
// that is neither a field nor a continuation.
Message split_message(const std::string& text) {
    Message m;
    size_t pos = 0;
    while (pos < text.size()) {
        size_t nl = text.find('\n', pos);
        size_t end = nl == std::string::npos ? text.size() : nl;
        std::string_view line(text.data() + pos, end - pos);
        if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
        size_t next = nl == std::string::npos ? text.size() : nl + 1;
        if (line.empty()) {
            m.body_start = next;
            return m;
        }
        if ((line[0] == ' ' || line[0] == '\t') && !m.headers.empty()) {
            m.headers.back().second += "\n" + std::string(line);
        } else {
            size_t colon = line.find(':');
            if (colon == std::string_view::npos || colon == 0) {
                m.body_start = pos;
                return m;
            }
            m.headers.emplace_back(std::string(line.substr(0, colon)), std::string(line.substr(colon + 1)));
        }
        pos = next;
    }
    m.body_start = text.size();
    return m;
}

// Each body line without its line end (LF, or CRLF); a last line without
// one counts as a line.
template <class Fn>
void for_each_body_line(std::string_view body, Fn&& fn) {
    size_t pos = 0;
    while (pos < body.size()) {
        size_t nl = body.find('\n', pos);
        size_t end = nl == std::string_view::npos ? body.size() : nl;
        std::string_view line = body.substr(pos, end - pos);
        if (nl != std::string_view::npos && !line.empty() && line.back() == '\r') line.remove_suffix(1);
        fn(line);
        pos = nl == std::string_view::npos ? body.size() : nl + 1;
    }
}

std::string body_hash(std::string_view body) {
    mail::DkimBodyHash hash;
    for_each_body_line(body, [&](std::string_view line) { hash.line(line); });
    return hash.finish();
}

// "name record" lines; names compared without case and a trailing dot.
util::Result<std::map<std::string, std::string>> read_key_records(const std::string& path) {
    std::ifstream in(path);
    if (!in) return util::fail_errno("open " + path);
    std::map<std::string, std::string> records;
    std::string line;
    while (std::getline(in, line)) {
        size_t space = line.find_first_of(" \t");
        if (line.empty() || line[0] == '#' || space == std::string::npos) continue;
        std::string name = line.substr(0, space);
        for (auto& c : name) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
        if (!name.empty() && name.back() == '.') name.pop_back();
        records[name] = line.substr(line.find_first_not_of(" \t", space));
    }
    return records;
}

int verify(const std::string& key_file, std::time_t now) {
    auto records = read_key_records(key_file);
    if (!records) {
        fmt::print(stderr, "kurir-dkim: {}\n", records.error().text);
        return EX_NOINPUT;
    }
    std::string text((std::istreambuf_iterator<char>(std::cin)), std::istreambuf_iterator<char>());
    Message m = split_message(text);
    mail::DkimVerifier verifier(m.headers);
    for_each_body_line(std::string_view(text).substr(m.body_start),
                       [&](std::string_view line) { verifier.body_line(line); });
    verifier.finish_body();
    if (verifier.signatures() == 0) fmt::print("dkim=none\n");
    for (size_t i = 0; i < verifier.signatures(); ++i) {
        mail::DkimKeyLookup key;
        auto found = records->find(verifier.key_name(i));
        if (found != records->end()) {
            key.status = mail::DkimKeyLookup::Status::found;
            key.txt = found->second;
        }
        auto v = verifier.verify(i, key, now);
        std::string line = "dkim=" + std::string(mail::to_string(v.result));
        if (!v.reason.empty()) line += " (" + v.reason + ")";
        if (!v.domain.empty())
            line += " header.d=" + v.domain + " header.s=" + v.selector + " header.a=" + v.algorithm +
                    " header.b=" + v.b_prefix;
        fmt::print("{}\n", line);
    }
    return 0;
}

int genkey(const std::string& type, int bits, const std::string& domain, const std::string& selector,
           const std::string& out) {
    if (type != "rsa" && type != "ed25519") return usage();
    auto key = mail::DkimKey::generate(type == "rsa" ? mail::DkimKey::Type::rsa : mail::DkimKey::Type::ed25519, bits);
    if (!key) {
        fmt::print(stderr, "kurir-dkim: {}\n", key.error().text);
        return EX_USAGE;
    }
    auto pem = key->private_pem();
    auto record = key->dns_record();
    if (!pem || !record) {
        fmt::print(stderr, "kurir-dkim: {}\n", (!pem ? pem.error() : record.error()).text);
        return EX_SOFTWARE;
    }
    int fd = ::open(out.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
    if (fd < 0) {
        fmt::print(stderr, "kurir-dkim: create {}: {}\n", out, std::strerror(errno));
        return EX_CANTCREAT;
    }
    bool ok = ::write(fd, pem->data(), pem->size()) == static_cast<ssize_t>(pem->size()) && ::fsync(fd) == 0;
    ok = ::close(fd) == 0 && ok;
    if (!ok) {
        fmt::print(stderr, "kurir-dkim: write {}: {}\n", out, std::strerror(errno));
        ::unlink(out.c_str());
        return EX_CANTCREAT;
    }
    print_record(domain, selector, *record);
    return 0;
}

}  // namespace

int main(int argc, char** argv) {
    if (argc < 2) return usage();
    std::string verb = argv[1];
    std::string type = "rsa", domain, selector, out;
    std::vector<std::string> keys;
    std::string key_records;
    int bits = 2048;
    std::time_t now = std::time(nullptr);
    for (int i = 2; i < argc; ++i) {
        std::string a = argv[i];
        if (i + 1 >= argc) return usage();
        std::string v = argv[++i];
        if (a == "-t") {
            type = v;
        } else if (a == "-b") {
            try {
                bits = std::stoi(v);
            } catch (...) {
                return usage();
            }
        } else if (a == "-d") {
            domain = v;
        } else if (a == "-s") {
            selector = v;
        } else if (a == "-o") {
            out = v;
        } else if (a == "-k") {
            keys.push_back(v);
        } else if (a == "-K") {
            key_records = v;
        } else if (a == "-T") {
            try {
                now = static_cast<std::time_t>(std::stoll(v));
            } catch (...) {
                return usage();
            }
        } else {
            return usage();
        }
    }
    if (verb == "verify") return key_records.empty() ? usage() : verify(key_records, now);
    if (domain.empty() || selector.empty()) return usage();
    if (verb == "genkey") return out.empty() ? usage() : genkey(type, bits, domain, selector, out);
    if (keys.empty() || (verb == "txt" && keys.size() != 1)) return usage();
    std::vector<mail::DkimKey> loaded;
    for (const auto& path : keys) {
        auto key = mail::DkimKey::load(path);
        if (!key) {
            fmt::print(stderr, "kurir-dkim: {}\n", key.error().text);
            return EX_NOINPUT;
        }
        loaded.push_back(std::move(*key));
    }
    if (verb == "txt") {
        auto record = loaded[0].dns_record();
        if (!record) {
            fmt::print(stderr, "kurir-dkim: {}\n", record.error().text);
            return EX_SOFTWARE;
        }
        print_record(domain, selector, *record);
        return 0;
    }
    if (verb != "sign") return usage();
    std::string text((std::istreambuf_iterator<char>(std::cin)), std::istreambuf_iterator<char>());
    Message m = split_message(text);
    std::string hash = body_hash(std::string_view(text).substr(m.body_start));
    mail::DkimSignRequest request;
    request.domain = domain;
    request.selector = selector;
    request.now = now;
    std::string fields;
    for (const auto& key : loaded) {
        auto value = mail::dkim_sign(key, request, m.headers, hash);
        if (!value) {
            fmt::print(stderr, "kurir-dkim: {}\n", value.error().text);
            return EX_DATAERR;
        }
        fields += "DKIM-Signature:" + *value + "\n";
    }
    std::cout << fields << text;
    std::cout.flush();
    return std::cout ? 0 : EX_IOERR;
}
