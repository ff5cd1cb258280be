// NAME
//   local - deliver mail to local mailboxes
// DESCRIPTION
//   Serves private/local, one delivery request at a time (a
//   delivery-request frame, mail/mail_proto.hpp; a malformed one is logged
//   and refused, and qmgr defers its recipients), several on one
//   connection: after an answer the next request may follow, for up to
//   max_idle; each request counts against max_use. Reads the message from
//   active/ID, and for each recipient writes a Maildir file (an unnamed
//   file in new/, fsync, linked under its Maildir name, fsync new/; tmp/ and
//   a rename where the filesystem has no O_TMPFILE) or appends to an mbox (From_ line, >From
//   quoting, dotlock + fcntl, fsync), with Return-Path: and Delivered-To:
//   added. Answers one result per recipient, only after the delivery is
//   durable, and logs each in Postfix's layout.
//   Before the mailbox come aliases (alias_maps) and the user's .forward:
//   their items may be addresses (local ones expanded again, remote ones
//   forwarded through cleanup), |commands, /files, :include: files and
//   \\user; see local_alias.hpp. With mailbox_command set, the mailbox
//   is that command (run through /bin/sh as the recipient, with Postfix's
//   environment: SENDER, RECIPIENT, LOCAL, DOMAIN, EXTENSION, USER,
//   LOGNAME, HOME, SHELL; not $-expanded by kurir); exit 0 delivers, 75
//   defers, any other status bounces with the command's first output line.
//   mailbox_transport_maps (key: the user) and mailbox_transport come
//   before all of it: the recipient is handed to that transport's agent
//   (e.g. lmtp:unix:private/dovecot-lmtp), which delivers and logs it; a
//   user without a passwd account goes to fallback_transport_maps,
//   fallback_transport, or luser_relay (an address, with $user, $local,
//   $extension, $domain, $recipient expanded by local) when set.
// SECURITY
//   Runs as root so that it can write as the recipient: each mailbox is
//   written with the recipient's effective uid/gid (default_privs for names
//   without an account; never root). Commands and files named in aliases run
//   with default_privs' rights, those in a .forward with its owner's; a
//   command runs only from those two places (allow_mail_to_commands), never
//   from an address in mail. A .forward of root's gives its commands and
//   files default_privs' rights. Files named by users (.forward, :include:,
//   mailboxes) are opened as the user with O_NOFOLLOW and O_NONBLOCK and
//   checked on the descriptor. A maildir in the spool must be a directory
//   the recipient owns (not a link), and is written through the descriptor
//   it was checked on. A command's time limit covers its exit; at
//   the limit its process group is killed. An expansion remembers what it
//   expanded: loops bounce (5.4.6), each destination gets one copy, depth
//   and fan-out are bounded. Local parts that could leave the spool ('/',
//   '..', a leading '.', control characters) are refused.
// CONFIGURATION PARAMETERS
//   mail_spool_directory, home_mailbox, recipient_delimiter,
//   local_recipient_maps, default_privs, myhostname, alias_maps,
//   allow_mail_to_commands, allow_mail_to_files, command_time_limit,
//   mailbox_command, mailbox_transport, mailbox_transport_maps,
//   fallback_transport, fallback_transport_maps, luser_relay,
//   deliver_lock_attempts, deliver_lock_delay, stale_lock_time
#include "daemons/daemons.hpp"
#include "local/local_service.hpp"
#include "mail/privileged_accounts.hpp"
#include "server/server.hpp"
#include "util/log.hpp"

using namespace kurir;

int kurir::daemons::local_main(int argc, char** argv) {
    server::Hooks hooks;
    hooks.keep_root = true;
    // As root, local changes to default_privs for commands and files: it
    // must be neither root nor the queue's owner (Postfix's check_overlap).
    hooks.pre_drop = [](server::ServerContext& ctx) {
        if (!util::running_as_root()) return;
        if (auto r = mail::find_privileged_accounts(ctx.config); !r) util::msg_fatal("{}", r.error().text);
    };
    mail::WatchedMaps aliases("alias_maps");
    return server::request_server_main(
        argc, argv, "local",
        [&](server::ServerContext& ctx, int client) { return local::serve(ctx, client, aliases); }, hooks);
}
