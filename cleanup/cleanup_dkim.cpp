#include "cleanup/cleanup_dkim.hpp"

#include "mail/address_list.hpp"
#include "mail/domain_list.hpp"
#include "mail/header.hpp"
#include "mail/maps.hpp"
#include "mail/queue_file.hpp"
#include "util/cidr.hpp"
#include "util/text.hpp"

#include <fmt/format.h>
#include <sys/stat.h>

#include <map>

namespace kurir::cleanup {

namespace {

bool is_selector(std::string_view s) {
    if (s.empty() || s.front() == '.' || s.back() == '.') return false;
    for (char c : s)
        if (!(std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '.' || c == '_')) return false;
    return true;
}

// A key file read once and again when it changes (a new key under the
// same name takes effect without a reload).
class KeyCache {
public:
    util::Result<std::shared_ptr<const mail::DkimKey>> get(const std::string& path) {
        struct stat st {};
        if (::stat(path.c_str(), &st) != 0) return util::fail_errno("dkim key " + path);
        auto stamp = fmt::format("{} {} {} {}", st.st_dev, st.st_ino, st.st_size, st.st_mtim.tv_nsec + st.st_mtim.tv_sec * 1000000000L);
        auto it = keys_.find(path);
        if (it != keys_.end() && it->second.first == stamp) return it->second.second;
        auto key = mail::DkimKey::load(path);
        if (!key) return std::unexpected(key.error());
        auto shared = std::make_shared<const mail::DkimKey>(std::move(*key));
        keys_[path] = {stamp, shared};
        return shared;
    }

private:
    std::map<std::string, std::pair<std::string, std::shared_ptr<const mail::DkimKey>>> keys_;
};

util::Result<std::vector<DkimSigningKey>> load_keys(KeyCache& cache, const std::vector<DkimKeySpec>& specs) {
    std::vector<DkimSigningKey> keys;
    for (const auto& s : specs) {
        auto k = cache.get(s.path);
        if (!k) return std::unexpected(k.error());
        keys.push_back({s.selector, *k});
    }
    return keys;
}

}  // namespace

util::Result<std::vector<DkimKeySpec>> parse_dkim_key_specs(std::string_view text, std::string_view default_selector) {
    std::vector<DkimKeySpec> specs;
    for (const auto& item : mail::split_list(text)) {
        DkimKeySpec s;
        if (item.starts_with("/")) {
            s = {std::string(default_selector), item};
        } else {
            size_t colon = item.find(':');
            if (colon == std::string::npos) return util::fail(fmt::format("\"{}\": not selector:/path or /path", item));
            s = {item.substr(0, colon), item.substr(colon + 1)};
        }
        if (!is_selector(s.selector)) return util::fail(fmt::format("\"{}\": bad selector \"{}\"", item, s.selector));
        if (!s.path.starts_with("/")) return util::fail(fmt::format("\"{}\": the key file must be an absolute path", item));
        specs.push_back(std::move(s));
    }
    return specs;
}

DkimKeysFor dkim_keys_lookup(const mail::Config& cfg) {
    static KeyCache cache;
    static mail::WatchedMaps table("dkim_signing_table");
    static mail::WatchedDomainList domains("dkim_sign_domains", false);
    bool have_table = !cfg.list("dkim_signing_table").empty();
    if (!have_table && cfg.list("dkim_sign_domains").empty()) return nullptr;
    return [&cfg, have_table](std::string_view domain) -> util::Result<std::vector<DkimSigningKey>> {
        if (have_table) {
            const mail::MapList& maps = table.get(cfg);
            if (!maps.warnings().empty()) return util::fail("dkim_signing_table: " + maps.warnings().front());
            auto found = maps.lookup(domain);
            if (!found) return util::fail("dkim_signing_table: " + found.error().text);
            if (*found) {
                auto specs = parse_dkim_key_specs(**found, cfg.str("dkim_selector"));
                if (!specs) return util::fail(fmt::format("dkim_signing_table: {}: {}", domain, specs.error().text));
                return load_keys(cache, *specs);
            }
        }
        auto list = domains.get(cfg);
        if (!list) return util::fail("dkim_sign_domains: " + list.error().text);
        auto match = (*list)->matches(cfg, domain);
        if (!match) return util::fail(match.error().text);
        if (!*match) return std::vector<DkimSigningKey>{};
        auto specs = parse_dkim_key_specs(cfg.str("dkim_private_key"), cfg.str("dkim_selector"));
        if (!specs) return util::fail("dkim_private_key: " + specs.error().text);
        if (specs->empty()) return util::fail("dkim_sign_domains is set but dkim_private_key is empty");
        return load_keys(cache, *specs);
    };
}

util::Result<bool> dkim_signs_origin(const mail::Config& cfg, const AttrLookup& attr) {
    if (attr("requeue") == "1") return false;  // signed, if at all, when it first arrived
    std::string origin = attr("origin");
    if (origin == "local" || origin == "bounce") return true;
    if (origin != "smtp") return false;
    if (!attr("sasl_username").empty()) return true;
    std::string addr = attr("client_addr");
    for (const auto& net : cfg.list("mynetworks")) {
        auto c = util::parse_cidr(net);
        if (!c) return util::fail("mynetworks: " + c.error().text);
        if (util::cidr_match(*c, addr)) return true;
    }
    return false;
}

DkimContentSigner::DkimContentSigner(DkimKeysFor keys, std::time_t now) : keys_for_(std::move(keys)), now_(now) {}
DkimContentSigner::~DkimContentSigner() = default;

util::Result<void> DkimContentSigner::observe(std::string_view records) {
    size_t pos = 0;
    mail::RecView r;
    while (pos < records.size()) {
        if (mail::rec_next(records, pos, r) != mail::RecStatus::ok) return util::fail("dkim: garbled queue file records");
        if (!in_content_) {
            in_content_ = r.type == mail::rec::message;
            continue;
        }
        if (r.type == mail::rec::part) {
            part_ += r.data;
        } else if (r.type == mail::rec::line) {
            if (part_.empty()) {
                content_line(r.data);
            } else {
                part_ += r.data;
                content_line(part_);
                part_.clear();
            }
        }
        if (pending_error_) return std::unexpected(*std::exchange(pending_error_, std::nullopt));
    }
    return {};
}

void DkimContentSigner::content_line(std::string_view line) {
    if (in_body_) {
        if (body_) body_->line(line);
        return;
    }
    bool continuation = !line.empty() && (line.front() == ' ' || line.front() == '\t');
    if (continuation && !headers_.empty()) {
        headers_.back().second += "\n";
        headers_.back().second += line;
        return;
    }
    size_t colon = line.find(':');
    if (!line.empty() && colon != std::string_view::npos && colon > 0 && !continuation) {
        headers_.emplace_back(std::string(line.substr(0, colon)), std::string(line.substr(colon + 1)));
        return;
    }
    // The empty line after the headers (cleanup always writes one before
    // a body), or a first body line.
    in_body_ = true;
    if (auto e = end_of_headers(); !e) {
        pending_error_ = e.error();
        return;
    }
    if (!line.empty() && body_) body_->line(line);
}

util::Result<void> DkimContentSigner::end_of_headers() {
    std::string from;
    for (const auto& [name, value] : headers_)
        if (util::lowercase(name) == "from") {
            auto addresses = mail::parse_address_list(value);
            if (!addresses.empty()) from = addresses.front();
            break;
        }
    size_t at = from.rfind('@');
    if (at == std::string::npos) return {};  // nothing to sign for
    domain_ = util::lowercase(from.substr(at + 1));
    if (domain_.empty()) return {};
    auto keys = keys_for_(domain_);
    if (!keys) return util::fail(fmt::format("dkim signing for {}: {}", domain_, keys.error().text));
    keys_ = std::move(*keys);
    if (!keys_.empty()) body_ = std::make_unique<mail::DkimBodyHash>();
    return {};
}

util::Result<std::vector<DkimContentSigner::Signature>> DkimContentSigner::finish(
    const std::vector<std::string>& prepended) {
    if (!in_body_) {  // headers only: the body is empty
        in_body_ = true;
        if (auto e = end_of_headers(); !e) return std::unexpected(e.error());
    }
    std::vector<Signature> fields;
    if (keys_.empty()) return fields;
    std::string hash = body_->finish();
    std::vector<mail::DkimHeaderField> headers;
    for (const auto& field : prepended) {
        size_t colon = field.find(':');
        headers.emplace_back(field.substr(0, colon), field.substr(colon + 1));
    }
    headers.insert(headers.end(), headers_.begin(), headers_.end());
    for (const auto& k : keys_) {
        mail::DkimSignRequest request;
        request.domain = domain_;
        request.selector = k.selector;
        request.now = now_;
        auto value = mail::dkim_sign(*k.key, request, headers, hash);
        if (!value) return util::fail(fmt::format("dkim signing for {}: {}", domain_, value.error().text));
        fields.push_back({"DKIM-Signature:" + *value, k.selector, k.key->algorithm()});
    }
    return fields;
}

util::Result<std::string> dkim_sign_queue_file(std::string file, const DkimKeysFor& keys, std::time_t now,
                                               std::vector<std::string>& log) {
    auto env = mail::parse_queue_file(file);
    if (!env) return std::unexpected(env.error());
    DkimContentSigner signer(keys, now);
    if (auto o = signer.observe(std::string_view(file).substr(0, env->content_end)); !o) return std::unexpected(o.error());
    auto signatures = signer.finish(env->prepended);
    if (!signatures) return std::unexpected(signatures.error());
    if (signatures->empty()) return file;
    // Where the size record's digits are, and the first end record after X.
    size_t pos = 0, size_at = std::string::npos, end_at = std::string::npos;
    mail::RecView r;
    while (end_at == std::string::npos && mail::rec_next(file, pos, r) == mail::RecStatus::ok) {
        if (r.type == mail::rec::size && size_at == std::string::npos)
            size_at = static_cast<size_t>(r.data.data() - file.data());
        if (r.type == mail::rec::end && r.offset > env->content_end) end_at = r.offset;
    }
    if (size_at == std::string::npos || end_at == std::string::npos)
        return util::fail("dkim: queue file without size or end record");
    std::string records;
    long added = 0;
    for (const auto& s : *signatures) {
        mail::rec_append(records, mail::rec::prepend, s.field);
        added += static_cast<long>(s.field.size()) + 1;
        log.push_back(fmt::format("DKIM-Signature field added (s={}, d={}, a={})", s.selector, signer.domain(),
                                  s.algorithm));
    }
    file.insert(end_at, records);
    size_t width = std::string_view(file).substr(size_at).find_first_not_of("0123456789");
    std::string digits = std::to_string(env->content_size + added);
    if (digits.size() > width) return util::fail("dkim: size record too narrow");
    digits.insert(0, width - digits.size(), '0');
    file.replace(size_at, width, digits);
    return file;
}

}  // namespace kurir::cleanup
