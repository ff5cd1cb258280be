#include "mail/clients.hpp"

#include "mail/mail_proto.hpp"
#include "mail/record.hpp"

#include "util/socket.hpp"

#include <sys/socket.h>

#include <cerrno>
#include <unistd.h>

namespace kurir::mail {

void send_trigger(const QueueDir& queue, std::string_view public_service, proto::Trigger::Kind kind, int wait_seconds) {
    auto fd = wait_seconds > 0 ? util::connect_unix(queue.public_socket(public_service), wait_seconds)
                               : util::connect_unix_nowait(queue.public_socket(public_service));
    if (!fd) return;
    std::string bytes = proto::trigger_bytes({kind, ""});
    ssize_t n = ::write(fd->get(), bytes.data(), bytes.size());  // a hint: a failure is not an error
    (void)n;
}

KeptTrigger::KeptTrigger(const QueueDir& queue, std::string_view public_service)
    : path_(queue.public_socket(public_service)) {}

void KeptTrigger::send(proto::Trigger::Kind kind) {
    const std::string bytes = proto::trigger_bytes({kind, ""});
    for (int attempt = 0; attempt < 2; ++attempt) {
        if (!fd_) {
            auto fd = util::connect_unix_nowait(path_);
            if (!fd) return;
            fd_ = std::move(*fd);
        }
        ssize_t n = ::send(fd_.get(), bytes.data(), bytes.size(), MSG_DONTWAIT | MSG_NOSIGNAL);
        if (n == static_cast<ssize_t>(bytes.size())) return;
        if (n < 0 && (errno == EAGAIN || errno == EINTR)) return;  // the service has wake-ups waiting
        fd_.reset();  // closed by the service, or a frame cut short: it ends with its connection
        if (n >= 0) return;
    }
}

util::Result<util::Fd> public_connect(const QueueDir& queue, std::string_view service) {
    return util::connect_unix(queue.public_socket(service), 30);
}

util::Result<std::string> public_converse(util::Fd fd, std::string_view service, std::string_view request) {
    if (auto w = util::write_all(fd.get(), request, "request"); !w) return std::unexpected(w.error());
    ::shutdown(fd.get(), SHUT_WR);
    return util::read_all(fd.get(), "reply of " + std::string(service));
}

util::Result<std::string> public_request(const QueueDir& queue, std::string_view service, std::string_view request) {
    auto fd = public_connect(queue, service);
    if (!fd) return std::unexpected(fd.error());
    return public_converse(std::move(*fd), service, request);
}

util::Result<CleanupAnswer> submit_to_cleanup(const QueueDir& queue, std::string_view stream, int timeout_seconds,
                                             const std::function<void(const std::string&)>& on_queue_id) {
    auto fd = util::connect_unix(queue.private_socket(service::cleanup), timeout_seconds);
    if (!fd) return std::unexpected(fd.error());
    CleanupConversation cleanup;
    auto next = [&]() -> util::Result<void> {
        auto frame = util::attr_read(fd->get());
        if (!frame) return util::fail("cleanup: " + frame.error().text);
        return cleanup.take(*frame);
    };
    if (auto h = next(); !h) return std::unexpected(h.error());
    if (on_queue_id) on_queue_id(cleanup.queue_id());
    if (auto w = util::write_all(fd->get(), stream, "cleanup"); !w) return std::unexpected(w.error());
    if (auto r = next(); !r) return std::unexpected(r.error());
    const auto& reply = *cleanup.reply();
    return CleanupAnswer{reply.status, reply.queue_id, reply.reason, reply.dsn, reply.content};
}

util::Result<void> CleanupConversation::take(const util::Attrs& frame) {
    if (!greeted_) {
        auto hello = proto::decode_cleanup_hello(frame);
        if (!hello) return std::unexpected(hello.error());
        queue_id_ = std::move(hello->queue_id);
        greeted_ = true;
        return {};
    }
    if (reply_) return util::fail("cleanup: a frame after its reply");
    auto reply = proto::decode_cleanup_reply(frame);
    if (!reply) return std::unexpected(reply.error());
    reply_ = std::move(*reply);
    return {};
}

std::string compose_cleanup_stream(const std::vector<std::string>& attrs, std::string_view sender,
                                   const std::vector<std::string>& recipients, std::string_view text) {
    std::string stream;
    for (const auto& a : attrs) rec_append(stream, rec::attr, a);
    rec_append(stream, rec::sender, sender);
    for (const auto& r : recipients) rec_append(stream, rec::rcpt, r);
    rec_append(stream, rec::message, "");
    size_t pos = 0;
    while (pos < text.size()) {
        size_t nl = text.find('\n', pos);
        if (nl == std::string_view::npos) nl = text.size();
        rec_append_line(stream, text.substr(pos, nl - pos));
        pos = nl + 1;
    }
    rec_append(stream, rec::content_end, "");
    return stream;
}

util::Result<util::Attrs> RewriteClient::call(const util::Attrs& request) {
    for (int attempt = 0; attempt < 2; ++attempt) {
        if (!fd_) {
            auto fd = util::connect_unix(queue_.private_socket(service::rewrite), 30);
            if (!fd) return std::unexpected(fd.error());
            fd_ = std::move(*fd);
        }
        if (auto w = util::attr_write(fd_.get(), request); w) {
            if (auto r = util::attr_read(fd_.get()); r) return r;
        }
        fd_.reset();  // stale connection (rewrite restarted): try once more
    }
    return util::fail("trivial-rewrite service: no answer");
}

util::Result<RewriteClient::Answer> RewriteClient::cached_call(proto::RewriteRequest::Kind kind,
                                                              std::string_view address, std::string_view sender) {
    auto now = std::chrono::steady_clock::now();
    std::string key = std::string(1, static_cast<char>(kind)) + std::string(address) + '\n' + std::string(sender);
    if (auto it = cache_.find(key); it != cache_.end()) {
        if (now < it->second.until) return it->second.answer;
        cache_.erase(it);
    }
    ++asked_;
    auto r = call(proto::encode(proto::RewriteRequest{kind, std::string(address), std::string(sender)}));
    if (!r) return std::unexpected(r.error());
    // Only a well-formed answer that is not an error is remembered.
    Answer answer;
    if (kind == proto::RewriteRequest::Kind::resolve) {
        auto d = proto::decode_resolve_reply(*r);
        if (!d) return std::unexpected(d.error());
        if (!d->error.empty()) return util::fail("trivial-rewrite: " + d->error);
        answer.resolved = Resolved{std::move(d->transport), std::move(d->nexthop), std::move(d->recipient),
                                   std::move(d->flags)};
    } else {
        auto d = proto::decode_rewrite_reply(*r);
        if (!d) return std::unexpected(d.error());
        answer.address = std::move(d->address);
    }
    if (cache_.size() >= kCacheSize) std::erase_if(cache_, [&](const auto& e) { return e.second.until <= now; });
    if (cache_.size() >= kCacheSize) cache_.clear();
    cache_.emplace(std::move(key), Remembered{now + remember_, answer});
    return answer;
}

util::Result<std::string> RewriteClient::rewrite(std::string_view address) {
    auto r = cached_call(proto::RewriteRequest::Kind::rewrite, address);
    if (!r) return std::unexpected(r.error());
    return std::move(r->address);
}

util::Result<Resolved> RewriteClient::resolve(std::string_view address, std::string_view sender) {
    auto r = cached_call(proto::RewriteRequest::Kind::resolve, address, sender);
    if (!r) return std::unexpected(r.error());
    return std::move(r->resolved);
}

}  // namespace kurir::mail
