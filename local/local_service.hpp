// local's service: one delivery-request frame (mail/mail_proto.hpp) read
// from the client, each recipient delivered, one delivery-result frame
// written back. A request that is not well-formed is logged and gets no
// answer (qmgr defers its recipients).
#pragma once

#include "mail/maps.hpp"
#include "server/server.hpp"
#include "util/fs.hpp"

namespace kurir::local {

bool serve(server::ServerContext& ctx, int client, mail::WatchedMaps& aliases);

}  // namespace kurir::local
