// NAME
//   local - deliver mail to local mailboxes
// DESCRIPTION
//   Serves private/local, one delivery request at a time (a
//   delivery-request frame, mail/mail_proto.hpp; a malformed one is logged
//   and refused, and qmgr defers its recipients). Reads the message from
//   active/ID, and for each recipient writes a Maildir file (an unnamed
//   file in new/, fsync, linked under its Maildir name, fsync new/; tmp/ and
//   a rename where the filesystem has no O_TMPFILE) or appends to an mbox (From_ line, >From
//   quoting, dotlock + fcntl, fsync), with Return-Path: and Delivered-To:
//   added. Answers one result per recipient, only after the delivery is
//   durable, and logs each in Postfix's layout.
//   Before the mailbox come aliases (alias_maps) and the user's .forward:
//   their items may be addresses (local ones expanded again, remote ones
//   forwarded through cleanup), |commands, /files, :include: files and
//   \\user; see local_alias.hpp.
// SECURITY
//   Runs as root so that it can write as the recipient: each mailbox is
//   written with the recipient's effective uid/gid (default_privs for names
//   without an account; never root). Commands and files named in aliases run
//   with default_privs' rights, those in a .forward with its owner's; a
//   command runs only from those two places (allow_mail_to_commands), never
//   from an address in mail. A .forward of root's gives its commands and
//   files default_privs' rights. Files named by users (.forward, :include:,
//   mailboxes) are opened as the user with O_NOFOLLOW and O_NONBLOCK and
//   checked on the descriptor. A command's time limit covers its exit; at
//   the limit its process group is killed. An expansion remembers what it
//   expanded: loops bounce (5.4.6), each destination gets one copy, depth
//   and fan-out are bounded. Local parts that could leave the spool ('/',
//   '..', a leading '.', control characters) are refused.
// CONFIGURATION PARAMETERS
//   mail_spool_directory, home_mailbox, recipient_delimiter,
//   local_recipient_maps, default_privs, myhostname, alias_maps,
//   allow_mail_to_commands, allow_mail_to_files, command_time_limit
#include "local/local_alias.hpp"
#include "mail/clients.hpp"
#include "mail/maps.hpp"
#include "mail/record.hpp"
#include "mail/address.hpp"
#include "mail/delivery_log.hpp"
#include "mail/mail_proto.hpp"
#include "mail/queue_file.hpp"
#include "server/server.hpp"
#include "util/attr.hpp"
#include "util/log.hpp"
#include "util/privilege.hpp"
#include "util/socket.hpp"

#include <sys/stat.h>
#include <unistd.h>

using namespace kurir;

namespace {

// A copy of the message to a remote address, through cleanup, with the
// original sender and a Delivered-To: for loop detection.
local::DeliveryStatus forward_copy(const server::ServerContext& ctx, const mail::QueueEnvelope& env,
                                   std::string_view body, const std::string& target, const std::string& delivered_to) {
    std::string text = "Delivered-To: " + mail::quote_address(delivered_to) + "\n";
    text.append(body);
    std::string stream = mail::compose_cleanup_stream({"origin=forward"}, env.sender, {target}, text);
    auto answer = mail::submit_to_cleanup(ctx.queue, stream, static_cast<int>(ctx.config.seconds("ipc_timeout")));
    if (!answer) return {"4.3.0", "forward to " + target + ": " + answer.error().text};
    if (answer->status == '0') return {"2.0.0", "forwarded as " + answer->queue_id};
    return {answer->status == '5' ? "5.3.0" : "4.3.0", "forward to " + target + ": " + answer->reason};
}

void serve(server::ServerContext& ctx, util::Fd client, mail::WatchedMaps& aliases) {
    util::set_io_timeout(client.get(), static_cast<int>(ctx.config.seconds("ipc_timeout")));
    auto frame = util::attr_read(client.get());
    if (!frame) {
        util::msg_warn("local: bad request: {}", frame.error().text);
        return;
    }
    auto req = mail::proto::decode_delivery_request(*frame);
    if (!req) {
        util::msg_warn("local: refused request: {}", req.error().text);
        return;
    }
    double handed = mail::now_seconds();
    const std::string& id = req->queue_id;
    mail::proto::DeliveryResult reply;
    auto fail_all = [&](std::string dsn, const std::string& text) {
        for (const auto& r : req->recipients) reply.recipients.push_back({r.offset, dsn, text, {}, {}, {}});
        util::attr_write(client.get(), mail::proto::encode(reply));
    };
    if (!mail::valid_queue_id(id)) return fail_all("4.3.0", "bad queue id in request");
    auto bytes = util::read_file(ctx.queue.path(mail::Queue::active, id));
    if (!bytes) return fail_all("4.3.0", bytes.error().text);
    auto env = mail::parse_queue_file(*bytes);
    if (!env) return fail_all("4.3.0", env.error().text);
    std::string body;
    body.reserve(bytes->size());
    auto lines = mail::for_each_content_line(*bytes, *env, [&](std::string_view line) {
        body.append(line);
        body += '\n';
    });
    if (!lines) return fail_all("4.3.0", lines.error().text);

    for (const auto& r : req->recipients) {
        const mail::QueueRecipient* rc = nullptr;
        for (const auto& q : env->recipients)
            if (q.offset == r.offset) rc = &q;
        if (rc == nullptr) {
            reply.recipients.push_back({r.offset, "4.3.0", "recipient not in queue file", {}, {}, {}});
            continue;
        }
        double connected = mail::now_seconds();
        local::Message msg{*env, body, id};
        local::Expander expander(ctx.config, aliases.get(ctx.config), msg,
                                 [&](const std::string& target, const std::string& delivered_to) {
                                     return forward_copy(ctx, *env, body, target, delivered_to);
                                 });
        auto st = expander.deliver(rc->address);
        mail::DeliveryTimes t{env->arrival_sec + env->arrival_usec / 1e6, static_cast<double>(req->active_usec) / 1e6, handed, connected,
                              mail::now_seconds()};
        util::msg_info("{}", mail::delivery_log_line(id, rc->address, rc->original, "local", t, st.dsn, st.text));
        reply.recipients.push_back({r.offset, st.dsn, st.text, {}, {}, {}});
    }
    util::attr_write(client.get(), mail::proto::encode(reply));
}

}  // namespace

int main(int argc, char** argv) {
    server::Hooks hooks;
    hooks.keep_root = true;
    mail::WatchedMaps aliases("alias_maps");
    return server::single_server_main(
        argc, argv, "local",
        [&](server::ServerContext& ctx, util::Fd client) { serve(ctx, std::move(client), aliases); }, hooks);
}
