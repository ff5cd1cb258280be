// pickup's service: every file in maildrop/ checked (pickup_file.hpp) and
// streamed to cleanup with its submitter's identity; removed once cleanup
// says the queue file is durable, moved to corrupt/ when it is refused for
// good, left for the next scan when cleanup cannot take it now.
#pragma once

#include "server/server.hpp"

namespace kurir::pickup {

void scan(const server::ServerContext& ctx);
// A trigger frame from public/pickup: a wake-up scans; anything else is
// logged and ignored (master's periodic wake-up scans anyway).
void on_trigger(const server::ServerContext& ctx, std::string_view request);

}  // namespace kurir::pickup
