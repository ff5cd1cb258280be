// DKIM verification of inbound mail, the content side (pure: no I/O): the
// message's content records pass through on their way to cleanup while the
// header fields are collected and the body lines are hashed for the
// signatures the header holds (mail::DkimVerifier). A header field
// "Authentication-Results:" whose authserv-id is ours is removed on the
// way (RFC 8601 section 5: only our own verifier may claim our id).
//
// A header line is judged by its first kilobyte (or all of it when
// shorter), as cleanup will see it: without message_strip_characters and
// with stray CRs and LFs masked; it goes on to cleanup stripped, so that
// both judge the same bytes (a header name is at most 998
// characters, mail::kMaxHeaderName). These settings are smtpd's: a cleanup
// given other values in master.cf (-o) would judge other bytes. The header ends as cleanup ends it, or later: at the empty line, at a line that is
// neither a header field nor a continuation, or when the header lines
// passed four times header_size_limit; each field is kept for the verifier
// up to header_size_limit bytes (cleanup cuts it there too). A field is
// held back until the next line shows where it ends (or until it passed
// header_size_limit: then it is judged by what came so far and the rest
// streams through), so that a removed field goes nowhere. Body lines are
// put together from their pieces for the verifier up to kMaxBodyLine bytes;
// a longer line makes the message unverifiable (dkim=policy).
#pragma once

#include "mail/dkim_verify.hpp"

#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace kurir::smtpd {

class DkimContent {
public:
    static constexpr size_t kMaxBodyLine = 1 << 20;
    // Receives the records that go on to cleanup: mail::rec::line or part.
    using Forward = std::function<void(char type, std::string_view data)>;

    // strip, mask_cr_lf: message_strip_characters (parsed) and
    // cleanup_replace_stray_cr_lf, which cleanup applies before it judges a
    // header line: judged here the same way.
    DkimContent(std::string authserv_id, size_t header_limit, size_t max_signatures, std::string strip = {},
                bool mask_cr_lf = true);

    // One content record (N or L) as the client sent it. A header line goes
    // on stripped of message_strip_characters, as cleanup will strip it.
    void record(char type, std::string_view raw, const Forward& forward);
    // The end of the content: what is held goes on, the body hashes are done.
    void finish(const Forward& forward);

    // After finish: the signatures and their checks.
    const mail::DkimVerifier& verifier() const { return *verifier_; }
    // Why the message cannot be verified at all ("" when it can).
    const std::string& unverifiable() const { return unverifiable_; }
    // Authentication-Results fields removed (they claimed our authserv-id).
    size_t removed() const { return removed_; }

private:
    void classify_line(const Forward& forward);
    void add(char type, std::string_view data, const Forward& forward);
    void forward_header(char type, std::string_view data, const Forward& forward);
    void close_field(const Forward& forward);
    void decide(const Forward& forward);
    void end_headers();
    void body(char type, std::string_view data);
    std::string stripped(std::string_view raw) const;
    std::string_view judged(std::string_view data);

    std::string authserv_id_;
    size_t header_limit_;
    size_t max_signatures_;
    std::string strip_;
    bool mask_cr_lf_;
    std::string masked_;  // what judged() returned last, when it changed something
    bool in_headers_ = true;
    // The header line being read until it is known what it is: its
    // records and its first bytes.
    bool line_known_ = false;
    std::vector<std::pair<char, std::string>> line_hold_;
    size_t line_hold_bytes_ = 0;
    std::string line_head_;  // as judged: stripped, masked
    size_t header_bytes_ = 0;
    size_t line_bytes_ = 0;  // of the current line, counted in header_bytes_
    // The field being read: its text (lines joined by "\n", at most
    // header_limit_ bytes), the records held back, and what becomes of it.
    bool have_field_ = false;
    std::string field_;
    std::vector<std::pair<char, std::string>> held_;
    size_t held_bytes_ = 0;
    enum class Fate { undecided, forward, drop } fate_ = Fate::undecided;
    std::vector<mail::DkimHeaderField> headers_;
    std::unique_ptr<mail::DkimVerifier> verifier_;
    std::string body_line_;
    std::string unverifiable_;
    size_t removed_ = 0;
};

}  // namespace kurir::smtpd
