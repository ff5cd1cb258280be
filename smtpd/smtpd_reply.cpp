// smtpd's replies to its client and the pauses in reading them cause:
// each reply, written at once or through the bufferevent; error replies and
// their limits; when reading stops and goes on; ending a session after its
// last reply.
#include "smtpd/smtpd_session.hpp"

#include "util/log.hpp"

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>
#include <fmt/format.h>
#include <sys/socket.h>

namespace kurir::smtpd {

namespace {
// Replies a client has not read yet: above this smtpd reads no more commands
// (a client that pipelines without reading cannot grow the process).
constexpr size_t kClientOutputHighWater = 64 << 10;
}  // namespace

// A reply goes to the socket at once when the client waits for it: nothing
// is queued before it and no pipelined command is waiting to be answered
// (Postfix's smtpd flushes at the same point). Otherwise, under TLS, and for
// what the socket does not take now, the bufferevent sends it: its write
// event, added and removed for every reply, was two epoll_ctl calls each.
// Either way on_client_write runs after the current turn of the loop, as
// when the bufferevent's buffer drains (it resumes reading).
void Session::reply(std::string_view text) {
    std::string line(text);
    line += "\r\n";
    std::string_view rest = line;
    if (!tls_active_ && evbuffer_get_length(bufferevent_get_output(client_)) == 0 &&
        evbuffer_get_length(bufferevent_get_input(client_)) == 0) {
        ssize_t n = ::send(bufferevent_getfd(client_), rest.data(), rest.size(), MSG_DONTWAIT | MSG_NOSIGNAL);
        if (n > 0) rest.remove_prefix(static_cast<size_t>(n));
        if (rest.empty()) return after_this_turn();
        // an error shows again on the bufferevent's own write, as before
    }
    bufferevent_write(client_, rest.data(), rest.size());
}

void Session::after_this_turn() {
    if (!written_) written_ = event_new(ctx_.base, -1, 0, on_reply_written, this);
    event_active(written_, 0, 0);
}

void Session::on_reply_written(int, short, void* arg) {
    auto* s = static_cast<Session*>(arg);
    if (evbuffer_get_length(bufferevent_get_output(s->client_)) == 0) on_client_write(s->client_, s);
}

// Replies that count as errors; past the soft limit they are delayed, past
// the hard limit the session ends.
void Session::error_reply(std::string_view text) {
    ++errors_;
    if (errors_ >= policy_.hard_error_limit) {
        reply(text);
        return too_many_errors();
    }
    if (errors_ > policy_.soft_error_limit && policy_.error_sleep > 0) {
        // Hold this reply and stop reading until the sleep is over.
        pending_reply_ = std::string(text);
        bufferevent_disable(client_, EV_READ);
        if (!delay_) delay_ = evtimer_new(ctx_.base, on_delay, this);
        struct timeval tv {policy_.error_sleep, 0};
        evtimer_add(delay_, &tv);
        return;
    }
    reply(text);
}

void Session::too_many_errors() {
    reply(fmt::format("421 4.7.0 {} Error: too many errors", policy_.hostname));
    util::msg_info("too many errors after {} from {}", counts_.empty() ? "CONNECT" : "command", client_id());
    close_after_reply();
}

// NOOP, RSET and VRFY cost a client nothing; past smtpd_junk_command_limit
// each one counts as an error, as in Postfix, so a client that sends only
// those meets the hard error limit.
void Session::count_junk() {
    if (++junk_ <= policy_.junk_command_limit) return;
    if (++errors_ >= policy_.hard_error_limit) too_many_errors();
}

void Session::on_delay(int, short, void* arg) {
    auto* s = static_cast<Session*>(arg);
    s->reply(s->pending_reply_);
    s->pending_reply_.clear();
    s->resume_reading();
}

// Whether the session can use more input now: not while a reply is held
// back, not while the client leaves replies unread, not while cleanup is
// behind or has the whole message, not when closing.
bool Session::may_read() const {
    if (state_ != State::command && state_ != State::data && state_ != State::auth_response && state_ != State::bdat)
        return false;
    if (!pending_reply_.empty()) return false;
    if (evbuffer_get_length(bufferevent_get_output(client_)) > kClientOutputHighWater) return false;
    return true;
}

// Reading stopped for one of may_read's reasons goes on once none holds,
// starting with what is already buffered (no read event comes for that).
void Session::resume_reading() {
    if (!may_read()) return;
    bufferevent_enable(client_, EV_READ);
    process_input();
}

// Never closes in the caller's stack (the caller goes on with the session's
// members): on_client_write closes after this turn of the loop, or when
// the bufferevent has sent what it holds.
void Session::close_after_reply() {
    state_ = State::closing;
    bufferevent_disable(client_, EV_READ);
    if (evbuffer_get_length(bufferevent_get_output(client_)) == 0) after_this_turn();
}

// Ends the session at once: the last reply goes out only if the socket
// takes it now (a client that stopped reading cannot hold the session).
// Under TLS only what is already encrypted may go (see flush_raw).
void Session::close_now(std::string_view last_reply) {
    reply(last_reply);
    flush_raw();
    close();
}

// The client took every reply.
void Session::on_client_write(bufferevent*, void* arg) {
    auto* s = static_cast<Session*>(arg);
    if (s->state_ == State::closing) return s->close();
    if (!(bufferevent_get_enabled(s->client_) & EV_READ)) s->resume_reading();
}

}  // namespace kurir::smtpd
