// qshape(1)'s view of the queue: messages counted by age bucket per
// recipient (or sender) domain, as a pure function over the listing, with
// the clock passed in.
//
// Buckets (bucket_time T minutes, bucket_count N): [0,T), [T,2T), [2T,4T),
// ... and the last has no limit; -l makes them linear: [0,T), [T,2T),
// [2T,3T), ... The header row names each bucket by its upper limit
// ("T 5 10 20 40 80 160 320 640 1280 1280+" by default), the first column
// is the total. Rows: TOTAL, then the domains by total (most first), then
// by length of name, then by name. The output is right justified to
// `width` columns, qshape's layout.
#pragma once

#include "mail/queue_listing.hpp"

#include <string>
#include <vector>

namespace kurir::mail {

struct QueueShapeOptions {
    bool by_sender = false;  // -s
    bool parents = false;    // -p: also .parent domains with >= min_subdomains subdomains
    int min_subdomains = 5;  // -m
    int bucket_count = 10;   // -b
    int bucket_minutes = 5;  // -t
    bool linear = false;     // -l
    int width = 80;          // -w
};

// The domain an address is counted under: the part after the last "@",
// lower case, ".." collapsed, outer dots dropped; the null sender is
// MAILER-DAEMON.
std::string shape_domain(std::string_view address);

// Which bucket (1..bucket_count) a message that arrived at `arrival` falls
// in at `now`.
int shape_bucket(long arrival, long now, const QueueShapeOptions& o);

std::string format_queue_shape(const std::vector<ListedMessage>& messages, long now, const QueueShapeOptions& o);

}  // namespace kurir::mail
