#include "pipe/pipe_service.hpp"

#include "mail/address.hpp"
#include "mail/delivery_log.hpp"
#include "mail/mail_proto.hpp"
#include "mail/privileged_accounts.hpp"
#include "mail/queue_file.hpp"
#include "server/delivery_job.hpp"
#include "util/attr.hpp"
#include "util/fs.hpp"
#include "util/log.hpp"
#include "util/privilege.hpp"

#include <sysexits.h>
#include <unistd.h>

namespace kurir::pipe {
namespace {

struct SysExit {
    int code;
    const char* dsn;
    const char* text;
};

// Postfix's sys_exits table: the meaning of each sysexits(3) code.
constexpr SysExit kSysExits[] = {
    {EX_USAGE, "5.3.0", "command line usage error"},  {EX_DATAERR, "5.6.0", "data format error"},
    {EX_NOINPUT, "5.3.0", "cannot open input"},       {EX_NOUSER, "5.1.1", "user unknown"},
    {EX_NOHOST, "5.1.2", "host name unknown"},        {EX_UNAVAILABLE, "5.3.0", "service unavailable"},
    {EX_SOFTWARE, "5.3.0", "internal software error"}, {EX_OSERR, "4.3.0", "system resource problem"},
    {EX_OSFILE, "5.3.0", "critical OS file missing"}, {EX_CANTCREAT, "5.2.0", "can't create user output file"},
    {EX_IOERR, "5.3.0", "input/output error"},        {EX_TEMPFAIL, "4.3.0", "temporary failure"},
    {EX_PROTOCOL, "5.5.0", "remote error in protocol"}, {EX_NOPERM, "5.7.0", "permission denied"},
    {EX_CONFIG, "4.3.5", "local configuration error"},
};

// The message's lines, each ending "\n", and whether a Delivered-To:
// header already names the recipient (the D flag's loop check).
bool delivered_to(std::string_view body, std::string_view recipient) {
    size_t pos = 0;
    std::string want = mail::lowercase(recipient);
    while (pos < body.size()) {
        size_t nl = body.find('\n', pos);
        std::string_view line = body.substr(pos, nl == std::string_view::npos ? body.size() - pos : nl - pos);
        if (line.empty()) break;  // end of the headers
        if (line.size() > 13 && mail::lowercase(line.substr(0, 13)) == "delivered-to:") {
            std::string_view v = line.substr(13);
            while (!v.empty() && (v.front() == ' ' || v.front() == '\t')) v.remove_prefix(1);
            if (mail::lowercase(v) == want) return true;
        }
        pos = nl == std::string_view::npos ? body.size() : nl + 1;
    }
    return false;
}

long time_limit(const mail::Config& cfg, const std::string& service) {
    std::string own = service + "_time_limit";
    if (cfg.explicit_values().contains(own)) return cfg.seconds(own);
    return cfg.seconds("command_time_limit");
}

}  // namespace

PipeStatus command_status(const util::CommandOutcome& done, const std::string& service, const std::string& command) {
    std::string output = done.first_line();
    std::string with_output = output.empty() ? "" : ". Command output: " + output;
    if (!done.started) return {"4.3.0", done.error};
    if (done.timed_out) return {"5.3.0", "Command time limit exceeded: \"" + command + "\"" + with_output};
    if (done.exited && done.status == 0) return {"2.0.0", "delivered via " + service + " service"};
    if (done.exited)
        for (const auto& e : kSysExits)
            if (e.code == done.status) return {e.dsn, std::string(e.text) + with_output};
    std::string how = done.exited ? "status " + std::to_string(done.status) : "signal " + std::to_string(done.status);
    return {"5.3.0", "Command died with " + how + ": \"" + command + "\"" + with_output};
}

bool serve(server::ServerContext& ctx, int client, const mail::PipeSpec& spec) {
    auto read = server::read_delivery_job(ctx, client, ctx.service);
    if (!read.job) return read.usable;
    auto& job = read.job;
    const mail::QueueEnvelope* env = &job->envelope;
    const std::string& body = job->body;
    const std::string& id = job->request.queue_id;
    const auto* req = &job->request;
    double handed = job->handed;
    // One status for every recipient, each logged.
    auto answer = [&](const std::string& dsn, const std::string& text, const std::string& action, double connected) {
        mail::proto::DeliveryResult reply;
        for (const auto& r : req->recipients) {
            if (const auto* rc = job->recipient(r.offset))
                util::msg_info("{}", mail::delivery_log_line(id, rc->address, rc->original, ctx.service,
                                                             job->times(connected), dsn, text));
            reply.recipients.push_back({r.offset, dsn, text, {}, {}, dsn[0] == '2' ? action : std::string()});
        }
        return server::answer_delivery(client, reply);
    };

    mail::PipeMacros macros;
    macros.sender = env->sender;
    macros.nexthop = req->nexthop;
    macros.queue_id = id;
    macros.size = env->content_size;
    macros.client = {{"client_address", env->attr("client_addr")}, {"client_hostname", env->attr("client_name")},
                     {"client_helo", env->attr("helo")},          {"client_protocol", env->attr("protocol")},
                     {"sasl_username", env->attr("sasl_username")}, {"sasl_method", env->attr("sasl_method")}};
    for (const auto& r : req->recipients)
        if (const auto* q = job->recipient(r.offset)) macros.recipients.push_back({q->address, q->original});
    if (macros.recipients.size() != req->recipients.size())
        return answer("4.3.0", "recipient not in queue file", {}, handed);

    if (spec.size_limit > 0 && env->content_size > spec.size_limit)
        return answer("5.2.3", "message file too big", {}, handed);
    for (char flag : {'D', 'O'})
        if (spec.has(flag) && macros.recipients.size() > 1)
            return answer("4.3.5",
                          fmt::format("pipe flag `{}' requires {}_destination_recipient_limit = 1", flag, ctx.service),
                          {}, handed);
    if (spec.has('D') && delivered_to(body, macros.recipients.front().address))
        return answer("5.4.6",
                      "mail forwarding loop for " + mail::quote_address(macros.recipients.front().address), {},
                      handed);

    // user=: never root; the command runs with that user's (and group's) ids.
    auto account = util::find_account(spec.user);
    if (!account) return answer("4.3.5", "user= " + spec.user + ": no such user", {}, handed);
    gid_t gid = account->gid;
    if (!spec.group.empty()) {
        auto g = util::find_group(spec.group);
        if (!g) return answer("4.3.5", "user= group " + spec.group + ": no such group", {}, handed);
        gid = *g;
    }
    if (account->uid == 0 || gid == 0)
        return answer("4.3.5", "user= " + spec.user + ": must not be root or have group root", {}, handed);
    // Nor, as Postfix's pipe, the mail system's own: what the command runs
    // as must not reach the queue (mail_owner's) or the maildrop
    // (setgid_group's). A user instance runs everything as its one user.
    if (util::running_as_root()) {
        auto system = mail::find_privileged_accounts(ctx.config);
        if (!system) return answer("4.3.5", system.error().text, {}, handed);
        const auto& owner = system->mail_owner;
        if (account->uid == owner.uid || gid == owner.gid)
            return answer("4.3.5", "user= " + spec.user + ": specifies mail system owner " + owner.name, {}, handed);
        if (gid == system->setgid_gid)
            return answer("4.3.5", "user= " + spec.user + ": specifies mail system group " + system->setgid_group, {},
                          handed);
    }

    util::CommandSpec run;
    run.argv = mail::expand_pipe_argv(spec, macros, ctx.config.str("recipient_delimiter"));
    run.uid = account->uid;
    run.gid = gid;
    run.directory = spec.directory.empty() ? "/" : spec.directory;
    run.time_limit = time_limit(ctx.config, ctx.service);
    std::string message = mail::pipe_message(spec, macros, env->arrival_sec, body);
    double connected = mail::now_seconds();
    auto done = util::run_command(run, message);
    auto st = command_status(done, ctx.service, spec.argv.front());
    return answer(st.dsn, st.text, spec.has('X') ? "delivered" : "relayed", connected);
}

}  // namespace kurir::pipe
