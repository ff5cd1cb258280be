// smtp's service to qmgr: one delivery-request frame (mail/mail_proto.hpp)
// per connection, the delivery on the process's loop, one delivery-result
// frame back. A request that is not well-formed is logged and the
// connection closed unanswered (qmgr defers its recipients).
#pragma once

#include "server/server.hpp"
#include "smtp/smtp_agent.hpp"
#include "util/fs.hpp"

namespace kurir::smtp {

void serve_qmgr(server::ServerContext& ctx, Agent& agent, util::Fd client, server::ClientDone done);

}  // namespace kurir::smtp
