// smtpd_sasl_type = kurir: the built-in argon2id password table.
#pragma once

#include "mail/maps.hpp"
#include "smtpd/smtpd_sasl.hpp"

namespace kurir::smtpd {

class PasswordVerifier;

class KurirSaslServer : public SaslServer {
public:
    explicit KurirSaslServer(const mail::Config& cfg);
    ~KurirSaslServer() override;
    void bind(event_base* base, const std::string& queue_root) override;
    std::vector<std::string> mechanisms() const override;
    std::unique_ptr<SaslExchange> start(const std::string& mechanism, const SaslClient& client) override;

    // The user's argon2id string, "" when the user is not in the table (or
    // its value is no argon2id hash); an error when the table cannot be read.
    util::Result<std::string> lookup(const std::string& user);
    PasswordVerifier& verifier() { return *verifier_; }

private:
    const mail::Config& cfg_;
    mail::WatchedMaps maps_;
    std::unique_ptr<PasswordVerifier> verifier_;
};

}  // namespace kurir::smtpd
