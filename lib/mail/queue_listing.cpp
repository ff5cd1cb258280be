#include "mail/queue_listing.hpp"

#include "mail/address.hpp"
#include "mail/queue_file.hpp"
#include "util/fs.hpp"
#include "util/json.hpp"

#include <fmt/format.h>
#include <sys/stat.h>

#include <ctime>

namespace kurir::mail {

std::vector<ListedMessage> list_queue(const QueueDir& queue) {
    std::vector<ListedMessage> out;
    for (Queue q : {Queue::maildrop, Queue::incoming, Queue::active, Queue::deferred, Queue::hold}) {
        for (const auto& id : queue.list(q)) {
            std::string path = queue.path(q, id);
            auto bytes = util::read_regular(path);
            if (!bytes) continue;
            auto env = parse_queue_file(*bytes, RecipientsRequired::no);
            if (!env) continue;
            ListedMessage m;
            m.queue_name = std::string(queue_name(q));
            m.queue_id = id;
            m.arrival_time = env->arrival_sec;
            m.message_size = env->content_size;
            if (m.message_size == 0) m.message_size = static_cast<long>(env->content_end - env->content_offset);
            m.sender = env->sender;
            struct stat st {};
            if (::stat(path.c_str(), &st) == 0) {
                if (q == Queue::maildrop) m.sender_uid = st.st_uid;
                m.forced_expire = q != Queue::maildrop && (st.st_mode & kForcedExpireMode) != 0;
            }
            for (const auto& r : env->recipients)
                if (!r.done) m.recipients.push_back({r.address, r.defer_reason});
            out.push_back(std::move(m));
        }
    }
    return out;
}

std::string format_postqueue(const std::vector<ListedMessage>& messages) {
    if (messages.empty()) return "Mail queue is empty\n";
    std::string out = fmt::format("{:<11} {:>8} {:<20} {}\n", "-Queue ID-", "--Size--", "----Arrival Time----",
                                  "-Sender/Recipient-------");
    long bytes = 0;
    for (const auto& m : messages) {
        std::string id = m.queue_id;
        if (m.queue_name == "active") id += '*';
        if (m.queue_name == "hold") id += '!';
        time_t t = m.arrival_time;
        struct tm tm {};
        localtime_r(&t, &tm);
        char date[32];
        strftime(date, sizeof date, "%a %b %e %H:%M:%S", &tm);
        if (m.queue_name == "maildrop") {
            out += fmt::format("{:<11} {:>7} {:<20} (maildrop queue, sender UID {})\n", id, m.message_size, date,
                               m.sender_uid);
        } else {
            out += fmt::format("{:<11} {:>7} {:<20} {}\n", id, m.message_size, date,
                               m.sender.empty() ? "MAILER-DAEMON" : quote_address(m.sender));
        }
        std::string last_reason;
        for (const auto& r : m.recipients) {
            if (!r.delay_reason.empty() && r.delay_reason != last_reason)
                out += fmt::format("{:8}({})\n", "", r.delay_reason);
            last_reason = r.delay_reason;
            out += fmt::format("{:41}{}\n", "", quote_address(r.address));
        }
        out += "\n";
        bytes += m.message_size;
    }
    size_t n = messages.size();
    out += fmt::format("-- {} Kbytes in {} Request{}.\n", (bytes + 1023) / 1024, n, n == 1 ? "" : "s");
    return out;
}

std::string format_json_line(const ListedMessage& m) {
    std::string out = fmt::format(
        "{{\"queue_name\": {}, \"queue_id\": {}, \"arrival_time\": {}, \"message_size\": {}, \"forced_expire\": {}, "
        "\"sender\": {}, \"recipients\": [",
        util::json_string(m.queue_name), util::json_string(m.queue_id), m.arrival_time, m.message_size,
        m.forced_expire ? "true" : "false", util::json_string(m.sender));
    for (size_t i = 0; i < m.recipients.size(); ++i) {
        const auto& r = m.recipients[i];
        out += fmt::format("{}{{\"address\": {}", i ? ", " : "", util::json_string(r.address));
        if (!r.delay_reason.empty()) out += fmt::format(", \"delay_reason\": {}", util::json_string(r.delay_reason));
        out += "}";
    }
    return out + "]}\n";
}

}  // namespace kurir::mail
