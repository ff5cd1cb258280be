// cleanup's message processing as a pure function: the record stream a
// client sent, in; the queue file's bytes (or a refusal), out.
#pragma once

#include "mail/config.hpp"
#include "util/result.hpp"

#include <functional>
#include <string>
#include <string_view>
#include <vector>

namespace kurir::cleanup {

struct Refusal {
    char status;  // '4' or '5'
    std::string dsn;
    std::string text;
};

struct CleanupInput {
    std::string queue_id;
    long now_sec = 0;
    long now_usec = 0;
    std::string_view stream;  // records A S O R M N L X, as the client sent them
};

struct CleanupOutput {
    std::string file;  // the queue file, complete with its end record
    std::string message_id;
    std::string sender;
    size_t recipients = 0;
    long size = 0;
};

// Canonicalises an address (the trivial-rewrite service in production).
using Canonicalize = std::function<util::Result<std::string>(std::string_view)>;

std::expected<CleanupOutput, Refusal> build_queue_file(const mail::Config& cfg, const CleanupInput& in,
                                                       const Canonicalize& canon);

// RFC 5322 date, e.g. "Mon, 23 Nov 2026 10:01:02 +0000 (UTC)".
std::string rfc2822_date(long epoch);

}  // namespace kurir::cleanup
