// NAME
//   pipe - deliver mail to a command
// DESCRIPTION
//   Serves private/SERVICE for each master.cf entry that runs it, one
//   delivery request at a time (several on one connection, each counted
//   against max_use), as Postfix's pipe(8):
//       dovecot unix - n n - - pipe
//         flags=DRhu user=vmail:vmail argv=/usr/lib/dovecot/dovecot-lda -f ${sender} -d ${recipient}
//   Attributes: flags= (B blank line at the end, D Delivered-To:, F From_
//   line, O X-Original-To:, R Return-Path:, X final delivery, h fold
//   ${nexthop} and ${domain}, q quote addresses, u fold the local part,
//   . dot-stuff, > quote "From " lines), user=name[:group] (required),
//   size= (bigger messages bounce 5.2.3), eol= (line end, default \n),
//   null_sender= (${sender} of <>, default MAILER-DAEMON), directory=, and
//   argv= last: the program (an absolute path, run without a shell) and
//   its arguments with ${sender} ${recipient} ${user} ${extension}
//   ${mailbox} ${domain} ${original_recipient} ${nexthop} ${queue_id}
//   ${size} ${client_address} ${client_hostname} ${client_helo}
//   ${client_protocol} ${sasl_method} ${sasl_username}. An argument with a
//   per-recipient macro is repeated for each recipient of the request; D
//   and O need SERVICE_destination_recipient_limit = 1. Reads the message
//   from active/ID and gives it to the command on standard input.
//   The command's exit decides for every recipient: 0 delivered ("delivered
//   via SERVICE service"), a sysexits(3) code by its meaning (75
//   EX_TEMPFAIL and the other temporary ones defer), anything else or a
//   signal bounces with the first line of the command's output; at
//   SERVICE_time_limit (default command_time_limit) its process group is
//   killed and the message bounces.
// SECURITY
//   Runs as root only to become user= for the command (never root, never
//   group root, never mail_owner's user or group nor setgid_group, as
//   Postfix's pipe), in a new session with a cleaned environment; addresses
//   reach the command as single arguments, never through a shell. Bad
//   attributes stop the service at start with the reason logged.
// CONFIGURATION PARAMETERS
//   command_time_limit, SERVICE_time_limit, recipient_delimiter, ipc_timeout
#include "daemons/daemons.hpp"
#include "pipe/pipe_service.hpp"
#include "server/server.hpp"
#include "util/log.hpp"

#include <optional>

using namespace kurir;

int kurir::daemons::pipe_main(int argc, char** argv) {
    std::optional<mail::PipeSpec> spec;
    server::Hooks hooks;
    hooks.keep_root = true;
    hooks.pre_drop = [&](server::ServerContext& ctx) {
        auto parsed = mail::parse_pipe_args(ctx.args);
        if (!parsed) util::msg_fatal("service {}: {}", ctx.service, parsed.error().text);
        spec = std::move(*parsed);
    };
    return server::request_server_main(
        argc, argv, "pipe", [&](server::ServerContext& ctx, int client) { return pipe::serve(ctx, client, *spec); },
        hooks);
}
