// smtpd's CHUNKING (RFC 3030): "BDAT n [LAST]" and its n bytes, read
// exactly (the bytes after them are the next command, pipelined or not),
// never buffered whole, and streamed to cleanup as DATA's lines are. The
// end of the message (BDAT ... LAST) takes DATA's path: the end-of-data
// restrictions, cleanup's answer, 250 with the queue id.
//
// Replies and errors as Postfix's smtpd: "250 2.0.0 Ok: n bytes" per chunk,
// "250 2.0.0 Ok: N bytes queued as ID" at the end (N counted as Postfix
// does: each line and 2 for its end, the same as the chunks' sum when every
// line ends in CRLF). message_size_limit applies to the chunks' sum. A count that cannot be
// read leaves no way to find the next command: 521 and the session ends.
// Every other refusal reads and drops the chunk's bytes (RFC 3030 section
// 4.2), and a failed transaction drops its later chunks ("551 5.0.0
// Discarded n bytes after earlier error") until one with LAST.
#include "mail/bdat.hpp"
#include "smtpd/smtpd_session.hpp"
#include "util/log.hpp"

#include <event2/bufferevent.h>
#include <fmt/format.h>

namespace kurir::smtpd {

bool Session::chunking_offered() const { return !policy_.discard_ehlo.discards("chunking"); }

void Session::do_bdat(const mail::SmtpCommand& cmd) {
    auto parsed = mail::parse_bdat_arg(cmd.arg);
    if (!parsed) {
        util::msg_warn("{}: malformed BDAT command syntax from {}: BDAT {:.100}",
                       queue_id_.empty() ? "NOQUEUE" : queue_id_, client_id(), cmd.arg);
        ++errors_;
        reply("521 5.5.4 Syntax: BDAT count [LAST]");
        return close_after_reply();
    }
    const mail::BdatCommand chunk = *parsed;
    if (!chunking_offered()) {
        error_reply("502 5.5.1 Error: command not implemented");
        return skip_bdat_chunk(chunk);
    }
    if (access_denied() || refuse_before_tls()) return skip_bdat_chunk(chunk);
    if (bdat_failed_) {
        error_reply(fmt::format("551 5.0.0 Discarded {} bytes after earlier error", chunk.size));
        return skip_bdat_chunk(chunk);
    }
    if (!have_mail_) {
        error_reply("503 5.5.1 Error: need RCPT command");
        return fail_bdat(chunk);
    }
    if (recipients_.empty()) {
        error_reply("554 5.5.1 Error: no valid recipients");
        return fail_bdat(chunk);
    }
    if (chunk.size == 0 && !chunk.last) {  // fails the transaction, as Postfix
        error_reply("551 5.7.1 Null BDAT request");
        return fail_bdat(chunk);
    }
    // message_size_limit: the chunks so far and this one (bdat_total_ never
    // passes the limit, so the subtraction cannot wrap).
    if (uint64_t limit = policy_.size_limit > 0 ? static_cast<uint64_t>(policy_.size_limit) : 0;
        limit > 0 && chunk.size > limit - bdat_total_) {
        util::msg_warn("{}: BDAT request from {} exceeds message size limit", queue_id_.empty() ? "NOQUEUE" : queue_id_,
                       client_id());
        error_reply("552 5.3.4 Chunk exceeds message size limit");
        return fail_bdat(chunk);
    }
    if (!bdat_) {  // the first chunk: DATA's checks, then cleanup
        if (restricted(mail::SmtpStage::data, sender_facts(), {}, [this, cmd] { do_bdat(cmd); })) {
            if (state_ == State::checking) return;  // do_bdat runs again with the answer; the bytes wait
            if (state_ == State::closing) return;
            return fail_bdat(chunk);
        }
        if (milters_ && !milter_data_passed_) {  // the milters' DATA stage; the bytes wait
            return with_milters(
                "DATA", {}, [this](auto done) { milters_->data(done); },
                [this, cmd] {
                    milter_data_passed_ = true;
                    do_bdat(cmd);
                },
                [this, chunk] { fail_bdat(chunk); });
        }
        if (!start_message()) {
            reply("451 4.3.0 Error: queue file write error");
            return fail_bdat(chunk);
        }
        bdat_ = std::make_unique<mail::BdatReader>();
        bdat_total_ = 0;
        bdat_content_ = 0;
    } else if (!cleanup_) {  // cleanup gave up on the message after an earlier chunk
        std::string text = early_answer_.empty() ? "451 4.3.0 Error: queue file write error" : early_answer_;
        util::msg_info("{}: reject: BDAT from {}: {}", queue_id_.empty() ? "NOQUEUE" : queue_id_, client_id(), text);
        reply(text);
        return fail_bdat(chunk);
    }
    bdat_total_ += chunk.size;
    bdat_size_ = chunk.size;
    bdat_last_ = chunk.last;
    bdat_discard_ = false;
    bdat_chunk_ = mail::BdatChunk(chunk.size);
    state_ = State::bdat;  // process_input goes on with the bytes
}

// The chunk's bytes are read and dropped; its reply went out already.
void Session::skip_bdat_chunk(const mail::BdatCommand& chunk) {
    if (state_ == State::closing) return;
    bdat_size_ = chunk.size;
    bdat_last_ = chunk.last;
    bdat_discard_ = true;
    bdat_chunk_ = mail::BdatChunk(chunk.size);
    state_ = State::bdat;
}

// The transaction ends here; later chunks up to one with LAST are dropped.
void Session::fail_bdat(const mail::BdatCommand& chunk) {
    reset_transaction();
    bdat_failed_ = !chunk.last;
    skip_bdat_chunk(chunk);
}

void Session::bdat_chunk_done() {
    state_ = State::command;
    if (bdat_discard_) {
        if (bdat_last_) bdat_failed_ = false;
        return;
    }
    if (!cleanup_) {  // cleanup refused or failed while the chunk came
        std::string text = early_answer_.empty() ? "451 4.3.0 Error: queue file write error" : early_answer_;
        util::msg_info("{}: reject: BDAT from {}: {}", queue_id_.empty() ? "NOQUEUE" : queue_id_, client_id(), text);
        bool last = bdat_last_;
        reset_transaction();
        bdat_failed_ = !last;
        return reply(text);
    }
    if (!bdat_last_) return reply(fmt::format("250 2.0.0 Ok: {} bytes", bdat_size_));
    finish_bdat_content();
    finish_data();  // as at DATA's end: restrictions, then cleanup's answer
}

}  // namespace kurir::smtpd
