// The delivery agents that deliver nothing (error, retry, discard): one
// delivery request in, the same DSN status and text for every recipient
// out, each logged in Postfix's layout with relay=none.
#pragma once

#include "server/server.hpp"
#include "util/socket.hpp"

#include <string>
#include <string_view>

namespace kurir::server {

struct AgentAnswer {
    std::string dsn;   // "5.1.1"
    std::string text;  // the reason, as logged and bounced
};

// The nexthop of "error:5.1.1 No such user" as a status and a text: a
// leading X.Y.Z whose class is the one given (4 or 5; 2 for discard)
// replaces default_dsn; the rest (or default_text) is the text.
AgentAnswer nexthop_answer(std::string_view nexthop, std::string_view default_dsn, std::string_view default_text);

bool answer_all(ServerContext& ctx, int client, std::string_view default_dsn, std::string_view default_text);

}  // namespace kurir::server
