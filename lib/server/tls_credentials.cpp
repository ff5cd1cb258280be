#include "server/tls_credentials.hpp"

#include <fcntl.h>
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
