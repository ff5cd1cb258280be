#include "mail/params.hpp"

#include "build_paths.hpp"

#include <algorithm>
#include <array>

namespace kurir::mail {
namespace {
using K = ParamKind;
// Defaults computed at run time (host name) are filled in by Config.
constexpr std::array kParams{
    ParamSpec{"2bounce_notice_recipient", K::text, "postmaster"},
    ParamSpec{"access_map_defer_code", K::integer, "450"},
    ParamSpec{"access_map_reject_code", K::integer, "554"},
    ParamSpec{"alias_database", K::text, "$default_database_type:$config_directory/aliases"},
    ParamSpec{"alias_maps", K::text, "$default_database_type:$config_directory/aliases"},
    ParamSpec{"allow_mail_to_commands", K::text, "alias, forward"},
    ParamSpec{"allow_mail_to_files", K::text, "alias, forward"},
    ParamSpec{"alternate_config_directories", K::text, ""},
    ParamSpec{"always_bcc", K::text, ""},
    ParamSpec{"anvil_rate_time_unit", K::time, "60s", 1},
    ParamSpec{"append_at_myorigin", K::boolean, "yes"},
    ParamSpec{"append_dot_mydomain", K::boolean, "no"},
    ParamSpec{"body_checks", K::text, ""},
    ParamSpec{"body_checks_size_limit", K::integer, "51200", 0},
    ParamSpec{"bounce_notice_recipient", K::text, "postmaster"},
    ParamSpec{"bounce_queue_lifetime", K::time, "5d", 0, 'd'},
    ParamSpec{"bounce_size_limit", K::integer, "50000", 1},
    ParamSpec{"canonical_classes", K::text, "envelope_sender, envelope_recipient, header_sender, header_recipient"},
    ParamSpec{"canonical_maps", K::text, ""},
    ParamSpec{"cleanup_replace_stray_cr_lf", K::boolean, "yes"},
    ParamSpec{"command_time_limit", K::time, "1000s", 1},
    ParamSpec{"config_directory", K::text, KURIR_CONFIG_DIR},
    ParamSpec{"daemon_directory", K::text, KURIR_LIBEXECDIR},
    ParamSpec{"daemon_timeout", K::time, "18000s", 1},
    ParamSpec{"default_database_type", K::text, "hash"},
    ParamSpec{"default_destination_concurrency_limit", K::integer, "20", 1},
    ParamSpec{"default_destination_recipient_limit", K::integer, "50", 1},
    ParamSpec{"default_privs", K::text, "nobody"},
    ParamSpec{"default_process_limit", K::integer, "100", 1},
    ParamSpec{"defer_transports", K::text, ""},
    ParamSpec{"delay_warning_time", K::time, "0h", 0, 'h'},
    // An mbox delivery waits (deliver_lock_attempts - 1) times
    // deliver_lock_delay for another's dot-lock or fcntl lock, then defers.
    ParamSpec{"deliver_lock_attempts", K::integer, "20", 1},
    ParamSpec{"deliver_lock_delay", K::time, "1s", 1},
    // DKIM signing in cleanup (cleanup/cleanup_dkim.hpp): keys as
    // "selector:/path" or "/path" (with dkim_selector). dkim_authserv_id
    // and dkim_verify_*: kurir's own, for smtpd_dkim_verify (the
    // Authentication-Results id, the signatures checked per message, the
    // wait for their keys).
    ParamSpec{"dkim_authserv_id", K::text, "$myhostname"},
    ParamSpec{"dkim_private_key", K::text, ""},
    ParamSpec{"dkim_selector", K::text, "mail"},
    ParamSpec{"dkim_sign_domains", K::text, ""},
    ParamSpec{"dkim_signing_table", K::text, ""},
    ParamSpec{"dkim_verify_max_signatures", K::integer, "5", 1},
    ParamSpec{"dkim_verify_timeout", K::time, "10s", 1},
    ParamSpec{"dns_resolver_address", K::text, ""},
    ParamSpec{"double_bounce_sender", K::text, "double-bounce"},
    ParamSpec{"empty_address_relayhost_maps_lookup_key", K::text, "<>"},
    ParamSpec{"fallback_relay", K::text, ""},
    // local(8): users not in passwd handed to this transport.
    ParamSpec{"fallback_transport", K::text, ""},
    ParamSpec{"fallback_transport_maps", K::text, ""},
    ParamSpec{"header_checks", K::text, ""},
    ParamSpec{"header_size_limit", K::integer, "102400", 1},
    ParamSpec{"home_mailbox", K::text, ""},
    ParamSpec{"hopcount_limit", K::integer, "50", 1},
    // Read by master (listeners without a host of their own) and smtp
    // (the families it connects to); Postfix 3's defaults.
    ParamSpec{"inet_interfaces", K::text, "all"},
    ParamSpec{"inet_protocols", K::text, "all"},
    ParamSpec{"invalid_hostname_reject_code", K::integer, "501"},
    // qmgr closes a connection to a delivery agent, smtpd one to cleanup, idle
    // this long (server/kept_conns.hpp).
    ParamSpec{"ipc_idle", K::time, "5s", 1},
    ParamSpec{"ipc_timeout", K::time, "3600s", 1},
    ParamSpec{"line_length_limit", K::integer, "2048", 1},
    // lmtp(8): the smtp client's parameters under Postfix's lmtp_ names.
    ParamSpec{"lmtp_connect_timeout", K::time, "0s", 0},
    ParamSpec{"lmtp_connection_cache_time_limit", K::time, "2s", 0},
    ParamSpec{"lmtp_data_done_timeout", K::time, "600s", 1},
    ParamSpec{"lmtp_data_init_timeout", K::time, "120s", 1},
    ParamSpec{"lmtp_data_xfer_timeout", K::time, "180s", 1},
    ParamSpec{"lmtp_destination_recipient_limit", K::integer, "$default_destination_recipient_limit", 1},
    ParamSpec{"lmtp_lhlo_name", K::text, "$myhostname"},
    ParamSpec{"lmtp_lhlo_timeout", K::time, "300s", 1},
    ParamSpec{"lmtp_mail_timeout", K::time, "300s", 1},
    ParamSpec{"lmtp_mx_address_limit", K::integer, "5", 1},
    ParamSpec{"lmtp_quit_timeout", K::time, "300s", 1},
    ParamSpec{"lmtp_rcpt_timeout", K::time, "300s", 1},
    ParamSpec{"lmtp_rset_timeout", K::time, "20s", 1},
    ParamSpec{"lmtp_starttls_timeout", K::time, "300s", 1},
    ParamSpec{"lmtp_tls_CAfile", K::text, ""},
    ParamSpec{"lmtp_tls_security_level", K::text, ""},
    ParamSpec{"local_recipient_maps", K::text, "unix:passwd.byname $alias_maps"},
    // local(8): unknown users (not in passwd) to this address ($user, $local, ...).
    ParamSpec{"luser_relay", K::text, ""},
    ParamSpec{"mail_name", K::text, "kurir"},
    ParamSpec{"mail_owner", K::text, "kurir"},
    ParamSpec{"mail_spool_directory", K::text, "/var/mail"},
    // Read-only, as Postfix's: kurir-conf prints it and "$mail_version" expands to it.
    ParamSpec{"mail_version", K::text, KURIR_VERSION},
    ParamSpec{"mailbox_command", K::text, ""},
    // local(8): mailbox deliveries handed to this transport (lmtp:unix:...).
    ParamSpec{"mailbox_transport", K::text, ""},
    ParamSpec{"mailbox_transport_maps", K::text, ""},
    ParamSpec{"maillog_file", K::text, ""},
    ParamSpec{"maillog_file_compressor", K::text, "gzip"},
    ParamSpec{"maillog_file_rotate_suffix", K::text, "%Y%m%d-%H%M%S"},
    ParamSpec{"maps_rbl_reject_code", K::integer, "554"},
    ParamSpec{"masquerade_classes", K::text, "envelope_sender, header_sender, header_recipient"},
    ParamSpec{"masquerade_domains", K::text, ""},
    ParamSpec{"masquerade_exceptions", K::text, ""},
    ParamSpec{"max_idle", K::time, "100s", 1},
    ParamSpec{"max_use", K::integer, "1000", 1},
    ParamSpec{"maximal_backoff_time", K::time, "4000s", 1},
    ParamSpec{"maximal_queue_lifetime", K::time, "5d", 0, 'd'},
    ParamSpec{"message_size_limit", K::integer, "10240000", 0},
    // Postfix's default is empty; kurir strips NUL (issue 13: stray CR and
    // NUL are normalised before the queue file). Empty keeps every byte.
    ParamSpec{"message_strip_characters", K::text, "\\0"},
    ParamSpec{"milter_command_timeout", K::time, "30s", 1},
    ParamSpec{"milter_connect_macros", K::text, "j {daemon_name} {daemon_addr} v _"},
    ParamSpec{"milter_connect_timeout", K::time, "30s", 1},
    ParamSpec{"milter_content_timeout", K::time, "300s", 1},
    ParamSpec{"milter_data_macros", K::text, "i"},
    ParamSpec{"milter_default_action", K::text, "tempfail"},
    ParamSpec{"milter_end_of_data_macros", K::text, "i"},
    ParamSpec{"milter_end_of_header_macros", K::text, "i"},
    ParamSpec{"milter_helo_macros", K::text, "{tls_version} {cipher} {cipher_bits} {cert_subject} {cert_issuer}"},
    ParamSpec{"milter_macro_daemon_name", K::text, "$myhostname"},
    ParamSpec{"milter_macro_v", K::text, "$mail_name $mail_version"},
    ParamSpec{"milter_mail_macros", K::text, "i {auth_type} {auth_authen} {auth_author} {mail_addr} {mail_host} {mail_mailer}"},
    ParamSpec{"milter_protocol", K::integer, "6", 2},
    ParamSpec{"milter_rcpt_macros", K::text, "i {rcpt_addr} {rcpt_host} {rcpt_mailer}"},
    ParamSpec{"milter_unknown_command_macros", K::text, ""},
    ParamSpec{"mime_header_checks", K::text, "$header_checks"},
    ParamSpec{"minimal_backoff_time", K::time, "300s", 1},
    ParamSpec{"multi_instance_directories", K::text, ""},
    ParamSpec{"mydestination", K::text, "$myhostname, localhost.$mydomain, localhost"},
    ParamSpec{"mydomain", K::text, ""},
    ParamSpec{"myhostname", K::text, ""},
    ParamSpec{"mynetworks", K::text, "127.0.0.0/8 [::1]/128"},
    ParamSpec{"myorigin", K::text, "$myhostname"},
    ParamSpec{"nested_header_checks", K::text, "$header_checks"},
    ParamSpec{"non_fqdn_reject_code", K::integer, "504"},
    ParamSpec{"non_smtpd_milters", K::text, ""},
    ParamSpec{"qmgr_message_active_limit", K::integer, "20000", 1},
    ParamSpec{"queue_directory", K::text, "/var/spool/kurir"},
    ParamSpec{"queue_run_delay", K::time, "300s", 1},
    ParamSpec{"recipient_bcc_maps", K::text, ""},
    ParamSpec{"recipient_canonical_classes", K::text, "envelope_recipient, header_recipient"},
    ParamSpec{"recipient_canonical_maps", K::text, ""},
    ParamSpec{"recipient_delimiter", K::text, ""},
    ParamSpec{"relay_domains", K::text, ""},
    ParamSpec{"relay_domains_reject_code", K::integer, "554"},
    ParamSpec{"relay_recipient_maps", K::text, ""},
    ParamSpec{"relay_transport", K::text, "relay"},
    ParamSpec{"relayhost", K::text, ""},
    ParamSpec{"sender_bcc_maps", K::text, ""},
    ParamSpec{"sender_canonical_classes", K::text, "envelope_sender, header_sender"},
    ParamSpec{"sender_canonical_maps", K::text, ""},
    ParamSpec{"sender_dependent_relayhost_maps", K::text, ""},
    ParamSpec{"service_throttle_time", K::time, "60s", 1},
    ParamSpec{"setgid_group", K::text, "kurirdrop"},
    // smtp's source address per family (smtp_connect.c's names); empty: the kernel picks.
    ParamSpec{"smtp_bind_address", K::text, ""},
    ParamSpec{"smtp_bind_address6", K::text, ""},
    ParamSpec{"smtp_connect_timeout", K::time, "30s", 1},
    ParamSpec{"smtp_connection_cache_time_limit", K::time, "2s", 0},
    ParamSpec{"smtp_data_done_timeout", K::time, "600s", 1},
    ParamSpec{"smtp_data_init_timeout", K::time, "120s", 1},
    ParamSpec{"smtp_data_xfer_timeout", K::time, "180s", 1},
    // Read by qmgr_schedule.cpp under its composed name, <transport>_destination_concurrency_limit.
    ParamSpec{"smtp_destination_concurrency_limit", K::integer, "$default_destination_concurrency_limit", 1},
    ParamSpec{"smtp_destination_recipient_limit", K::integer, "$default_destination_recipient_limit", 1},
    ParamSpec{"smtp_fallback_relay", K::text, "$fallback_relay"},
    ParamSpec{"smtp_helo_name", K::text, "$myhostname"},
    ParamSpec{"smtp_helo_timeout", K::time, "300s", 1},
    ParamSpec{"smtp_mail_timeout", K::time, "300s", 1},
    ParamSpec{"smtp_mx_address_limit", K::integer, "5", 1},
    ParamSpec{"smtp_quit_timeout", K::time, "300s", 1},
    ParamSpec{"smtp_rcpt_timeout", K::time, "300s", 1},
    ParamSpec{"smtp_rset_timeout", K::time, "20s", 1},
    ParamSpec{"smtp_sasl_auth_enable", K::boolean, "no"},
    ParamSpec{"smtp_sasl_auth_soft_bounce", K::boolean, "yes"},
    ParamSpec{"smtp_sasl_mechanism_filter", K::text, ""},
    ParamSpec{"smtp_sasl_password_maps", K::text, ""},
    ParamSpec{"smtp_sasl_security_options", K::text, "noplaintext, noanonymous"},
    ParamSpec{"smtp_sasl_tls_security_options", K::text, "$smtp_sasl_security_options"},
    ParamSpec{"smtp_sasl_tls_verified_security_options", K::text, "$smtp_sasl_tls_security_options"},
    ParamSpec{"smtp_sender_dependent_authentication", K::boolean, "no"},
    ParamSpec{"smtp_starttls_timeout", K::time, "300s", 1},
    ParamSpec{"smtp_tls_CAfile", K::text, ""},
    ParamSpec{"smtp_tls_security_level", K::text, ""},
    ParamSpec{"smtpd_banner", K::text, "$myhostname ESMTP $mail_name"},
    ParamSpec{"smtpd_client_auth_rate_limit", K::integer, "0"},
    ParamSpec{"smtpd_client_connection_count_limit", K::integer, "50", 0},
    ParamSpec{"smtpd_client_connection_rate_limit", K::integer, "0"},
    // Postfix: ${smtpd_client_connection_limit_exceptions:$mynetworks}; kurir
    // has no older name to fall back on.
    ParamSpec{"smtpd_client_event_limit_exceptions", K::text, "$mynetworks"},
    ParamSpec{"smtpd_client_message_rate_limit", K::integer, "0"},
    ParamSpec{"smtpd_client_new_tls_session_rate_limit", K::integer, "0"},
    ParamSpec{"smtpd_client_recipient_rate_limit", K::integer, "0"},
    ParamSpec{"smtpd_client_restrictions", K::text, ""},
    ParamSpec{"smtpd_data_restrictions", K::text, ""},
    ParamSpec{"smtpd_delay_reject", K::boolean, "yes"},
    ParamSpec{"smtpd_discard_ehlo_keywords", K::text, ""},
    // kurir's own: DKIM verification of inbound mail (smtpd/smtpd_dkim).
    ParamSpec{"smtpd_dkim_verify", K::boolean, "yes"},
    ParamSpec{"smtpd_end_of_data_restrictions", K::text, ""},
    ParamSpec{"smtpd_error_sleep_time", K::time, "1s", 0},
    ParamSpec{"smtpd_forbid_bare_newline", K::text, "normalize"},
    ParamSpec{"smtpd_forbid_bare_newline_exclusions", K::text, "$mynetworks"},
    ParamSpec{"smtpd_forbid_bare_newline_reject_code", K::integer, "550"},
    ParamSpec{"smtpd_hard_error_limit", K::integer, "20", 1},
    ParamSpec{"smtpd_helo_required", K::boolean, "no"},
    ParamSpec{"smtpd_helo_restrictions", K::text, ""},
    ParamSpec{"smtpd_junk_command_limit", K::integer, "100", 1},
    ParamSpec{"smtpd_milters", K::text, ""},
    ParamSpec{"smtpd_recipient_limit", K::integer, "1000", 1},
    ParamSpec{"smtpd_recipient_restrictions", K::text, ""},
    ParamSpec{"smtpd_reject_unlisted_recipient", K::boolean, "yes"},
    // Postfix's default ends in defer_unauth_destination (454); kurir's
    // contract (INTERFACE.md) refuses relaying with 554 5.7.1.
    ParamSpec{"smtpd_relay_restrictions", K::text, "permit_mynetworks, permit_sasl_authenticated, reject_unauth_destination"},
    ParamSpec{"smtpd_restriction_classes", K::text, ""},
    ParamSpec{"smtpd_sasl_auth_enable", K::boolean, "no"},
    // Read by cleanup, which writes the Received: header.
    ParamSpec{"smtpd_sasl_authenticated_header", K::boolean, "no"},
    // kurir's own (smtpd_sasl_type = kurir): argon2id hashes made by kurir-passwd.
    ParamSpec{"smtpd_sasl_password_maps", K::text, "hash:$config_directory/sasl_passwd"},
    ParamSpec{"smtpd_sasl_path", K::text, "smtpd"},
    ParamSpec{"smtpd_sasl_security_options", K::text, "noanonymous"},
    ParamSpec{"smtpd_sasl_service", K::text, "smtp"},
    // Postfix's default is cyrus, which kurir does not have: dovecot or kurir.
    ParamSpec{"smtpd_sasl_type", K::text, "kurir"},
    ParamSpec{"smtpd_sender_login_maps", K::text, ""},
    ParamSpec{"smtpd_sender_restrictions", K::text, ""},
    // kurir's own (Postfix has no total bound): a session ends with 421 once
    // it has lasted this long, however it dribbles; 0 means no limit.
    ParamSpec{"smtpd_session_time_limit", K::time, "3600s", 0},
    ParamSpec{"smtpd_soft_error_limit", K::integer, "10", 1},
    ParamSpec{"smtpd_timeout", K::time, "300s", 1},
    // smtpd's TLS (server/tls_params, read by smtpd and by master, which
    // reads the key files). Postfix's names and defaults, but for the
    // protocols: TLS 1.2 and 1.3 only unless the administrator says otherwise.
    // Postfix's default is no; kurir offers AUTH only under TLS unless told.
    ParamSpec{"smtpd_tls_auth_only", K::boolean, "yes"},
    ParamSpec{"smtpd_tls_cert_file", K::text, ""},
    ParamSpec{"smtpd_tls_chain_files", K::text, ""},
    ParamSpec{"smtpd_tls_ciphers", K::text, "medium"},
    ParamSpec{"smtpd_tls_key_file", K::text, "$smtpd_tls_cert_file"},
    ParamSpec{"smtpd_tls_loglevel", K::integer, "0", 0},
    ParamSpec{"smtpd_tls_mandatory_ciphers", K::text, "medium"},
    ParamSpec{"smtpd_tls_mandatory_protocols", K::text, ">=TLSv1.2"},
    ParamSpec{"smtpd_tls_protocols", K::text, ">=TLSv1.2"},
    ParamSpec{"smtpd_tls_received_header", K::boolean, "no"},
    ParamSpec{"smtpd_tls_security_level", K::text, ""},
    ParamSpec{"smtpd_tls_wrappermode", K::boolean, "no"},
    // SMTPUTF8 (RFC 6531, mail/smtputf8.hpp): smtpd offers it, the smtp
    // client passes it on; sendmail submissions with UTF-8 request it.
    ParamSpec{"smtputf8_autodetect_classes", K::text, "sendmail, verify"},
    ParamSpec{"smtputf8_enable", K::boolean, "yes"},
    // SRS (mail/srs.hpp, kurir's own): the domain of the rewritten senders
    // of mail forwarded to other domains (empty: SRS off), and the file of
    // its secrets, one a line, the first signs, every one verifies.
    ParamSpec{"srs_domain", K::text, ""},
    ParamSpec{"srs_secrets", K::text, ""},
    // A dot-lock (USER.lock) older than this is another's left behind.
    ParamSpec{"stale_lock_time", K::time, "500s", 1},
    // A UTF-8 address without MAIL FROM's SMTPUTF8 is refused (553 5.6.7).
    ParamSpec{"strict_smtputf8", K::boolean, "no"},
    ParamSpec{"syslog_facility", K::text, "mail"},
    ParamSpec{"syslog_name", K::text, "kurir"},
    ParamSpec{"transport_maps", K::text, ""},
    ParamSpec{"unknown_address_reject_code", K::integer, "450"},
    ParamSpec{"unknown_local_recipient_reject_code", K::integer, "550"},
    ParamSpec{"unknown_relay_recipient_reject_code", K::integer, "550"},
    ParamSpec{"unknown_virtual_alias_reject_code", K::integer, "550"},
    ParamSpec{"unknown_virtual_mailbox_reject_code", K::integer, "550"},
    ParamSpec{"virtual_alias_address_length_limit", K::integer, "1000", 1},
    ParamSpec{"virtual_alias_domains", K::text, "$virtual_alias_maps"},
    ParamSpec{"virtual_alias_expansion_limit", K::integer, "1000", 1},
    ParamSpec{"virtual_alias_maps", K::text, ""},
    ParamSpec{"virtual_alias_recursion_limit", K::integer, "1000", 1},
    ParamSpec{"virtual_gid_maps", K::text, ""},
    ParamSpec{"virtual_mailbox_base", K::text, ""},
    ParamSpec{"virtual_mailbox_domains", K::text, "$virtual_mailbox_maps"},
    ParamSpec{"virtual_mailbox_maps", K::text, ""},
    ParamSpec{"virtual_minimum_uid", K::integer, "100", 1},
    ParamSpec{"virtual_transport", K::text, "virtual"},
    ParamSpec{"virtual_uid_maps", K::text, ""},
};
}  // namespace

constexpr bool by_name(const ParamSpec& a, const ParamSpec& b) { return a.name < b.name; }
static_assert(std::is_sorted(kParams.begin(), kParams.end(), by_name), "kParams: keep the names in order");

std::span<const ParamSpec> param_table() { return kParams; }

const ParamSpec* find_param(std::string_view name) {
    auto it = std::lower_bound(kParams.begin(), kParams.end(), name,
                               [](const ParamSpec& p, std::string_view n) { return p.name < n; });
    return it != kParams.end() && it->name == name ? &*it : nullptr;
}

const ParamSpec* per_service_param(std::string_view name, std::string_view* service) {
    static constexpr ParamSpec kSuffixes[] = {
        {"_destination_concurrency_limit", ParamKind::integer, "$default_destination_concurrency_limit", 0},
        {"_destination_recipient_limit", ParamKind::integer, "$default_destination_recipient_limit", 0},
        {"_time_limit", ParamKind::time, "$command_time_limit", 0},
    };
    for (const auto& spec : kSuffixes) {
        if (!name.ends_with(spec.name) || name.size() == spec.name.size()) continue;
        std::string_view svc = name.substr(0, name.size() - spec.name.size());
        bool plain = std::all_of(svc.begin(), svc.end(), [](char c) {
            return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-';
        });
        if (!plain || svc == "default") continue;
        if (service) *service = svc;
        return &spec;
    }
    return nullptr;
}

}  // namespace kurir::mail
