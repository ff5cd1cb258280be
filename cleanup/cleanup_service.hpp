// cleanup's service: a cleanup-hello frame naming the new queue id, the
// client's record stream (mail/record.hpp) read up to its end record, the
// queue file built and made durable in incoming/, one cleanup-reply frame
// (mail/mail_proto.hpp) and a wake-up for qmgr. A stream that is malformed,
// too large or cut short is refused with status 4 and logged. The
// connection (borrowed) may carry the next message when the answer came
// after the whole stream and nothing followed its end record: serve says
// so (server.hpp's request_server_main keeps it, smtpd reuses it).
#pragma once

#include "mail/clients.hpp"
#include "server/server.hpp"
#include "util/fs.hpp"

namespace kurir::cleanup {

// One message from client into incoming/, then qmgr woken on the process's
// kept trigger connection.
bool serve(server::ServerContext& ctx, int client, mail::RewriteClient& rewrite, mail::KeptTrigger& qmgr);

}  // namespace kurir::cleanup
