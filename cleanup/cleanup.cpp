// NAME
//   cleanup - canonicalise and enqueue a message
// DESCRIPTION
//   Serves private/cleanup, one client at a time, one message after
//   another on a connection (smtpd keeps its connection for the next
//   message, up to ipc_idle; max_use counts messages). For each message it
//   names the new queue id ({queue_id}) as soon as the connection is taken
//   or, for the next message on it, the client's first bytes arrive; it
//   then reads the client's record stream
//   (record.hpp) up to the end-of-content record, canonicalises sender and
//   recipients through trivial-rewrite, removes duplicate recipients, adds a
//   Received: header and any missing Message-ID:, Date: (and From: for local
//   submissions), and writes the queue file into incoming/ as the message
//   arrives: the envelope and the headers are held (at most
//   header_size_limit of headers) until the headers end, then the body
//   streams into an unnamed file in 64 KB pieces, so a message costs a
//   bounded amount of memory however large it is. At the end the size
//   record is patched in place, the file fsynced, linked as incoming/ID and
//   the directory fsynced. Only then does it answer {status=0, queue_id}
//   and wake qmgr. Refusals answer status 4 or 5 with a DSN code and text;
//   a refused or abandoned message leaves no file. A refusal before the end
//   of the stream, and bytes after it, close the connection after the
//   answer. A CR or LF inside a
//   content line becomes a space (cleanup_replace_stray_cr_lf);
//   the characters in message_strip_characters ("\0" by default: NUL,
//   which Postfix's empty default keeps; empty keeps every byte) are
//   removed from content. Content checks as Postfix's header_checks(5):
//   header_checks, mime_header_checks (MIME headers and the headers of
//   multipart parts), nested_header_checks (an attached message's headers)
//   and body_checks (body lines within body_checks_size_limit) answer
//   REJECT, WARN, HOLD, DISCARD, IGNORE, REPLACE, PREPEND, REDIRECT or
//   FILTER, each logged in Postfix's form; mail from bounces and forwarding
//   is not inspected. Content lines are stored in pieces of at most
//   line_length_limit (delivery joins them); a header longer than
//   header_size_limit is cut there, and headers past four times
//   header_size_limit in all are body. Addresses are rewritten as
//   Postfix's cleanup(8) does: canonical_maps (and the sender and recipient
//   tables) and masquerade_domains over the envelope and the address
//   headers, blind copies added (always_bcc, sender_bcc_maps,
//   recipient_bcc_maps), then virtual_alias_maps over every recipient; an
//   alias loop, a limit or a table that cannot answer defers the message.
//   Header fields the client sends after the content (P records: smtpd's
//   Authentication-Results) go on top of the message; a milter's edits (F
//   records) are applied where Postfix would put them.
//   DKIM: mail that is ours (a local submission or a bounce, or SMTP mail
//   from mynetworks or an authenticated client; never forwarded mail) whose
//   From: domain is in dkim_signing_table (domain -> "selector:/key.pem",
//   several keys allowed) or in dkim_sign_domains (keys dkim_private_key,
//   "selector:/path" or "/path" with dkim_selector) is signed with each key,
//   RSA-SHA256 or Ed25519-SHA256, relaxed/relaxed, the signed headers
//   oversigned; the DKIM-Signature fields go on top. Keys are read again
//   when their file changes; a key or table that cannot be read defers the
//   message rather than send it unsigned.
// SECURITY
//   Runs as mail_owner. The record stream comes from smtpd or pickup and is
//   parsed strictly; nothing in it is executed.
// CONFIGURATION PARAMETERS
//   message_size_limit, header_size_limit, hopcount_limit, header_checks,
//   mime_header_checks, nested_header_checks, body_checks,
//   body_checks_size_limit, line_length_limit, smtpd_recipient_limit (the
//   recipients a non_smtpd_milter may add), non_smtpd_milters,
//   milter_default_action, milter_protocol, milter_*_timeout, milter_*_macros,
//   dns_resolver_address (a milter named by host),
//   cleanup_replace_stray_cr_lf, message_strip_characters, myhostname,
//   myorigin, queue_directory, virtual_alias_maps,
//   virtual_alias_recursion_limit, virtual_alias_expansion_limit,
//   virtual_alias_address_length_limit, canonical_maps, canonical_classes,
//   sender_canonical_maps, sender_canonical_classes,
//   recipient_canonical_maps, recipient_canonical_classes,
//   masquerade_domains, masquerade_classes, masquerade_exceptions,
//   always_bcc, sender_bcc_maps, recipient_bcc_maps, recipient_delimiter,
//   dkim_sign_domains, dkim_selector, dkim_private_key, dkim_signing_table,
//   mynetworks
#include "cleanup/cleanup_service.hpp"
#include "daemons/daemons.hpp"
#include "mail/libcrypto.hpp"
#include "server/server.hpp"
#include "util/log.hpp"

#include <memory>

using namespace kurir;

int kurir::daemons::cleanup_main(int argc, char** argv) {
    std::unique_ptr<mail::RewriteClient> rewrite;
    std::unique_ptr<mail::KeptTrigger> qmgr;
    server::Hooks hooks;
    // A cleanup that signs loads libcrypto while it can still see the
    // system's libraries (master.cf may chroot it to the queue).
    hooks.pre_drop = [](server::ServerContext& ctx) {
        if (!ctx.config.list("dkim_sign_domains").empty() || !ctx.config.list("dkim_signing_table").empty())
            if (const auto& c = mail::libcrypto(); !c) util::msg_warn("DKIM signing: {}", c.error().text);
    };
    hooks.post_drop = [&](server::ServerContext& ctx) {
        rewrite = std::make_unique<mail::RewriteClient>(ctx.queue);
        qmgr = std::make_unique<mail::KeptTrigger>(ctx.queue, mail::service::qmgr);
    };
    return server::request_server_main(
        argc, argv, "cleanup",
        [&](server::ServerContext& ctx, int client) { return cleanup::serve(ctx, client, *rewrite, *qmgr); }, hooks);
}
