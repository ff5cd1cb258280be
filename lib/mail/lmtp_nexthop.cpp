#include "mail/lmtp_nexthop.hpp"

namespace kurir::mail {

bool lmtp_socket_nexthop(std::string_view text) { return text.starts_with("unix:") || text.starts_with("inet:"); }

util::Result<LmtpNexthop> parse_lmtp_nexthop(std::string_view text) {
    LmtpNexthop out;
    auto bad = [&](std::string_view why) {
        return util::fail("lmtp nexthop \"" + std::string(text) + "\": " + std::string(why));
    };
    if (text.starts_with("unix:")) {
        std::string_view path = text.substr(5);
        if (path.empty()) return bad("empty socket path");
        for (char c : path)
            if (static_cast<unsigned char>(c) <= ' ' || c == 0x7f) return bad("bad character in socket path");
        // A relative path stays under queue_directory.
        bool up = path == ".." || path.starts_with("../") || path.find("/../") != std::string_view::npos ||
                  path.ends_with("/..");
        if (!path.starts_with('/') && up)
            return bad("relative socket path leaves queue_directory");
        // sockaddr_un holds 107 bytes and a NUL.
        if (path.size() > 107) return bad("socket path too long");
        out.unix_socket = true;
        out.path = std::string(path);
        return out;
    }
    std::string_view rest = text.starts_with("inet:") ? text.substr(5) : text;
    // "host:lmtp" is the service name of port 24.
    std::string spelled(rest);
    if (spelled.ends_with(":lmtp")) spelled.replace(spelled.size() - 4, 4, "24");
    auto n = parse_nexthop(spelled, kLmtpPort);
    if (!n) return bad(n.error().text);
    n->use_mx = false;
    out.inet = *n;
    return out;
}

std::string lmtp_socket_path(const LmtpNexthop& n, const std::string& queue_directory) {
    if (n.path.starts_with('/')) return n.path;
    return queue_directory + "/" + n.path;
}

}  // namespace kurir::mail
