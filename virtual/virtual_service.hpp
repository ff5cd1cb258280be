// virtual's service: one delivery request; each recipient's mailbox, uid and
// gid from virtual_mailbox_maps, virtual_uid_maps and virtual_gid_maps
// (keys: the address, without its extension, then "@domain"); a Maildir
// (the table's path ends in "/") or an mbox under virtual_mailbox_base,
// written with those ids.
#pragma once

#include "mail/maps.hpp"
#include "server/server.hpp"
#include "util/result.hpp"
#include "util/socket.hpp"

#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace kurir::virtual_ {

// virtual_uid_maps / virtual_gid_maps: each table in turn (static:N answers
// every key) by each key; an answer that is not a number is an error.
// nullopt: nobody knows it.
class IdMaps {
public:
    explicit IdMaps(std::string parameter) : parameter_(std::move(parameter)) {}
    util::Result<std::optional<long>> find(const mail::Config& cfg, const std::vector<std::string>& keys);

private:
    std::string parameter_;
    std::map<std::string, mail::WatchedMaps> tables_;  // by entry, reopened when rebuilt
};

struct Tables {
    mail::WatchedMaps mailboxes{"virtual_mailbox_maps"};
    IdMaps uids{"virtual_uid_maps"};
    IdMaps gids{"virtual_gid_maps"};
};

// A table's mailbox path is relative to virtual_mailbox_base and may not
// leave it ("..", an absolute path, control characters).
bool safe_mailbox_path(std::string_view path);

bool serve(server::ServerContext& ctx, int client, Tables& tables);

}  // namespace kurir::virtual_
