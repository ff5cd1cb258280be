#include "mail/param_status.hpp"

#include "mail/params.hpp"

#include <algorithm>
#include <array>
#include <cctype>
#include <string>

namespace kurir::mail {
namespace {

// Postfix parameters (names as postconf -d of Postfix 3.7 prints them) that
// kurir does not implement: those an administrator's main.cf or master.cf
// commonly sets. Sorted, for binary search; a unit test keeps it disjoint
// from the table. A Postfix name missing here is reported as unknown,
// which is a warning in main.cf as well.
constexpr std::array<std::string_view, 194> kUnimplemented{
    "address_verify_map", "address_verify_sender", "always_add_missing_headers", "authorized_flush_users",
    "authorized_mailq_users", "authorized_submit_users", "biff", "bounce_template_file", "broken_sasl_auth_clients",
    "command_directory", "command_expansion_filter", "compatibility_level", "content_filter", "data_directory",
    "debug_peer_level", "debug_peer_list", "default_delivery_slot_cost", "default_destination_rate_delay",
    "default_extra_recipient_limit", "default_recipient_limit", "default_transport", "default_verp_delimiters",
    "defer_code", "delay_logging_resolution_limit", "delay_notice_recipient", "disable_dns_lookups",
    "disable_mime_input_processing", "disable_mime_output_conversion", "disable_verp_bounces",
    "disable_vrfy_command", "dnssec_probe", "duplicate_filter_limit", "empty_address_recipient",
    "enable_long_queue_ids", "enable_original_recipient", "error_notice_recipient", "expand_owner_alias",
    "export_environment", "fast_flush_domains", "forward_path", "hash_queue_depth", "hash_queue_names",
    "header_address_token_limit", "header_from_format", "html_directory", "import_environment", "in_flow_delay",
    "info_log_address_format", "initial_destination_concurrency", "lmtp_sasl_auth_enable", "local_command_shell",
    "local_destination_concurrency_limit", "local_destination_recipient_limit", "local_header_rewrite_clients",
    "local_transport", "mailbox_command_maps", "mailbox_delivery_lock", "mailbox_size_limit",
    "maillog_file_prefixes", "mailq_path", "manpage_directory", "message_drop_headers", "message_reject_characters",
    "meta_directory", "milter_header_checks",
    "mime_nesting_limit", "mynetworks_style",
    "newaliases_path", "notify_classes", "owner_request_special",
    "parent_domain_matches_subdomains", "permit_mx_backup_networks", "postlog_service_name",
    "postscreen_access_list", "postscreen_cache_map", "postscreen_dnsbl_action", "postscreen_dnsbl_sites",
    "postscreen_dnsbl_threshold", "postscreen_greet_action", "prepend_delivered_header",
    "propagate_unmatched_extensions", "proxy_interfaces", "qmgr_message_recipient_limit", "queue_minfree",
    "readme_directory", "receive_override_options", "remote_header_rewrite_domain", "require_home_directory",
    "resolve_dequoted_address", "sample_directory", "sender_dependent_default_transport_maps", "sendmail_path",
    "shlib_directory", "smtp_address_preference", "smtp_always_send_ehlo", "smtp_body_checks",
    "smtp_connection_cache_destinations", "smtp_connection_cache_on_demand", "smtp_connection_reuse_time_limit",
    "smtp_destination_rate_delay", "smtp_dns_support_level", "smtp_enforce_tls", "smtp_generic_maps",
    "smtp_header_checks", "smtp_host_lookup", "smtp_line_length_limit", "smtp_mime_header_checks",
    "smtp_nested_header_checks", "smtp_never_send_ehlo", "smtp_pix_workarounds", "smtp_randomize_addresses",
    "smtp_sasl_type", "smtp_send_xforward_command", "smtp_skip_5xx_greeting", "smtp_skip_quit_response",
    "smtp_tls_CApath", "smtp_tls_cert_file", "smtp_tls_ciphers", "smtp_tls_exclude_ciphers",
    "smtp_tls_fingerprint_digest", "smtp_tls_key_file", "smtp_tls_loglevel", "smtp_tls_mandatory_ciphers",
    "smtp_tls_mandatory_protocols", "smtp_tls_note_starttls_offer", "smtp_tls_policy_maps", "smtp_tls_protocols",
    "smtp_tls_secure_cert_match", "smtp_tls_servername", "smtp_tls_session_cache_database",
    "smtp_tls_verify_cert_match", "smtp_tls_wrappermode", "smtp_use_tls", "smtpd_authorized_verp_clients",
    "smtpd_authorized_xclient_hosts", "smtpd_authorized_xforward_hosts", "smtpd_client_port_logging",
    "smtpd_command_filter", "smtpd_discard_ehlo_keyword_address_maps", "smtpd_enforce_tls",
    "smtpd_etrn_restrictions", "smtpd_forbid_unauth_pipelining", "smtpd_history_flush_threshold",
    "smtpd_log_access_permit_actions", "smtpd_noop_commands", "smtpd_null_access_lookup_key",
    "smtpd_peername_lookup", "smtpd_policy_service_max_idle", "smtpd_policy_service_timeout", "smtpd_proxy_filter",
    "smtpd_proxy_timeout", "smtpd_recipient_overshoot_limit", "smtpd_reject_footer", "smtpd_reject_unlisted_sender",
    "smtpd_sasl_exceptions_networks", "smtpd_sasl_local_domain", "smtpd_sasl_tls_security_options",
    "smtpd_starttls_timeout", "smtpd_tls_CAfile", "smtpd_tls_CApath", "smtpd_tls_always_issue_session_ids",
    "smtpd_tls_ask_ccert", "smtpd_tls_ccert_verifydepth", "smtpd_tls_dcert_file", "smtpd_tls_dh1024_param_file",
    "smtpd_tls_dkey_file", "smtpd_tls_eccert_file", "smtpd_tls_eckey_file", "smtpd_tls_eecdh_grade",
    "smtpd_tls_exclude_ciphers", "smtpd_tls_fingerprint_digest", "smtpd_tls_mandatory_exclude_ciphers",
    "smtpd_tls_req_ccert", "smtpd_tls_session_cache_database", "smtpd_tls_session_cache_timeout",
    "smtpd_upstream_proxy_protocol", "smtpd_use_tls", "soft_bounce", "strict_7bit_headers", "strict_8bitmime",
    "strict_rfc821_envelopes", "swap_bangpath", "tls_append_default_CA", "tls_high_cipherlist",
    "tls_medium_cipherlist", "tls_preempt_cipherlist", "tls_random_source", "tls_ssl_options",
    "transport_retry_time", "unknown_client_reject_code", "unknown_hostname_reject_code",
    "unverified_recipient_reject_code", "unverified_sender_reject_code", "virtual_mailbox_limit",
};
static_assert(std::is_sorted(kUnimplemented.begin(), kUnimplemented.end()));

bool is_no(std::string_view v) {
    std::string lower;
    for (char c : v) lower += static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    return lower.empty() || lower == "no" || lower == "false";
}

}  // namespace

std::span<const std::string_view> unimplemented_params() { return kUnimplemented; }

ParamStatus param_status(std::string_view name) {
    if (find_param(name)) return ParamStatus::implemented;
    if (std::binary_search(kUnimplemented.begin(), kUnimplemented.end(), name)) return ParamStatus::unimplemented;
    if (per_service_param(name)) return ParamStatus::implemented;
    return ParamStatus::unknown;
}

std::string_view missing_security(std::string_view name, std::string_view value) {
    if (find_param(name)) return {};
    // A level other than none, or any "yes" to TLS or SASL in smtpd: what
    // a client or the administrator counts on would silently not be there.
    if (name == "smtpd_tls_security_level") return value.empty() || value == "none" ? "" : "TLS";
    if (name == "smtpd_use_tls" || name == "smtpd_enforce_tls" || name == "smtpd_tls_wrappermode" ||
        name == "smtp_enforce_tls")
        return is_no(value) ? "" : "TLS";
    return {};
}

}  // namespace kurir::mail
