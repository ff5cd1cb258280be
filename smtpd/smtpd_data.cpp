// smtpd's DATA phase: the message streams to cleanup as records while it
// arrives; the client hears 250 only when cleanup says the queue file is
// durable.
#include "mail/address.hpp"
#include "mail/clients.hpp"
#include "mail/mail_proto.hpp"
#include "mail/record.hpp"
#include "mail/smtputf8.hpp"
#include "smtpd/smtpd_session.hpp"
#include "util/attr.hpp"
#include "util/log.hpp"

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>
#include <fmt/format.h>
#include <utility>

namespace kurir::smtpd {

namespace {
// Message bytes smtpd holds for a slow cleanup: above this it stops reading
// the client (50 sessions in DATA then cost smtpd ~16 MB, not 200).
constexpr size_t kCleanupHighWater = 256 << 10;
constexpr size_t kMaxLinePiece = 4096;
}  // namespace

void Session::send_record(char type, std::string_view data) {
    std::string rec;
    mail::rec_append(rec, type, data);
    cleanup_->write_raw(rec);
    if (cleanup_reused_ && !cleanup_conversation_->greeted()) cleanup_replay_ += rec;
    if (type == mail::rec::prepend) prepended_bytes_ += data.size() + 1;  // as cleanup counts them
    if (collect_lines_ && (type == mail::rec::line || type == mail::rec::part)) milter_content(type, data);
}

// The record stream goes out raw; cleanup answers with two frames, its hello
// and its reply. A connection that cleanup answered after the whole stream
// is kept for the process's next message (release_cleanup), as qmgr keeps
// its connections to the delivery agents: no connect, accept, and status
// messages to master per message.
bool Session::open_cleanup(bool may_reuse) {
    using Fault = server::AttrConn::Fault;
    if (cleanup_conversation_)
        *cleanup_conversation_ = {};
    else
        cleanup_conversation_ = std::make_unique<mail::CleanupConversation>();
    cleanup_replay_.clear();
    cleanup_ended_ = false;
    server::AttrConn::Handlers h;
    h.max_frames = 2;
    h.on_frame = [this](server::AttrConn&, util::Attrs frame) { cleanup_said(frame); };
    h.on_fault = [this](server::AttrConn& conn, Fault kind, const util::Error& e) {
        // A kept connection that cleanup closed (max_use, max_idle, a
        // reload, a crash) before its hello, without reading the stream's
        // end: it has queued nothing of this message, since it queues only
        // after reading the end. The stream goes once more, on a new
        // connection.
        bool end_unread = !cleanup_ended_ || kind == Fault::reset || conn.unsent() > 0;
        if (cleanup_reused_ && !cleanup_conversation_->greeted() && end_unread &&
            (kind == Fault::closed || kind == Fault::reset))
            return cleanup_retry();
        if (kind == Fault::protocol)
            util::msg_warn("{}: malformed reply from cleanup: {}", queue_id_.empty() ? "NOQUEUE" : queue_id_, e.text);
        cleanup_failed(kind == Fault::timeout ? "timed out" : "lost");
    };
    h.on_drained = [this](server::AttrConn&) { cleanup_drained(); };
    std::string service(mail::service::cleanup);
    server::AttrConn* conn = may_reuse ? policy_.cleanup_conns->take(service) : nullptr;
    cleanup_reused_ = conn != nullptr;
    if (conn) {
        conn->rebind(std::move(h));
    } else {
        auto made = server::AttrConn::connect(ctx_.base, ctx_.queue.private_socket(service), std::move(h));
        if (!made) {
            util::msg_warn("{}", made.error().text);
            return false;
        }
        conn = *made;
    }
    cleanup_ = conn;
    long timeout = ctx_.config.seconds("ipc_timeout");
    cleanup_->set_timeouts(timeout, timeout);
    return true;
}

// The kept connection was closed unread: the same bytes on a new one.
void Session::cleanup_retry() {
    std::string sent = std::move(cleanup_replay_);
    bool ended = cleanup_ended_;
    std::exchange(cleanup_, nullptr)->close();
    if (!open_cleanup(false)) return cleanup_failed("lost");
    cleanup_->write_raw(sent);
    cleanup_ended_ = ended;
}

void Session::abort_cleanup() {
    if (cleanup_) std::exchange(cleanup_, nullptr)->close();
}

// cleanup has answered: a connection that carried the whole stream is
// kept for the next message, up to ipc_idle (not while the process
// finishes for a reload).
void Session::release_cleanup() {
    if (!cleanup_ || !cleanup_ended_ || ctx_.draining) return abort_cleanup();
    policy_.cleanup_conns->keep(std::string(mail::service::cleanup), std::exchange(cleanup_, nullptr),
                                ctx_.config.seconds("ipc_idle"));
}

// Message bytes wait for cleanup: on a slow cleanup, or on a kept
// connection until cleanup's hello (what it would have to send again).
bool Session::cleanup_full() const {
    return cleanup_ && (cleanup_->unsent() > kCleanupHighWater || cleanup_replay_.size() > kCleanupHighWater);
}

void Session::do_data() {
    if (refuse_before_tls()) return;
    if (!have_mail_) return error_reply("503 5.5.1 Error: need RCPT command");
    if (recipients_.empty()) return error_reply("554 5.5.1 Error: no valid recipients");
    if (bdat_) return error_reply("503 5.5.1 Error: DATA after BDAT");
    if (restricted(mail::SmtpStage::data, sender_facts(), {}, [this] { do_data(); })) return;
    with_milters(
        "DATA", {}, [this](auto done) { milters_->data(done); }, [this] { begin_data(); });
}

void Session::begin_data() {
    if (!start_message()) return reply("451 4.3.0 Error: queue file write error");
    data_ = std::make_unique<mail::DataReader>(kMaxLinePiece);
    data_size_ = 0;
    too_big_ = false;
    state_ = State::data;
    reply("354 End data with <CR><LF>.<CR><LF>");
}

// cleanup's connection and the envelope records, for DATA and BDAT alike.
bool Session::start_message() {
    if (!open_cleanup()) return false;
    send_record(mail::rec::attr, "origin=smtp");
    send_record(mail::rec::attr, "client_name=" + peer_.name);
    send_record(mail::rec::attr, "client_addr=" + peer_.addr);
    send_record(mail::rec::attr, "helo=" + helo_);
    // After MAIL FROM's SMTPUTF8 the Received: header says UTF8SMTP,
    // UTF8SMTPS, UTF8SMTPA or UTF8SMTPSA (RFC 6531 3.7.4), as Postfix's; the
    // log's proto= stays without it.
    std::string_view proto = protocol();
    if (smtputf8_ && proto.starts_with('E')) proto.remove_prefix(1);
    send_record(mail::rec::attr, fmt::format("protocol={}{}", smtputf8_ ? "UTF8" : "", proto));
    if (tls_established_ && policy_.tls->settings().received_header)
        send_record(mail::rec::attr, "tls_received=using " + tls_info_);
    if (!sasl_username_.empty()) {
        send_record(mail::rec::attr, "sasl_method=" + sasl_method_);
        send_record(mail::rec::attr, "sasl_username=" + sasl_username_);
        if (ctx_.config.boolean("smtpd_sasl_authenticated_header"))
            send_record(mail::rec::attr, "sasl_received_header=yes");
    }
    // An access table's HOLD or DISCARD (smtpd_check.cpp): cleanup acts on it.
    if (hold_) send_record(mail::rec::attr, "hold=yes");
    if (discard_) send_record(mail::rec::attr, "discard=yes");
    if (!dsn_ret_.empty()) send_record(mail::rec::attr, "dsn_ret=" + dsn_ret_);
    if (!dsn_envid_.empty()) send_record(mail::rec::attr, "dsn_envid=" + dsn_envid_);
    if (smtputf8_) send_record(mail::rec::attr, std::string(mail::kSmtputf8Attr) + "=yes");
    send_record(mail::rec::sender, sender_);
    for (const auto& r : recipients_) {
        if (r.notify != 0) send_record(mail::rec::dsn_notify, std::to_string(r.notify));
        if (!r.orcpt.empty()) send_record(mail::rec::dsn_orcpt, r.orcpt);
        if (!r.original.empty()) send_record(mail::rec::orig_rcpt, r.original);
        send_record(mail::rec::rcpt, r.address);
    }
    send_record(mail::rec::message, "");
    // The envelope waits for the content's first bytes: cleanup wakes once
    // for both, not once for each.
    cleanup_->hold_writes(true);
    collect_lines_ = milters_ != nullptr;
    start_dkim();
    return true;
}

void Session::send_held_records() {
    if (cleanup_) cleanup_->hold_writes(false);
}

void Session::handle_data_bytes() {
    evbuffer* in = bufferevent_get_input(client_);
    size_t len = evbuffer_get_length(in);
    if (len == 0) return;
    // Work through the contiguous chunks without copying them.
    evbuffer_iovec vec[16];
    int n = evbuffer_peek(in, -1, nullptr, vec, 16);
    size_t consumed = 0;
    for (int i = 0; i < n && i < 16 && !data_->ended(); ++i) {
        std::string_view chunk(static_cast<char*>(vec[i].iov_base), vec[i].iov_len);
        consumed += data_->feed(chunk, [&](mail::DataReader::Kind kind, std::string_view text) {
            if (kind == mail::DataReader::Kind::end) return;
            data_size_ += static_cast<long>(text.size()) + (kind == mail::DataReader::Kind::line ? 1 : 0);
            if (policy_.size_limit > 0 && data_size_ > policy_.size_limit) too_big_ = true;
            if (too_big_ || !cleanup_) return;
            forward_content(kind == mail::DataReader::Kind::line ? mail::rec::line : mail::rec::part, text);
        });
    }
    evbuffer_drain(in, consumed);
    send_held_records();
    if (data_->ended()) {
        finish_data();
        return;
    }
    if (cleanup_full()) bufferevent_disable(client_, EV_READ);  // cleanup is slower than the client: wait
}

// BDAT: the chunk's bytes that are at hand, up to its end, go to cleanup as
// DATA's lines do (or nowhere when the chunk is dropped); then the chunk is
// done (smtpd_bdat.cpp). A chunk of any size passes through in the pieces
// the client buffer holds.
void Session::handle_bdat_bytes() {
    evbuffer* in = bufferevent_get_input(client_);
    while (!bdat_chunk_.done()) {
        evbuffer_iovec vec[16];
        int n = evbuffer_peek(in, -1, nullptr, vec, 16);
        if (n <= 0) return;  // more is to come
        size_t consumed = 0;
        for (int i = 0; i < n && i < 16 && !bdat_chunk_.done(); ++i) {
            size_t take = bdat_chunk_.take(vec[i].iov_len);
            std::string_view piece(static_cast<char*>(vec[i].iov_base), take);
            consumed += take;
            if (bdat_discard_ || !cleanup_ || !bdat_) continue;
            bdat_->feed(piece, [&](mail::BdatReader::Kind kind, std::string_view text) { bdat_record(kind, text); });
        }
        evbuffer_drain(in, consumed);
        send_held_records();
        if (cleanup_full() && !bdat_chunk_.done()) {
            bufferevent_disable(client_, EV_READ);  // cleanup is slower than the client: wait
            return;
        }
    }
    bdat_chunk_done();
}

// The message's last line when the last chunk did not end with a line end.
void Session::finish_bdat_content() {
    if (!bdat_ || !cleanup_) return;
    bdat_->finish([&](mail::BdatReader::Kind kind, std::string_view text) { bdat_record(kind, text); });
}

void Session::bdat_record(mail::BdatReader::Kind kind, std::string_view text) {
    bool line = kind == mail::BdatReader::Kind::line;
    bdat_content_ += text.size() + (line ? 2 : 0);
    forward_content(line ? mail::rec::line : mail::rec::part, text);
}

void Session::cleanup_drained() {
    if ((state_ == State::data || state_ == State::bdat) && !(bufferevent_get_enabled(client_) & EV_READ) &&
        !cleanup_full())
        resume_reading();
}

void Session::finish_data() {
    // Content may end without bytes of its own (BDAT 0 LAST): the envelope
    // goes now, or cleanup, waiting for it, never sends the hello that the
    // milters' end-of-message stage waits for.
    send_held_records();
    size_t bare_newlines = data_ ? data_->bare_newlines() : bdat_ ? bdat_->bare_newlines() : 0;
    bool bare = bare_newlines > 0 && bare_newline_refused();
    if (bare) {
        abort_cleanup();
        std::string_view command = bdat_ ? "BDAT" : "DATA";
        refuse_bare_newline(command);
        reset_transaction();
        return;
    }
    if (too_big_ || !cleanup_) {
        abort_cleanup();
        state_ = State::command;
        std::string text = too_big_                ? "552 5.3.4 Error: message file too big"
                           : !early_answer_.empty() ? early_answer_
                                                    : "451 4.3.0 Error: queue file write error";
        util::msg_info("{}: reject: {} from {}: {}", queue_id_.empty() ? "NOQUEUE" : queue_id_, bdat_ ? "BDAT" : "DATA",
                       client_id(), text);
        reset_transaction();
        reply(text);
        return;
    }
    if (restricted(mail::SmtpStage::end_of_data, sender_facts(), {}, [this] { finish_data(); })) {
        if (state_ == State::checking) return;  // finish_data runs again with the answer
        abort_cleanup();
        reset_transaction();
        if (state_ != State::closing) state_ = State::command;
        return;
    }
    state_ = State::waiting_cleanup;
    bufferevent_disable(client_, EV_READ);  // what the client sends next waits for cleanup's answer
    // The end-of-data steps, each "do it, then continue"; cleanup's answer
    // or failure meanwhile ends the transaction and drops the steps. The
    // milters come after DKIM verification: they see the content as
    // cleanup gets it.
    verify_dkim([this] {
        if (!cleanup_) return;
        if (end_of_data_milters()) return;  // commit_message follows their answer
        commit_message();
    });
}

// The message is complete: cleanup makes it durable and answers.
void Session::commit_message() {
    send_record(mail::rec::content_end, "");
    send_held_records();
    cleanup_ended_ = true;
    state_ = State::waiting_cleanup;
    bufferevent_disable(client_, EV_READ);
}

void Session::cleanup_said(const util::Attrs& frame) {
    if (auto taken = cleanup_conversation_->take(frame); !taken) {
        util::msg_warn("{}: malformed reply from cleanup: {}", queue_id_.empty() ? "NOQUEUE" : queue_id_,
                       taken.error().text);
        return cleanup_failed("lost");
    }
    const auto& answer = cleanup_conversation_->reply();
    if (!answer) {  // the hello
        cleanup_replay_.clear();  // cleanup has the stream now: never sent again
        cleanup_replay_.shrink_to_fit();
        queue_id_ = cleanup_conversation_->queue_id();
        if (sasl_username_.empty())
            util::msg_info("{}: client={}", queue_id_, client_id());
        else
            util::msg_info("{}: client={}, sasl_method={}, sasl_username={}", queue_id_, client_id(), sasl_method_,
                           sasl_username_);
        if (std::exchange(milter_wait_hello_, false)) end_of_data_milters();  // it waited for the queue id
        log_dkim();  // when the message ended before the queue id came
        if (cleanup_reused_) cleanup_drained();  // reading may have waited for the hello (cleanup_full)
        return;
    }
    std::string text;
    if (answer->status == '0') {
        text = bdat_ ? fmt::format("250 2.0.0 Ok: {} bytes queued as {}", bdat_content_, answer->queue_id)
                     : fmt::format("250 2.0.0 Ok: queued as {}", answer->queue_id);
    } else if (answer->content) {
        // header/body_checks REJECT: Postfix's "550 5.7.1 <text>" (451 for a 4.x.x text).
        text = fmt::format("{} {} {}", answer->status == '5' ? "550" : "451", answer->dsn, answer->reason);
    } else {
        std::string code = answer->status == '5' ? (answer->dsn == "5.3.4" ? "552" : "554") : "451";
        text = fmt::format("{} {} Error: {}", code, answer->dsn, answer->reason);
    }
    if (state_ == State::data || state_ == State::checking || (bdat_ && state_ != State::waiting_cleanup)) {
        // cleanup refused the message before its end (a full disk, the size
        // limit, a header_checks REJECT): the rest is read and dropped, and
        // this is the answer then; while the end-of-message milters work
        // (checking) it is theirs to give when they are done.
        early_answer_ = answer->status == '0' ? "451 4.3.0 Error: queue file write error" : text;
        abort_cleanup();
        if (state_ != State::checking && !(bufferevent_get_enabled(client_) & EV_READ)) resume_reading();
        return;
    }
    if (state_ != State::waiting_cleanup) return;
    if (answer->status != '0') util::msg_info("{}: reject: END-OF-MESSAGE from {}: {}", queue_id_, client_id(), text);
    release_cleanup();
    reset_transaction();
    state_ = State::command;
    reply(text);
    resume_reading();  // pipelined commands after the message
}

void Session::cleanup_failed(std::string_view what) {
    util::msg_warn("{}: cleanup connection {}", queue_id_.empty() ? "NOQUEUE" : queue_id_, what);
    abort_cleanup();
    if (std::exchange(milter_wait_hello_, false)) state_ = State::waiting_cleanup;  // answered below
    if (state_ == State::waiting_cleanup) {
        reset_transaction();
        state_ = State::command;
        reply("451 4.3.0 Error: queue file write error");
        resume_reading();
    } else if ((state_ == State::data || state_ == State::bdat) && !(bufferevent_get_enabled(client_) & EV_READ)) {
        resume_reading();  // the rest of the message is read and dropped
    }
    // In State::data the rest of the message is read and then refused.
}

}  // namespace kurir::smtpd
