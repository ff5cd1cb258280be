// smtpd's DATA phase: the message streams to cleanup as records while it
// arrives; the client hears 250 only when cleanup says the queue file is
// durable.
#include "mail/address.hpp"
#include "mail/clients.hpp"
#include "mail/mail_proto.hpp"
#include "mail/record.hpp"
#include "smtpd/smtpd_session.hpp"
#include "util/attr.hpp"
#include "util/log.hpp"

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>
#include <fmt/format.h>
#include <sys/socket.h>
#include <sys/un.h>

#include <cstring>

namespace kurir::smtpd {

namespace {
constexpr size_t kCleanupHighWater = 4 << 20;  // stop reading the client above this
constexpr size_t kMaxLinePiece = 4096;
}  // namespace

void Session::send_record(char type, std::string_view data) {
    std::string rec;
    mail::rec_append(rec, type, data);
    bufferevent_write(cleanup_, rec.data(), rec.size());
}

bool Session::open_cleanup() {
    cleanup_frames_ = 0;
    cleanup_ = bufferevent_socket_new(ctx_.base, -1, BEV_OPT_CLOSE_ON_FREE);
    bufferevent_setcb(cleanup_, on_cleanup_read, on_cleanup_drained, on_cleanup_event, this);
    struct timeval tv {static_cast<long>(ctx_.config.seconds("ipc_timeout")), 0};
    bufferevent_set_timeouts(cleanup_, &tv, &tv);
    bufferevent_enable(cleanup_, EV_READ | EV_WRITE);
    std::string path = ctx_.queue.private_socket(mail::service::cleanup);
    struct sockaddr_un sun {};
    sun.sun_family = AF_UNIX;
    std::memcpy(sun.sun_path, path.c_str(), std::min(path.size() + 1, sizeof sun.sun_path - 1));
    if (bufferevent_socket_connect(cleanup_, reinterpret_cast<sockaddr*>(&sun), sizeof sun) < 0) {
        util::msg_warn("connect to {}: {}", path, std::strerror(errno));
        bufferevent_free(cleanup_);
        cleanup_ = nullptr;
        return false;
    }
    return true;
}

void Session::abort_cleanup() {
    if (cleanup_) bufferevent_free(cleanup_);
    cleanup_ = nullptr;
}

void Session::do_data() {
    if (!have_mail_) return error_reply("503 5.5.1 Error: need RCPT command");
    if (recipients_.empty()) return error_reply("554 5.5.1 Error: no valid recipients");
    if (!open_cleanup()) return reply("451 4.3.0 Error: queue file write error");
    send_record(mail::rec::attr, "origin=smtp");
    send_record(mail::rec::attr, "client_name=" + peer_.name);
    send_record(mail::rec::attr, "client_addr=" + peer_.addr);
    send_record(mail::rec::attr, "helo=" + helo_);
    send_record(mail::rec::attr, std::string("protocol=") + (esmtp_ ? "ESMTP" : "SMTP"));
    if (!dsn_ret_.empty()) send_record(mail::rec::attr, "dsn_ret=" + dsn_ret_);
    if (!dsn_envid_.empty()) send_record(mail::rec::attr, "dsn_envid=" + dsn_envid_);
    send_record(mail::rec::sender, sender_);
    for (const auto& r : recipients_) {
        if (r.notify != 0) send_record(mail::rec::dsn_notify, std::to_string(r.notify));
        if (!r.orcpt.empty()) send_record(mail::rec::dsn_orcpt, r.orcpt);
        send_record(mail::rec::rcpt, r.address);
    }
    send_record(mail::rec::message, "");
    data_ = std::make_unique<mail::DataReader>(kMaxLinePiece);
    data_size_ = 0;
    too_big_ = false;
    state_ = State::data;
    reply("354 End data with <CR><LF>.<CR><LF>");
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
            send_record(kind == mail::DataReader::Kind::line ? mail::rec::line : mail::rec::part, text);
        });
    }
    evbuffer_drain(in, consumed);
    if (data_->ended()) {
        finish_data();
        return;
    }
    if (cleanup_ && evbuffer_get_length(bufferevent_get_output(cleanup_)) > kCleanupHighWater)
        bufferevent_disable(client_, EV_READ);  // cleanup is slower than the client: wait
}

