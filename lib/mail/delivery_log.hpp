// The per-recipient delivery log line, in Postfix's layout:
//   ID: to=<rcpt>, [orig_to=<orig>, ]relay=R, delay=D, delays=a/b/c/d, dsn=X.Y.Z, status=S (text)
// S is sent, deferred or bounced by the dsn's class unless given
// ("expired, returned to sender").
#pragma once

#include <string>
#include <string_view>

namespace kurir::mail {

struct DeliveryTimes {
    double arrival = 0;   // message arrival (epoch seconds)
    double active = 0;    // when qmgr moved it to active
    double handed = 0;    // when the delivery agent got the request
    double connected = 0; // when the agent was ready to write
    double done = 0;      // when the delivery finished
};

std::string format_delay(double seconds);
std::string delivery_log_line(std::string_view queue_id, std::string_view recipient, std::string_view original,
                              std::string_view relay, const DeliveryTimes& t, std::string_view dsn,
                              std::string_view text, std::string_view status = {});
double now_seconds();

}  // namespace kurir::mail
