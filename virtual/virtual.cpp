// NAME
//   virtual - deliver mail to virtual mailboxes
// DESCRIPTION
//   Serves private/virtual, one delivery request at a time (several on
//   one connection, each counted against max_use), as Postfix's
//   virtual(8): the mail of virtual_mailbox_domains, whose users have no
//   passwd account. Each recipient's mailbox is looked up in
//   virtual_mailbox_maps by the address, the address without its
//   recipient_delimiter extension, then "@domain" (a catch-all); a value
//   ending in "/" is a Maildir, anything else an mbox file, relative to
//   virtual_mailbox_base. The uid and gid come from virtual_uid_maps and
//   virtual_gid_maps (the same keys, or "static:N" for everyone). Return-Path:
//   and Delivered-To: are added; missing directories below the base and a
//   Maildir's tmp/new/cur are made (as the user, mode 0700); delivery is durable (fsync) before it is reported. A recipient
//   no table knows bounces 5.1.1; a missing or bad uid, gid or path defers
//   (4.3.5, "mail system configuration error", with a warning that says
//   which).
// SECURITY
//   Runs as root only to write as the table's uid/gid, never below
//   virtual_minimum_uid and never gid 0. Paths from the table may not
//   leave virtual_mailbox_base (no "..", no absolute path); mailboxes are
//   opened with O_NOFOLLOW and O_NONBLOCK as local's are.
// CONFIGURATION PARAMETERS
//   virtual_mailbox_maps, virtual_mailbox_base, virtual_uid_maps,
//   virtual_gid_maps, virtual_minimum_uid, recipient_delimiter, myhostname,
//   ipc_timeout, deliver_lock_attempts, deliver_lock_delay, stale_lock_time
#include "daemons/daemons.hpp"
#include "server/server.hpp"
#include "virtual/virtual_service.hpp"

using namespace kurir;

int kurir::daemons::virtual_main(int argc, char** argv) {
    virtual_::Tables tables;
    server::Hooks hooks;
    hooks.keep_root = true;
    return server::request_server_main(
        argc, argv, "virtual",
        [&](server::ServerContext& ctx, int client) { return virtual_::serve(ctx, client, tables); }, hooks);
}
