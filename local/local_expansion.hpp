// What one recipient's expansion has seen so far (Postfix's been_here
// filter with its recursion level): lists that are being expanded (an alias,
// a .forward, a :include: file), destinations already delivered to (a
// mailbox, a /file, a |command, a forwarded address), the depth of the
// expansion and how many items it has visited. A list met again while it is
// still being expanded is a loop; a destination met again is a duplicate and
// gets no second copy; depth and item count are bounded so that no set of
// files, however they name each other, makes local recurse or fan out
// without end. Pure bookkeeping: no files, no clock.
#pragma once

#include <cstddef>
#include <set>
#include <string>
#include <vector>

namespace kurir::local {

class Expansion {
public:
    // Postfix's local(8) breaks alias recursion at about this many hops;
    // virtual_alias_expansion_limit (1000) bounds virtual alias fan-out.
    static constexpr size_t kMaxDepth = 20;
    static constexpr size_t kMaxItems = 1000;

    enum class Visit {
        first,     // go ahead (for a list: expand it, then call leave())
        again,     // already done in this expansion: nothing more to do
        loop,      // a list that is being expanded, met inside itself
        too_deep,  // more than max_depth lists nested
        too_many,  // more than max_items items visited
    };

    explicit Expansion(size_t max_depth = kMaxDepth, size_t max_items = kMaxItems)
        : max_depth_(max_depth), max_items_(max_items) {}

    // A list about to be expanded ("alias bob", "forward /home/bob/.forward",
    // "include 1000 /etc/list"). On first, the list is open until leave().
    Visit enter(const std::string& key);
    void leave(const std::string& key);
    // What enter(key) would say, changing nothing: asked before a list's
    // file is read, so that a list met again is not read again (a .forward
    // may name one large file fifty thousand times).
    Visit peek(const std::string& key) const;
    // A destination about to receive a copy ("mailbox /var/mail/bob",
    // "command 1000 /usr/bin/x", ...).
    Visit deliver(const std::string& key);

    size_t depth() const { return open_.size(); }
    size_t items() const { return items_; }

private:
    size_t max_depth_, max_items_;
    size_t items_ = 0;
    std::vector<std::string> open_;  // the lists being expanded, outermost first
    std::set<std::string> done_;     // lists expanded and destinations delivered to
};

}  // namespace kurir::local
