#include "server/tls_params.hpp"

#include <openssl/ssl.h>

#include <array>
#include <utility>

namespace kurir::server {
namespace {

constexpr std::array<std::pair<std::string_view, unsigned>, 6> kProtocols{{
    {"SSLv2", TlsProtocols::sslv2},
    {"SSLv3", TlsProtocols::sslv3},
    {"TLSv1", TlsProtocols::tls1},
    {"TLSv1.1", TlsProtocols::tls1_1},
    {"TLSv1.2", TlsProtocols::tls1_2},
    {"TLSv1.3", TlsProtocols::tls1_3},
}};

constexpr std::array<int, 6> kOpenSslVersions{SSL2_VERSION, SSL3_VERSION, TLS1_VERSION,
                                              TLS1_1_VERSION, TLS1_2_VERSION, TLS1_3_VERSION};

// The bit of a protocol name, or 0.
unsigned protocol_bit(std::string_view name) {
    for (const auto& [n, bit] : kProtocols)
        if (n == name) return bit;
    return 0;
}

// All versions from the one named by bit upwards (up = true) or downwards.
unsigned range_from(unsigned bit, bool up) {
    unsigned mask = 0;
    for (const auto& [n, b] : kProtocols)
        if (up ? b >= bit : b <= bit) mask |= b;
    return mask;
}

}  // namespace

util::Result<TlsLevel> parse_tls_level(std::string_view text) {
    if (text.empty() || text == "none") return TlsLevel::none;
    if (text == "may") return TlsLevel::may;
    if (text == "encrypt") return TlsLevel::encrypt;
    return util::fail("smtpd_tls_security_level: want none, may or encrypt: \"" + std::string(text) + "\"");
}

int TlsProtocols::min_version() const {
    for (size_t i = 0; i < kProtocols.size(); ++i)
        if (enabled & kProtocols[i].second) return kOpenSslVersions[i];
    return 0;
}

int TlsProtocols::max_version() const {
    for (size_t i = kProtocols.size(); i-- > 0;)
        if (enabled & kProtocols[i].second) return kOpenSslVersions[i];
    return 0;
}

// Postfix's tls_protocol_mask(): names include (if any is given, only
// those), "!name" excludes, ">=name" and "<=name" bound the range. An
// empty value enables every version.
util::Result<TlsProtocols> parse_tls_protocols(std::string_view text) {
    unsigned include = 0, exclude = 0, range = TlsProtocols::all;
    for (const auto& word : mail::split_list(text)) {
        // split_list splits on commas and white space; Postfix also takes colons.
        std::string_view rest = word;
        while (!rest.empty()) {
            size_t colon = rest.find(':');
            std::string_view tok = rest.substr(0, colon);
            rest = colon == std::string_view::npos ? std::string_view{} : rest.substr(colon + 1);
            if (tok.empty()) continue;
            std::string_view name = tok;
            char op = 0;
            if (tok.starts_with("!")) {
                op = '!';
                name = tok.substr(1);
            } else if (tok.starts_with(">=")) {
                op = '>';
                name = tok.substr(2);
            } else if (tok.starts_with("<=")) {
                op = '<';
                name = tok.substr(2);
            }
            unsigned bit = protocol_bit(name);
            if (bit == 0) return util::fail("TLS protocol list: unknown protocol \"" + std::string(tok) + "\"");
            if (op == '!') exclude |= bit;
            if (op == '>') range &= range_from(bit, true);
            if (op == '<') range &= range_from(bit, false);
            if (op == 0) include |= bit;
        }
    }
    TlsProtocols p;
    p.enabled = (include ? include : TlsProtocols::all) & ~exclude & range;
    // OpenSSL no longer has SSLv2 or SSLv3; kurir never offers them.
    p.enabled &= ~(TlsProtocols::sslv2 | TlsProtocols::sslv3);
    if (p.enabled == 0) return util::fail("TLS protocol list: \"" + std::string(text) + "\" leaves no protocol enabled");
    return p;
}

// Postfix 3.7's tls_{high,medium,low,export,null}_cipherlist defaults,
// without what OpenSSL 3 no longer has (RC4, EXPORT, LOW). Anonymous
// suites are never offered: aNULL:-aNULL removes them.
util::Result<std::string> cipher_list_for_grade(std::string_view grade) {
    if (grade == "high") return std::string("aNULL:-aNULL:HIGH:@STRENGTH");
    if (grade == "medium" || grade == "low" || grade == "export") return std::string("aNULL:-aNULL:HIGH:MEDIUM:@STRENGTH");
    if (grade == "null") return std::string("eNULL:!aNULL");
    return util::fail("TLS cipher grade: want high, medium, low, export or null: \"" + std::string(grade) + "\"");
}

util::Result<TlsServerSettings> load_tls_settings(const mail::Config& cfg) {
    TlsServerSettings s;
    auto level = parse_tls_level(cfg.str("smtpd_tls_security_level"));
    if (!level) return std::unexpected(level.error());
    s.level = *level;
    s.wrapper_mode = cfg.boolean("smtpd_tls_wrappermode");
    bool mandatory = s.mandatory();
    std::string proto_name = mandatory ? "smtpd_tls_mandatory_protocols" : "smtpd_tls_protocols";
    auto protocols = parse_tls_protocols(cfg.str(proto_name));
    if (!protocols) return util::fail(proto_name + ": " + protocols.error().text);
    s.protocols = *protocols;
    std::string cipher_name = mandatory ? "smtpd_tls_mandatory_ciphers" : "smtpd_tls_ciphers";
    auto ciphers = cipher_list_for_grade(cfg.str(cipher_name));
    if (!ciphers) return util::fail(cipher_name + ": " + ciphers.error().text);
    s.cipher_list = *ciphers;
    s.loglevel = cfg.integer("smtpd_tls_loglevel");
    s.received_header = cfg.boolean("smtpd_tls_received_header");
    s.cert_file = cfg.str("smtpd_tls_cert_file");
    s.key_file = cfg.str("smtpd_tls_key_file");
    s.chain_files = cfg.list("smtpd_tls_chain_files");
    if (s.enabled() && s.chain_files.empty() && s.cert_file.empty())
        return util::fail((s.wrapper_mode ? std::string("smtpd_tls_wrappermode = yes")
                                          : "smtpd_tls_security_level = " + cfg.str("smtpd_tls_security_level")) +
                          ": TLS needs smtpd_tls_cert_file or smtpd_tls_chain_files");
    return s;
}

}  // namespace kurir::server
