// The Sender Rewriting Scheme's address forms, as Shevek's libsrs2 and
// postsrsd write them (the de facto spec), without the hash function:
//
//   SRS0=HHHH=TT=host=user@srs_domain     a sender we forwarded
//   SRS1=HHHH=host1=OPAQUE@srs_domain     an SRS0 address of forwarder host1
//                                         forwarded again ("host1==HHHH=...")
//
// HHHH is the hash (srs.hpp), TT the day number modulo 1024 in base32
// (A-Z2-7). The separator after the tag may be "=", "-" or "+"; every later
// one is "=". Tag, hash and timestamp are read in any case. Pure functions:
// the clock is passed in.
#pragma once

#include "util/result.hpp"

#include <string>
#include <string_view>
#include <variant>

namespace kurir::mail::srs {

inline constexpr long kDaySeconds = 24 * 60 * 60;
inline constexpr int kStampSlots = 1024;  // two base32 characters
inline constexpr int kMaxAgeDays = 21;    // libsrs2's maxage

struct Srs0 {
    std::string hash, stamp, host, user;
};
struct Srs1 {
    std::string hash, host;
    std::string opaque;  // the first forwarder's SRS0 local part after "SRS0", separator included
};
using Parsed = std::variant<Srs0, Srs1>;

// Whether a local part starts with SRS0 or SRS1 and a separator.
bool is_srs0(std::string_view local);
bool is_srs1(std::string_view local);
inline bool is_srs(std::string_view local) { return is_srs0(local) || is_srs1(local); }

// The local part of an SRS address split into its fields; an error names
// the part that is missing ("No timestamp in SRS0 address").
util::Result<Parsed> parse_local(std::string_view local);

// The two base32 characters for the day of unix_seconds.
std::string timestamp(long unix_seconds);
// The day slot (0-1023) a timestamp names, or -1 when it is malformed.
int decode_timestamp(std::string_view stamp);
// Whether a timestamp is from the last max_age days (today included),
// modulo 1024 days as libsrs2 reads it.
bool timestamp_fresh(std::string_view stamp, long now, int max_age_days = kMaxAgeDays);

}  // namespace kurir::mail::srs