void Session::on_cleanup_drained(bufferevent*, void* arg) {
    auto* s = static_cast<Session*>(arg);
    if (s->state_ == State::data && !(bufferevent_get_enabled(s->client_) & EV_READ)) s->resume_reading();
}

void Session::finish_data() {
    bool bare = data_->bare_newlines() > 0 && policy_.reject_bare_newline;
    if (too_big_ || bare || !cleanup_) {
        abort_cleanup();
        state_ = State::command;
        std::string text = too_big_ ? "552 5.3.4 Error: message file too big"
                           : bare   ? "550 5.5.2 Error: bare <LF> received"
                                    : "451 4.3.0 Error: queue file write error";
        util::msg_info("{}: reject: DATA from {}: {}", queue_id_.empty() ? "NOQUEUE" : queue_id_, client_id(), text);
        reset_transaction();
        reply(text);
        return;
    }
    send_record(mail::rec::content_end, "");
    state_ = State::waiting_cleanup;
    bufferevent_disable(client_, EV_READ);  // what the client sends next waits for cleanup's answer
}

void Session::on_cleanup_read(bufferevent* bev, void* arg) {
    auto* s = static_cast<Session*>(arg);
    evbuffer* in = bufferevent_get_input(bev);
    for (;;) {
        size_t len = evbuffer_get_length(in);
        auto* bytes = evbuffer_pullup(in, static_cast<ssize_t>(len));
        auto frame = util::attr_decode(std::string_view(reinterpret_cast<char*>(bytes), len));
        if (!frame) {
            util::msg_warn("malformed reply from cleanup: {}", frame.error().text);
            return on_cleanup_event(bev, BEV_EVENT_ERROR, arg);
        }
        if (!*frame) return;
        evbuffer_drain(in, (*frame)->consumed);
        s->cleanup_reply((*frame)->attrs);
        if (!s->cleanup_) return;  // the reply ended the transaction
    }
}

void Session::cleanup_reply(const util::Attrs& attrs) {
    auto refuse = [&](const std::string& error) {
        util::msg_warn("{}: malformed reply from cleanup: {}", queue_id_.empty() ? "NOQUEUE" : queue_id_, error);
        on_cleanup_event(cleanup_, BEV_EVENT_ERROR, this);
    };
    if (++cleanup_frames_ == 1) {
        auto hello = mail::proto::decode_cleanup_hello(attrs);
        if (!hello) return refuse(hello.error().text);
        queue_id_ = hello->queue_id;
        util::msg_info("{}: client={}", queue_id_, client_id());
        return;
    }
    auto answer = mail::proto::decode_cleanup_reply(attrs);
    if (!answer) return refuse(answer.error().text);
    if (state_ != State::waiting_cleanup) return;  // a reply before the end: ignore until the end
    std::string text;
    if (answer->status == '0') {
        text = fmt::format("250 2.0.0 Ok: queued as {}", answer->queue_id);
    } else {
        std::string code = answer->status == '5' ? (answer->dsn == "5.3.4" ? "552" : "554") : "451";
        text = fmt::format("{} {} Error: {}", code, answer->dsn, answer->reason);
        util::msg_info("{}: reject: END-OF-MESSAGE from {}: {}", queue_id_, client_id(), text);
    }
    abort_cleanup();
    reset_transaction();
    state_ = State::command;
    reply(text);
    resume_reading();  // pipelined commands after the message
}

void Session::on_cleanup_event(bufferevent*, short what, void* arg) {
    auto* s = static_cast<Session*>(arg);
    if (what & BEV_EVENT_CONNECTED) return;
    util::msg_warn("{}: cleanup connection {}", s->queue_id_.empty() ? "NOQUEUE" : s->queue_id_,
                   (what & BEV_EVENT_TIMEOUT) ? "timed out" : "lost");
    s->abort_cleanup();
    if (s->state_ == State::waiting_cleanup) {
        s->reset_transaction();
        s->state_ = State::command;
        s->reply("451 4.3.0 Error: queue file write error");
        s->resume_reading();
    }
    // In State::data the rest of the message is read and then refused.
}

}  // namespace kurir::smtpd
