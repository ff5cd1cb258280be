// A multi-server connection that answers attribute-frame requests one at a
// time: read a frame, call the handler, write its reply frame. A malformed
// frame, or a request the handler refuses, is logged and closes the
// connection (strict marshalling).
#pragma once

#include "server/server.hpp"
#include "util/attr.hpp"

#include <functional>

namespace kurir::server {

using AttrHandler = std::function<util::Result<util::Attrs>(const util::Attrs& request)>;

void serve_attr_connection(ServerContext& ctx, util::Fd client, ClientDone done, AttrHandler handler);

}  // namespace kurir::server
