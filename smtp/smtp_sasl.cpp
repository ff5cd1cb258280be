#include "smtp/smtp_sasl.hpp"

#include "smtp/smtp_agent.hpp"

#include "util/log.hpp"

namespace kurir::smtp {

std::unique_ptr<SaslClient> SaslClient::create(const mail::Config& cfg, std::string& error) {
    if (!cfg.boolean("smtp_sasl_auth_enable")) return nullptr;
    if (cfg.str("smtp_sasl_password_maps").empty()) {
        // Postfix's smtp_sasl_initialize says the same and stops.
        error = "specify a password table via the `smtp_sasl_password_maps' configuration parameter";
        return nullptr;
    }
    auto client = std::unique_ptr<SaslClient>(new SaslClient(cfg));
    for (auto [name, out] : {std::pair{"smtp_sasl_security_options", &client->plain_},
                             std::pair{"smtp_sasl_tls_security_options", &client->tls_},
                             std::pair{"smtp_sasl_tls_verified_security_options", &client->verified_}}) {
        auto options = mail::parse_sasl_security_options(cfg.list(name));
        if (!options) {
            error = std::string(name) + ": " + options.error().text;
            return nullptr;
        }
        *out = *options;
    }
    client->filter_ = cfg.list("smtp_sasl_mechanism_filter");
    client->sender_dependent_ = cfg.boolean("smtp_sender_dependent_authentication");
    client->soft_bounce_ = cfg.boolean("smtp_sasl_auth_soft_bounce");
    return client;
}

SaslPlan SaslClient::plan(const Connection& conn, bool verified, const std::string& sender,
                          const std::string& nexthop) {
    const mail::EhloFeatures& features = conn.features;
    const std::string peer = conn.peer();
    if (!features.auth) return {};
    const mail::MapList& maps = passwords_.get(cfg_);
    if (!maps.warnings().empty())
        return {std::nullopt, "4.3.0", "smtp_sasl_password_maps: " + maps.warnings().front()};
    std::optional<std::string> value;
    for (const auto& key : mail::sasl_password_keys(sender, sender_dependent_, conn.host, nexthop)) {
        auto found = key.starts_with('@') ? maps.lookup_partial(key) : maps.lookup(key);
        if (!found) return {std::nullopt, "4.3.0", "smtp_sasl_password_maps: " + found.error().text};
        if (*found) {
            value = **found;
            break;
        }
    }
    if (!value) return {};  // no login for this server: talk as strangers
    auto offered = mail::filter_sasl_mechanisms(features.auth_mechanisms, filter_);
    if (offered.empty()) {
        util::msg_warn("{} offered no supported AUTH mechanisms: '{}'", conn.relay(), features.auth_mechanisms);
        return {std::nullopt, "4.7.0",
                "SASL authentication failed: server " + peer +
                    " offered no compatible authentication mechanisms for this type of connection security"};
    }
    auto mechanism = mail::choose_sasl_mechanism(offered, verified ? verified_ : conn.tls ? tls_ : plain_);
    if (!mechanism)
        return {std::nullopt, "4.7.0",
                "SASL authentication failed; cannot authenticate to server " + peer + ": no mechanism available"};
    return {mail::SaslClientExchange(*mechanism, mail::parse_sasl_login(*value)), "", ""};
}

std::pair<std::string, std::string> SaslClient::failed(const mail::SmtpReply& r, const std::string& peer) const {
    std::string dsn = r.enhanced;
    if (soft_bounce_ && !dsn.empty() && dsn[0] == '5') dsn[0] = '4';
    return {dsn, "SASL authentication failed; server " + peer + " said: " + r.text()};
}

}  // namespace kurir::smtp
