#include "mail/from_line.hpp"

#include "mail/address.hpp"

#include <fmt/format.h>

#include <ctime>

namespace kurir::mail {

std::string from_line(std::string_view sender, long arrival) {
    time_t t = arrival;
    char date[64];
    struct tm tm {};
    localtime_r(&t, &tm);
    strftime(date, sizeof date, "%a %b %e %H:%M:%S %Y", &tm);
    return fmt::format("From {} {}\n", sender.empty() ? "MAILER-DAEMON" : quote_address(sender), date);
}

}  // namespace kurir::mail
