#include "smtpd/smtpd_sasl.hpp"

#include "smtpd/smtpd_sasl_dovecot.hpp"
#include "smtpd/smtpd_sasl_kurir.hpp"

namespace kurir::smtpd {

util::Result<std::unique_ptr<SaslServer>> open_sasl_server(const mail::Config& cfg) {
    std::string type = cfg.str("smtpd_sasl_type");
    if (type == "kurir") return std::make_unique<KurirSaslServer>(cfg);
    if (type == "dovecot") {
        std::string path = cfg.str("smtpd_sasl_path");
        if (path.empty()) return util::fail("smtpd_sasl_path: empty");
        return std::make_unique<DovecotSaslServer>(path, cfg.str("smtpd_sasl_service"));
    }
    return util::fail("smtpd_sasl_type: \"" + type + "\" is not supported (want dovecot or kurir)");
}

}  // namespace kurir::smtpd
