#include "mail/srs.hpp"

#include "mail/address.hpp"
#include "mail/domain_list.hpp"
#include "mail/libcrypto.hpp"
#include "mail/local_domains.hpp"
#include "util/fs.hpp"
#include "util/log.hpp"
#include "util/text.hpp"

#include <sys/stat.h>

namespace kurir::mail::srs {
namespace {

constexpr std::string_view kBase64 = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

bool same_ascii_nocase(std::string_view a, std::string_view b) { return util::lowercase(a) == util::lowercase(b); }

}  // namespace

std::string hash(std::string_view secret, std::initializer_list<std::string_view> parts) {
    std::string data;
    for (auto p : parts) data += util::lowercase(p);
    const auto& lc = libcrypto();
    // Installed with the package (its dependency): without it no SRS
    // address can be made or checked.
    if (!lc) util::msg_fatal("SRS: {}", lc.error().text);
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int len = 0;
    lc->HMAC(lc->EVP_sha1(), secret.data(), static_cast<int>(secret.size()),
             reinterpret_cast<const unsigned char*>(data.data()), data.size(), md, &len);
    // Base64 of the first three bytes: four characters.
    std::string out;
    out += kBase64[md[0] >> 2];
    out += kBase64[((md[0] & 0x03) << 4) | (md[1] >> 4)];
    out += kBase64[((md[1] & 0x0f) << 2) | (md[2] >> 6)];
    out += kBase64[md[2] & 0x3f];
    return out.substr(0, kHashLength);
}

Codec::Codec(std::string domain, std::vector<std::string> secrets, int max_age_days)
    : domain_(std::move(domain)), secrets_(std::move(secrets)), max_age_days_(max_age_days) {}

bool Codec::hash_ok(std::string_view given, std::initializer_list<std::string_view> parts) const {
    if (given.size() != kHashLength) return false;
    for (const auto& secret : secrets_)
        if (same_ascii_nocase(given, hash(secret, parts))) return true;
    return false;
}

std::string Codec::forward(std::string_view sender, long now) const {
    size_t at = sender.rfind('@');
    if (at == std::string_view::npos || at + 1 == sender.size() || secrets_.empty()) return std::string(sender);
    std::string_view user = sender.substr(0, at), host = sender.substr(at + 1);
    if (same_ascii_nocase(host, domain_)) return std::string(sender);
    const std::string& secret = secrets_.front();
    if (is_srs1(user)) {
        // Another forwarder's SRS1: keep the first forwarder and its opaque part.
        if (auto p = parse_local(user)) {
            const auto& s1 = std::get<Srs1>(*p);
            return "SRS1=" + hash(secret, {s1.host, s1.opaque}) + "=" + s1.host + "=" + s1.opaque + "@" + domain_;
        }
    } else if (is_srs0(user)) {
        std::string_view opaque = user.substr(4);
        return "SRS1=" + hash(secret, {host, opaque}) + "=" + std::string(host) + "=" + std::string(opaque) + "@" +
               domain_;
    }
    std::string stamp = timestamp(now);
    return "SRS0=" + hash(secret, {stamp, host, user}) + "=" + stamp + "=" + std::string(host) + "=" +
           std::string(user) + "@" + domain_;
}

util::Result<std::string> Codec::reverse(std::string_view address, long now) const {
    size_t at = address.rfind('@');
    std::string_view local = at == std::string_view::npos ? address : address.substr(0, at);
    auto parsed = parse_local(local);
    if (!parsed) return std::unexpected(parsed.error());
    if (const auto* s1 = std::get_if<Srs1>(&*parsed)) {
        if (!hash_ok(s1->hash, {s1->host, s1->opaque})) return util::fail("Hash invalid in SRS address");
        return "SRS0" + s1->opaque + "@" + s1->host;
    }
    const auto& s0 = std::get<Srs0>(*parsed);
    if (!timestamp_fresh(s0.stamp, now, max_age_days_)) return util::fail("Time stamp out of date");
    if (!hash_ok(s0.hash, {s0.stamp, s0.host, s0.user})) return util::fail("Hash invalid in SRS address");
    return s0.user + "@" + s0.host;
}

util::Result<std::vector<std::string>> load_secrets(const std::string& path) {
    if (!path.starts_with("/")) return util::fail("srs_secrets: \"" + path + "\" is not an absolute file name");
    auto fd = util::open_regular(path);
    if (!fd) return util::fail("srs_secrets: " + fd.error().text);
    struct stat st{};
    if (::fstat(fd->get(), &st) != 0) return util::fail_errno("srs_secrets: stat " + path);
    if (st.st_mode & S_IROTH)
        return util::fail("srs_secrets: " + path + ": readable by others; make it mode 0640 or 0600");
    auto text = util::read_all(fd->get(), path);
    if (!text) return util::fail("srs_secrets: " + text.error().text);
    std::vector<std::string> secrets;
    size_t pos = 0;
    while (pos < text->size()) {
        size_t nl = text->find('\n', pos);
        if (nl == std::string::npos) nl = text->size();
        std::string_view line = util::trim(std::string_view(*text).substr(pos, nl - pos));
        pos = nl + 1;
        if (line.empty() || line.starts_with("#")) continue;
        secrets.emplace_back(line);
    }
    if (secrets.empty()) return util::fail("srs_secrets: " + path + ": no secret in file");
    return secrets;
}

util::Result<std::optional<Codec>> from_config(const Config& cfg) {
    std::string domain = cfg.str("srs_domain");
    if (domain.empty()) return std::optional<Codec>{};
    std::string path = cfg.str("srs_secrets");
    if (path.empty()) return util::fail("srs_secrets: empty, but srs_domain is set");
    auto secrets = load_secrets(path);
    if (!secrets) return std::unexpected(secrets.error());
    return std::optional<Codec>{Codec(util::lowercase(domain), std::move(*secrets))};
}

util::Result<bool> our_domain(const Config& cfg, std::string_view domain) {
    if (same_ascii_nocase(domain, cfg.str("srs_domain"))) return true;
    auto local = local_domain_matches(cfg, domain);
    if (!local) return std::unexpected(local.error());
    if (*local) return true;
    for (const char* name : {"virtual_alias_domains", "virtual_mailbox_domains"}) {
        auto list = DomainList::from_config(cfg, name, false);
        if (!list) return std::unexpected(list.error());
        auto hit = list->matches(cfg, domain);
        if (!hit) return std::unexpected(hit.error());
        if (*hit) return true;
    }
    return false;
}

}  // namespace kurir::mail::srs
