// cleanup's message processing without I/O: the record stream a client
// sends, in, as it arrives; the queue file's bytes (or a refusal), out to a
// sink, as soon as they are known. The envelope and the headers are held
// (headers up to header_size_limit: they are completed before the body);
// the body streams through, so memory per message is bounded, not the
// message. The size record, known only at the end, is written as a
// fixed-width placeholder and patched (MessageBuilder::size_patch).
#pragma once

#include "mail/content_line.hpp"

#include "cleanup/cleanup_bcc.hpp"
#include "cleanup/cleanup_checks.hpp"
#include "cleanup/cleanup_dkim.hpp"
#include "cleanup/cleanup_masquerade.hpp"
#include "cleanup/cleanup_virtual_alias.hpp"
#include "mail/config.hpp"
#include "mail/record.hpp"
#include "util/result.hpp"

#include <functional>
#include <memory>
#include <optional>
#include <utility>
#include <set>
#include <string>
#include <string_view>
#include <vector>

namespace kurir::cleanup {

struct Refusal {
    char status;  // '4' or '5'
    std::string dsn;
    std::string text;
    bool content = false;  // header/body_checks REJECT: text is the whole reason after the code
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
    // What smtpd's access tables asked for (HOLD, DISCARD).
    bool hold = false;
    bool discard = false;
    // What header/body_checks asked for (logged as they matched).
    bool check_hold = false;
    bool check_discard = false;
    // smtpd_milters' edits (F records, mail/milter_edit.hpp), applied to the
    // finished file by cleanup_milter_edits before it is committed.
    std::vector<std::string> milter_edits;
    // The message is to be DKIM-signed once the milters' edits are in
    // (cleanup_service: sign_after_milters), not as it streamed.
    bool dkim_after_milters = false;
};

// Canonicalises an address (the trivial-rewrite service in production).
using Canonicalize = std::function<util::Result<std::string>(std::string_view)>;

// The address rewriting tables (cleanup_virtual_alias.hpp,
// cleanup_canonical.hpp, cleanup_masquerade.hpp); an empty lookup is a
// parameter left empty.
struct RewriteTables {
    AliasLookup virtual_alias;        // virtual_alias_maps
    AliasLookup canonical;            // canonical_maps
    AliasLookup sender_canonical;     // sender_canonical_maps
    AliasLookup recipient_canonical;  // recipient_canonical_maps
    Masquerade masquerade;            // masquerade_domains
    AliasLookup sender_bcc;           // sender_bcc_maps
    AliasLookup recipient_bcc;        // recipient_bcc_maps
};

class MessageBuilder {
public:
    // Takes the next bytes of the queue file, in order.
    using Sink = std::function<util::Result<void>(std::string_view bytes)>;
    // One record of the client's stream is at most this long; the envelope
    // at most kMaxEnvelope bytes.
    static constexpr size_t kMaxInputRecord = mail::kMaxStreamRecord;
    static constexpr size_t kMaxEnvelope = mail::kMaxStreamEnvelope;
    static constexpr size_t kSizeWidth = 12;  // digits of the size record

    MessageBuilder(const mail::Config& cfg, std::string queue_id, long now_sec, long now_usec, Canonicalize canon,
                   Sink sink, CheckTables checks = {}, RewriteTables rewrite = {}, DkimKeysFor dkim = {});
    // The next bytes of the client's stream, split anywhere. Bytes after
    // the end-of-content record are not taken; overrun() says there were.
    std::expected<void, Refusal> feed(std::string_view bytes);
    bool ended() const { return phase_ == Phase::ended; }
    bool overrun() const { return overrun_; }
    // Once ended: where the size record's digits are and what they are.
    struct Patch {
        size_t offset = 0;
        std::string bytes;
    };
    Patch size_patch() const;
    // Once ended: what the log and the reply need (file stays empty).
    const CleanupOutput& summary() const { return summary_; }
    // What the builder holds now (for tests of the memory bound).
    size_t held_bytes() const;
    // The log lines of header/body_checks since the last call, oldest first.
    std::vector<std::string> take_log() { return std::exchange(log_, {}); }
    // The headers in all are held up to this many times header_size_limit;
    // the lines after that are body.
    static constexpr long kHeaderBlockFactor = 4;

private:
    enum class Phase { envelope, headers, body, ended };
    std::expected<void, Refusal> take(const mail::RecView& r, std::string_view raw);
    std::expected<void, Refusal> take_envelope(const mail::RecView& r);
    std::expected<void, Refusal> take_prepended(std::string_view field);
    std::expected<void, Refusal> take_milter_edit(std::string_view data);
    std::expected<void, Refusal> take_header(const mail::RecView& r);
    std::expected<void, Refusal> finish_headers();
    std::expected<void, Refusal> flush();
    // The DKIM-Signature fields, once the content is complete
    // (cleanup_dkim.hpp); empty when the message is not signed.
    std::expected<std::vector<std::string>, Refusal> dkim_signatures();
    // virtual_alias_maps over the recipients (cleanup_virtual_alias.cpp).
    std::expected<void, Refusal> expand_virtual_aliases();
    // The canonical maps and masquerading over the envelope and the
    // headers (cleanup_canonical.cpp).
    std::expected<void, Refusal> rewrite_addresses();
    // always_bcc, sender_bcc_maps, recipient_bcc_maps (cleanup_bcc.cpp).
    std::expected<void, Refusal> add_blind_copies();
    std::string attr(std::string_view name) const;
    // Content checks (cleanup_message_checks.cpp).
    struct Acted {
        bool drop = false;
        std::optional<std::string> replace;
        std::optional<std::string> prepend;
    };
    std::expected<Acted, Refusal> act(const CheckLookup& table, std::string_view map_class, bool in_header,
                                      std::string_view content);
    std::expected<void, Refusal> check_headers();
    std::expected<void, Refusal> take_body(char type, std::string_view data, std::string_view raw);
    std::expected<void, Refusal> body_piece(char type, std::string_view data, std::string_view raw);
    // MIME structure for mime_header_checks and nested_header_checks
    // (cleanup_message_mime.cpp).
    void mime_start(const std::vector<std::string>& headers);
    void mime_content_type(std::string_view header);
    std::expected<void, Refusal> mime_line(char type, std::string_view data, std::string_view raw);
    std::expected<void, Refusal> mime_flush_header();
    void emit_envelope();
    std::string& dst() { return holding_ ? content_ : out_; }
    void out_line(std::string& to, std::string_view line);
    void out_piece(std::string& to, char type, std::string_view data, std::string_view raw);

