#include "server/tls_credentials.hpp"

#include "server/libssl.hpp"

#include <fcntl.h>
#include <openssl/rand.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <vector>

namespace kurir::server {

util::Result<std::string> read_tls_credentials(const TlsServerSettings& settings) {
    std::vector<std::string> files;
    auto add = [&](const std::string& f) {
        if (!f.empty() && std::find(files.begin(), files.end(), f) == files.end()) files.push_back(f);
    };
    if (!settings.chain_files.empty()) {
        for (const auto& f : settings.chain_files) add(f);
    } else {
        add(settings.key_file.empty() ? settings.cert_file : settings.key_file);
        add(settings.cert_file);
    }
    std::string pem;
    for (const auto& f : files) {
        auto text = util::read_file(f);
        if (!text) return std::unexpected(text.error());
        pem += *text;
        if (!pem.empty() && pem.back() != '\n') pem += '\n';
    }
    return pem;
}

namespace {
constexpr std::string_view kTicketLine = "kurir-ticket-keys: ";
}

util::Result<std::string> new_ticket_keys() {
    if (const auto& library = load_tls_library(); !library) return std::unexpected(library.error());
    std::string keys(kTicketKeyBytes, '\0');
    if (RAND_bytes(reinterpret_cast<unsigned char*>(keys.data()), static_cast<int>(keys.size())) != 1)
        return util::fail("RAND_bytes: no randomness for TLS session ticket keys");
    return keys;
}

std::string with_ticket_keys(std::string bundle, std::string_view keys) {
    static constexpr char hex[] = "0123456789abcdef";
    if (!bundle.empty() && bundle.back() != '\n') bundle += '\n';
    bundle += kTicketLine;
    for (unsigned char c : keys) {
        bundle += hex[c >> 4];
        bundle += hex[c & 15];
    }
    bundle += '\n';
    return bundle;
}

std::optional<std::string> ticket_keys_of(std::string_view bundle) {
    size_t at = bundle.rfind(kTicketLine);
    if (at == std::string_view::npos || (at > 0 && bundle[at - 1] != '\n')) return std::nullopt;
    std::string_view hex = bundle.substr(at + kTicketLine.size());
    if (hex.size() < kTicketKeyBytes * 2 + 1 || hex[kTicketKeyBytes * 2] != '\n') return std::nullopt;
    auto nibble = [](char c) -> int {
        if (c >= '0' && c <= '9') return c - '0';
        if (c >= 'a' && c <= 'f') return c - 'a' + 10;
        return -1;
    };
    std::string keys;
    for (size_t i = 0; i < kTicketKeyBytes; ++i) {
        int hi = nibble(hex[2 * i]), lo = nibble(hex[2 * i + 1]);
        if (hi < 0 || lo < 0) return std::nullopt;
        keys += static_cast<char>(hi << 4 | lo);
    }
    return keys;
}

util::Result<util::Fd> seal_credentials(std::string_view bytes) {
    util::Fd fd(::memfd_create("kurir-tls", MFD_CLOEXEC | MFD_ALLOW_SEALING));
    if (!fd) return util::fail_errno("memfd_create");
    for (size_t done = 0; done < bytes.size();) {
        ssize_t n = ::write(fd.get(), bytes.data() + done, bytes.size() - done);
        if (n < 0) return util::fail_errno("write memfd");
        done += static_cast<size_t>(n);
    }
    if (::fcntl(fd.get(), F_ADD_SEALS, F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_WRITE | F_SEAL_SEAL) < 0)
        return util::fail_errno("seal memfd");
    return fd;
}

util::Result<std::string> read_sealed(int fd) {
    struct stat st {};
    if (::fstat(fd, &st) < 0) return util::fail_errno("TLS credentials on fd " + std::to_string(fd));
    int seals = ::fcntl(fd, F_GET_SEALS);  // -1 for anything but a memfd or tmpfs file
    if (!S_ISREG(st.st_mode) || seals < 0 || (seals & F_SEAL_WRITE) == 0)
        return util::fail("TLS credentials on fd " + std::to_string(fd) + ": not a sealed memory file");
    std::string bytes(static_cast<size_t>(st.st_size), '\0');
    size_t done = 0;
    while (done < bytes.size()) {
        // pread: the file offset is shared with master and every sibling.
        ssize_t n = ::pread(fd, bytes.data() + done, bytes.size() - done, static_cast<off_t>(done));
        if (n < 0) return util::fail_errno("read TLS credentials");
        if (n == 0) break;
        done += static_cast<size_t>(n);
    }
    bytes.resize(done);
    return bytes;
}

}  // namespace kurir::server
