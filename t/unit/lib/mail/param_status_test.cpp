#include "mail/config.hpp"
#include "mail/param_status.hpp"
#include "mail/params.hpp"

#include <catch2/catch.hpp>

#include <algorithm>
#include <string>

using namespace kurir::mail;

TEST_CASE("param_status: implemented, a Postfix parameter kurir lacks, unknown", "[config]") {
    for (std::string_view name : {"myhostname", "smtpd_banner", "smtp_tls_security_level", "daemon_timeout",
                                  "smtpd_relay_restrictions", "smtpd_recipient_restrictions", "smtpd_sender_login_maps",
                                  "smtpd_tls_cert_file", "smtpd_tls_key_file", "smtpd_tls_security_level",
                                  "smtpd_tls_wrappermode", "smtpd_tls_protocols", "smtpd_helo_required",
                                  "smtpd_sasl_auth_enable", "smtpd_sasl_type", "smtpd_tls_auth_only", "virtual_alias_maps"})
        CHECK(param_status(name) == ParamStatus::implemented);
    // Those the table once carried without a reader, and an admin's usual lines.
    for (std::string_view name :
         {"command_directory", "forward_path", "in_flow_delay", "info_log_address_format", "mime_nesting_limit",
          "local_destination_concurrency_limit", "smtpd_sasl_local_domain",
          "smtpd_tls_CAfile", "smtpd_use_tls", "smtpd_tls_session_cache_database", "biff", "compatibility_level",
          "readme_directory", "soft_bounce", "milter_header_checks",
          "smtpd_sasl_tls_security_options"}) {
        INFO(name);
        CHECK(param_status(name) == ParamStatus::unimplemented);
        CHECK(find_param(name) == nullptr);
    }
    for (std::string_view name : {"no_such_param", "smtpd_tls_wrapermode", "", "MYHOSTNAME"})
        CHECK(param_status(name) == ParamStatus::unknown);
}

TEST_CASE("per-service parameters: a service name and Postfix's suffixes, typed as their defaults", "[config]") {
    std::string_view service;
    REQUIRE(per_service_param("dovecot_destination_recipient_limit", &service));
    CHECK(service == "dovecot");
    CHECK(per_service_param("my-lmtp_time_limit")->kind == ParamKind::time);
    CHECK(param_status("relay_destination_concurrency_limit") == ParamStatus::implemented);
    CHECK(param_status("uucp_time_limit") == ParamStatus::implemented);
    CHECK(!per_service_param("_time_limit"));
    CHECK(!per_service_param("default_destination_recipient_limit"));
    CHECK(!per_service_param("smtpd_policy_service_time_limit"));  // not a service's name: has '_'
    CHECK(param_status("local_destination_recipient_limit") == ParamStatus::unimplemented);
    CHECK(!Config::from_text("dovecot_destination_recipient_limit = many\n", "/tmp/x"));
    CHECK(!Config::from_text("dovecot_time_limit = 3 fortnights\n", "/tmp/x"));
    auto cfg = Config::from_text("dovecot_time_limit = 2m\n", "/tmp/x");
    REQUIRE(cfg);
    CHECK(cfg->seconds("dovecot_time_limit") == 120);
    CHECK(cfg->warnings().empty());
}

TEST_CASE("param_status: the list of Postfix parameters kurir lacks is sorted and disjoint from the table",
          "[config]") {
    auto list = unimplemented_params();
    CHECK(std::is_sorted(list.begin(), list.end()));
    CHECK(std::adjacent_find(list.begin(), list.end()) == list.end());
    for (auto name : list) {
        INFO(name);
        CHECK(find_param(name) == nullptr);
    }
}

TEST_CASE("missing_security: what a setting asks for that kurir does not provide", "[config]") {
    struct Case {
        std::string name, value, what;
    };
    std::vector<Case> cases = {
        // smtpd's TLS is implemented: asking for it is no refusal.
        {"smtpd_tls_security_level", "encrypt", ""},   {"smtpd_tls_security_level", "may", ""},
        {"smtpd_tls_security_level", "none", ""},      {"smtpd_tls_security_level", "", ""},
        {"smtpd_tls_wrappermode", "yes", ""},          {"smtpd_tls_wrappermode", "no", ""},
        {"smtpd_use_tls", "yes", "TLS"},               {"smtpd_use_tls", "No", ""},
        {"smtpd_enforce_tls", "true", "TLS"},          {"smtpd_tls_auth_only", "yes", ""},
        {"smtp_enforce_tls", "yes", "TLS"},            {"smtpd_sasl_auth_enable", "yes", ""},
        {"smtpd_sasl_auth_enable", "no", ""},          {"smtpd_tls_cert_file", "/etc/ssl/x.pem", ""},
        {"biff", "yes", ""},                           {"smtp_tls_security_level", "encrypt", ""},
        // anything but a clear "no" asks for it
        {"smtpd_use_tls", "on", "TLS"},
    };
    for (const auto& c : cases) {
        INFO(c.name << " = " << c.value);
        CHECK(missing_security(c.name, c.value) == c.what);
    }
}