    const mail::Config& cfg_;
    std::string queue_id_;
    long now_sec_, now_usec_;
    Canonicalize canon_;
    Sink sink_;
    Phase phase_ = Phase::envelope;
    std::string pending_;  // the client's bytes not yet a whole record
    bool overrun_ = false;  // bytes came after the end-of-content record
    size_t envelope_bytes_ = 0;
    std::vector<std::pair<std::string, std::string>> attrs_;
    std::string sender_;
    bool have_sender_ = false;
    struct Rcpt {
        std::string original, canonical, orcpt;
        int notify = 0;
    };
    std::vector<Rcpt> rcpts_;
    std::string pending_orig_, pending_orcpt_;
    bool header_cut_ = false;  // the current header field was cut at header_size_limit: its continuations go
    int pending_notify_ = 0;
    std::set<std::string> seen_;
    std::vector<std::string> headers_;  // logical header lines, unfolded for inspection
    std::string part_;                  // a header line arriving in pieces
    long header_bytes_ = 0;
    long size_ = 0;        // content bytes, as the mailbox will hold them
    long added_bytes_ = 0;  // of the headers cleanup adds
    long limit_ = 0;
    long header_limit_ = 0;
    bool mask_cr_lf_ = true;
    std::string strip_;  // message_strip_characters, unescaped
    char last_content_type_ = 0;
    // header/body_checks
    CheckTables checks_;
    RewriteTables rewrite_;
    bool filtering_ = false;  // checks apply (not to bounces and forwarded copies; off after REJECT, DISCARD)
    CheckLogContext log_context_;
    std::vector<std::string> log_;
    std::string redirect_, filter_;
    long body_checked_ = 0;     // body bytes seen by body_checks
    long body_check_limit_ = 0;  // body_checks_size_limit
    size_t line_limit_ = 2048;  // line_length_limit: longest content record written
    bool body_mid_line_ = false;  // the last body record written is an L piece
    bool holding_ = false;      // the envelope waits while body_checks may still REDIRECT or FILTER
    std::string content_;       // content records while the envelope waits
    enum class MimeState { text, part_headers, nested_headers };
    MimeState mime_state_ = MimeState::text;
    std::vector<std::string> boundaries_;  // "--boundary" of each multipart level, innermost last
    bool nested_next_ = false;             // this header block is a message/rfc822 part's: its body is a message
    std::string mime_line_;                // a part header line arriving in pieces
    std::string mime_header_;              // a part header, lines joined by "\n"
    DkimKeysFor dkim_keys_;
    std::unique_ptr<DkimContentSigner> signer_;  // reads out_ as it goes to the sink
    std::vector<std::string> prepended_;  // P fields from the client, written after X
    long prepended_bytes_ = 0;
    size_t milter_edit_bytes_ = 0;  // F records held (cleanup_milter_edits.cpp)
    std::string out_;        // output not yet given to the sink
    size_t out_offset_ = 0;  // bytes given to the sink so far
    size_t size_offset_ = 0;
    CleanupOutput summary_;
};

std::expected<CleanupOutput, Refusal> build_queue_file(const mail::Config& cfg, const CleanupInput& in,
                                                       const Canonicalize& canon, const RewriteTables& rewrite = {},
                                                       const DkimKeysFor& dkim = {});

// RFC 5322 date, e.g. "Mon, 23 Nov 2026 10:01:02 +0000 (UTC)".
std::string rfc2822_date(long epoch);

}  // namespace kurir::cleanup
