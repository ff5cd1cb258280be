// NAME
//   local - deliver mail to local mailboxes
// DESCRIPTION
//   Serves private/local, one delivery request at a time: {queue_id, sender,
//   active_time, rcpt="offset address"...}. Reads the message from
//   active/ID, and for each recipient writes a Maildir file (tmp/, fsync,
//   rename into new/, fsync new/) or appends to an mbox (From_ line, >From
//   quoting, dotlock + fcntl, fsync), with Return-Path: and Delivered-To:
//   added. Answers one result per recipient, only after the delivery is
//   durable, and logs each in Postfix's layout.
// SECURITY
//   Runs as root so that it can write as the recipient: each mailbox is
//   written with the recipient's effective uid/gid (default_privs for names
//   without an account; never root). Local parts that could leave the spool
//   ('/', '..', a leading '.', control characters) are refused.
// CONFIGURATION PARAMETERS
//   mail_spool_directory, home_mailbox, recipient_delimiter,
//   local_recipient_maps, default_privs, myhostname
#include "local/local_recipient.hpp"
#include "mail/address.hpp"
#include "mail/delivery_log.hpp"
#include "mail/queue_file.hpp"
#include "server/server.hpp"
#include "util/attr.hpp"
#include "util/log.hpp"
#include "util/privilege.hpp"
#include "util/socket.hpp"

#include <grp.h>
#include <unistd.h>

#include <charconv>

using namespace kurir;

namespace {

// Switches effective ids for the lifetime of the object (root only).
class AsUser {
public:
    AsUser(uid_t uid, gid_t gid) : active_(util::running_as_root()) {
        if (!active_) return;
        ok_ = ::setegid(gid) == 0 && ::setgroups(1, &gid) == 0 && ::seteuid(uid) == 0;
    }
    ~AsUser() {
        if (!active_) return;
        if (::seteuid(0) < 0 || ::setegid(0) < 0) util::msg_fatal("cannot regain root after delivery");
        gid_t root = 0;
        ::setgroups(1, &root);
    }
    bool ok() const { return !active_ || ok_; }

private:
    bool active_;
    bool ok_ = false;
};

local::DeliveryStatus deliver_one(const server::ServerContext& ctx, const mail::QueueEnvelope& env,
                                  std::string_view recipient, std::string_view body) {
    auto where = local::find_mailbox(ctx.config, recipient);
    if (auto* st = std::get_if<local::DeliveryStatus>(&where)) return *st;
    auto& target = std::get<local::MailboxTarget>(where);
    std::string prefix = "Return-Path: <" + mail::quote_address(env.sender) + ">\n";
    if (env.sender.empty()) prefix = "Return-Path: <>\n";
    prefix += "Delivered-To: " + mail::quote_address(recipient) + "\n";
    AsUser as(target.uid, target.gid);
    if (!as.ok()) return {"4.3.0", "cannot switch to the recipient's user id"};
    if (target.kind == local::MailboxTarget::Kind::maildir)
        return local::deliver_maildir(target.path, prefix, body, ctx.config.str("myhostname"));
    return local::deliver_mbox(target.path, env.sender, env.arrival_sec, prefix, body);
}

void serve(server::ServerContext& ctx, util::Fd client) {
    util::set_io_timeout(client.get(), static_cast<int>(ctx.config.seconds("ipc_timeout")));
    auto req = util::attr_read(client.get());
    if (!req) {
        util::msg_warn("local: bad request: {}", req.error().text);
        return;
    }
    double handed = mail::now_seconds();
    std::string id = req->get_or("queue_id", "");
    util::Attrs reply;
    auto fail_all = [&](std::string dsn, const std::string& text) {
        for (auto r : req->all("rcpt")) {
            std::string_view off = r.substr(0, r.find(' '));
            reply.add("result", std::string(off) + " " + dsn + " " + text);
        }
        util::attr_write(client.get(), reply);
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

    double active = 0;
    auto at = req->get_or("active_time", "0");
    active = std::strtod(at.c_str(), nullptr);
    for (auto r : req->all("rcpt")) {
        size_t sp = r.find(' ');
        size_t offset = 0;
        std::from_chars(r.data(), r.data() + std::min(sp, r.size()), offset);
        const mail::QueueRecipient* rc = nullptr;
        for (const auto& q : env->recipients)
            if (q.offset == offset) rc = &q;
        if (rc == nullptr) {
            reply.add("result", std::string(r.substr(0, sp)) + " 4.3.0 recipient not in queue file");
            continue;
        }
        double connected = mail::now_seconds();
        auto st = deliver_one(ctx, *env, rc->address, body);
        mail::DeliveryTimes t{env->arrival_sec + env->arrival_usec / 1e6, active, handed, connected,
                              mail::now_seconds()};
        util::msg_info("{}", mail::delivery_log_line(id, rc->address, rc->original, "local", t, st.dsn, st.text));
        reply.add("result", std::to_string(offset) + " " + st.dsn + " " + st.text);
    }
    util::attr_write(client.get(), reply);
}

}  // namespace

int main(int argc, char** argv) {
    server::Hooks hooks;
    hooks.keep_root = true;
    return server::single_server_main(argc, argv, "local", serve, hooks);
}
