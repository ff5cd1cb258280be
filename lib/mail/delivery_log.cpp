#include "mail/delivery_log.hpp"

#include "mail/address.hpp"

#include <fmt/format.h>
#include <sys/time.h>

#include <algorithm>

namespace kurir::mail {

std::string format_delay(double s) {
    if (s < 0.01) return "0";
    if (s >= 10) return fmt::format("{:.0f}", s);
    return fmt::format("{:.2g}", s);
}

std::string delivery_log_line(std::string_view queue_id, std::string_view recipient, std::string_view original,
                              std::string_view relay, const DeliveryTimes& t, std::string_view dsn,
                              std::string_view text, std::string_view status) {
    if (status.empty()) status = dsn.starts_with("2") ? "sent" : dsn.starts_with("4") ? "deferred" : "bounced";
    std::string orig = original.empty() || original == recipient
                           ? std::string()
                           : fmt::format("orig_to=<{}>, ", quote_address(original));
    auto span = [](double a, double b) { return format_delay(std::max(0.0, b - a)); };
    return fmt::format("{}: to=<{}>, {}relay={}, delay={}, delays={}/{}/{}/{}, dsn={}, status={} ({})", queue_id,
                       quote_address(recipient), orig, relay, span(t.arrival, t.done), span(t.arrival, t.active),
                       span(t.active, t.handed), span(t.handed, t.connected), span(t.connected, t.done), dsn,
                       status, text);
}

double now_seconds() {
    struct timeval tv {};
    ::gettimeofday(&tv, nullptr);
    return static_cast<double>(tv.tv_sec) + static_cast<double>(tv.tv_usec) / 1e6;
}

}  // namespace kurir::mail
