// The queue as the tools show it: one entry per message with Postfix's
// field names, the postqueue -p layout and the -j JSON lines.
#pragma once

#include "mail/queue.hpp"

#include <string>
#include <vector>

namespace kurir::mail {

struct ListedRecipient {
    std::string address;
    std::string delay_reason;
};

struct ListedMessage {
    std::string queue_name;
    std::string queue_id;
    long arrival_time = 0;
    long message_size = 0;
    std::string sender;
    std::vector<ListedRecipient> recipients;  // not yet delivered
    long sender_uid = -1;                     // maildrop entries
    bool forced_expire = false;               // kurir-super -e/-f marked it
};

// Every message in maildrop, incoming, active, deferred and hold, by queue
// then id. Files that vanish or cannot be parsed while listing are skipped.
std::vector<ListedMessage> list_queue(const QueueDir& queue);

std::string format_postqueue(const std::vector<ListedMessage>& messages);  // mailq
std::string format_json_line(const ListedMessage& m);                     // one -j line

}  // namespace kurir::mail
