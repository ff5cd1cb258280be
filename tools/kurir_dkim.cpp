// NAME
//   kurir-dkim - make DKIM keys, print their DNS records, sign a message
// SYNOPSIS
//   kurir-dkim genkey [-t rsa|ed25519] [-b bits] -d domain -s selector -o keyfile
//   kurir-dkim txt -d domain -s selector -k keyfile
//   kurir-dkim sign -d domain -s selector -k keyfile [-k keyfile ...] [-T unix_time]
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
// SECURITY
//   genkey creates keyfile mode 0600 and never replaces an existing file
//   or follows a symbolic link. Run it as the user that will read the key.
// DIAGNOSTICS
//   Exit 0 on success; EX_USAGE for bad arguments, EX_NOINPUT for a key
//   that cannot be read, EX_CANTCREAT when keyfile cannot be created,
//   EX_DATAERR for a message that cannot be signed.
#include "mail/dkim_sign.hpp"

#include <fcntl.h>
#include <fmt/format.h>
#include <sysexits.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <ctime>
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
               "       kurir-dkim sign -d domain -s selector -k keyfile [-k keyfile ...] [-T unix_time]\n");
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

std::string body_hash(std::string_view body) {
    mail::DkimBodyHash hash;
    size_t pos = 0;
    while (pos < body.size()) {
        size_t nl = body.find('\n', pos);
        size_t end = nl == std::string_view::npos ? body.size() : nl;
        std::string_view line = body.substr(pos, end - pos);
        if (nl != std::string_view::npos && !line.empty() && line.back() == '\r') line.remove_suffix(1);
        hash.line(line);
        pos = nl == std::string_view::npos ? body.size() : nl + 1;
    }
    return hash.finish();
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
