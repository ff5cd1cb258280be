// smtpd_sasl_type = kurir: PLAIN and LOGIN checked against
// smtpd_sasl_password_maps, whose values are argon2id strings
// (crypto_pwhash_str, made by kurir-passwd). A verification costs tens of
// milliseconds of CPU and MEMLIMIT of memory, so it runs on one worker
// thread per process and its answer comes back through a pipe to the event
// loop: other sessions go on meanwhile, and however many clients try, the
// process verifies one password at a time.
#include "mail/maps.hpp"
#include "mail/sasl.hpp"
#include "smtpd/smtpd_sasl_kurir.hpp"
#include "util/log.hpp"

#include <event2/event.h>
#include <fcntl.h>
#include <sodium.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <condition_variable>
#include <deque>
#include <map>
#include <mutex>
#include <thread>

namespace kurir::smtpd {

// The worker: jobs in, verdicts out, cancelled tickets dropped on the loop.
class PasswordVerifier {
public:
    PasswordVerifier() {
        if (::pipe2(pipe_, O_CLOEXEC | O_NONBLOCK) < 0) util::msg_fatal("pipe: {}", std::strerror(errno));
    }
    ~PasswordVerifier() {
        {
            std::lock_guard lock(mutex_);
            stop_ = true;
        }
        cv_.notify_all();
        if (worker_.joinable()) worker_.join();
        if (ev_) event_free(ev_);
        ::close(pipe_[0]);
        ::close(pipe_[1]);
    }
    // The thread starts here, once privileges are dropped and the loop exists.
    void bind(event_base* base) {
        worker_ = std::thread([this] { run(); });
        ev_ = event_new(base, pipe_[0], EV_READ | EV_PERSIST, on_ready, this);
        event_add(ev_, nullptr);
    }
    unsigned long submit(std::string hash, std::string password, std::function<void(bool)> done) {
        unsigned long ticket = ++next_;
        waiting_[ticket] = std::move(done);
        {
            std::lock_guard lock(mutex_);
            todo_.push_back({ticket, std::move(hash), std::move(password), false});
        }
        cv_.notify_one();
        return ticket;
    }
    void cancel(unsigned long ticket) {
        waiting_.erase(ticket);
        std::lock_guard lock(mutex_);
        std::erase_if(todo_, [&](const Job& j) { return j.ticket == ticket; });
    }

private:
    struct Job {
        unsigned long ticket;
        std::string hash, password;
        bool ok;
    };

    void run() {
        for (;;) {
            Job job;
            {
                std::unique_lock lock(mutex_);
                cv_.wait(lock, [&] { return stop_ || !todo_.empty(); });
                if (stop_) return;
                job = std::move(todo_.front());
                todo_.pop_front();
            }
            job.ok = crypto_pwhash_str_verify(job.hash.c_str(), job.password.data(), job.password.size()) == 0;
            sodium_memzero(job.password.data(), job.password.size());
            {
                std::lock_guard lock(mutex_);
                done_.push_back(std::move(job));
            }
            char b = 1;
            while (::write(pipe_[1], &b, 1) < 0 && errno == EINTR) {
            }
        }
    }

    static void on_ready(evutil_socket_t fd, short, void* arg) {
        auto* v = static_cast<PasswordVerifier*>(arg);
        char buf[64];
        while (::read(fd, buf, sizeof buf) > 0) {
        }
        std::deque<Job> done;
        {
            std::lock_guard lock(v->mutex_);
            done.swap(v->done_);
        }
        for (auto& job : done) {
            auto it = v->waiting_.find(job.ticket);
            if (it == v->waiting_.end()) continue;  // the session went away
            auto cb = std::move(it->second);
            v->waiting_.erase(it);
            cb(job.ok);
        }
    }

    int pipe_[2] = {-1, -1};
    event* ev_ = nullptr;
    std::thread worker_;
    std::mutex mutex_;
    std::condition_variable cv_;
    std::deque<Job> todo_, done_;
    bool stop_ = false;
    unsigned long next_ = 0;
    std::map<unsigned long, std::function<void(bool)>> waiting_;  // loop thread only
};

namespace {

// An unknown user's password is checked against this (kurir-passwd's cost,
// the hash of a random password nobody kept), so that the answer takes as
// long as for a known user: timing does not tell which users exist.
constexpr std::string_view kNobodyHash =
    "$argon2id$v=19$m=65536,t=2,p=1$lU0HSMYUt0JRaBTT4rRebg$xmWcMJaqY8Ltj4Yffaty3hBoTmQCFBImKlhgCxdlNho";

class KurirExchange : public SaslExchange {
public:
    KurirExchange(KurirSaslServer& server, std::string mechanism) : server_(server), mechanism_(std::move(mechanism)) {}
    ~KurirExchange() override {
        if (ticket_) server_.verifier().cancel(ticket_);
    }

    void step(std::optional<std::string> response, SaslDone done) override {
        using M = mail::MechanismExchange;
        M::Step s = started_ ? mech_.next(response.value_or(""))
                             : M::start(mechanism_, response ? std::optional<std::string_view>(*response) : std::nullopt, mech_);
        started_ = true;
        if (auto* c = std::get_if<M::Challenge>(&s)) return done({SaslOutcome::Kind::challenge, std::move(c->bytes)});
        if (auto* f = std::get_if<M::Failure>(&s)) return done({SaslOutcome::Kind::failure, std::move(f->reason)});
        auto& cred = std::get<M::Credentials>(s);
        auto hash = server_.lookup(cred.username);
        if (!hash) return done({SaslOutcome::Kind::temporary, hash.error().text});
        bool known = !hash->empty();
        if (!known) *hash = kNobodyHash;
        ticket_ = server_.verifier().submit(std::move(*hash), std::move(cred.password),
                                            [this, known, user = cred.username, done = std::move(done)](bool ok) {
                                                ticket_ = 0;
                                                if (ok && known) return done({SaslOutcome::Kind::success, user});
                                                done({SaslOutcome::Kind::failure, "authentication failure"});
                                            });
    }

private:
    KurirSaslServer& server_;
    std::string mechanism_;
    mail::MechanismExchange mech_;
    bool started_ = false;
    unsigned long ticket_ = 0;
};

}  // namespace

KurirSaslServer::KurirSaslServer(const mail::Config& cfg)
    : cfg_(cfg), maps_("smtpd_sasl_password_maps"), verifier_(std::make_unique<PasswordVerifier>()) {
    // Opened now, while smtpd may still read a table only root reads.
    const auto& m = maps_.get(cfg_);
    for (const auto& w : m.warnings()) util::msg_warn("smtpd_sasl_password_maps: {}", w);
}

KurirSaslServer::~KurirSaslServer() = default;

void KurirSaslServer::bind(event_base* base, const std::string&) { verifier_->bind(base); }

std::vector<std::string> KurirSaslServer::mechanisms() const { return {"PLAIN", "LOGIN"}; }

std::unique_ptr<SaslExchange> KurirSaslServer::start(const std::string& mechanism, const SaslClient&) {
    return std::make_unique<KurirExchange>(*this, mechanism);
}

util::Result<std::string> KurirSaslServer::lookup(const std::string& user) {
    auto v = maps_.get(cfg_).lookup(user);
    if (!v) return util::fail("smtpd_sasl_password_maps: " + v.error().text);
    if (!*v) return std::string();
    if (!(*v)->starts_with("$argon2id$")) {
        util::msg_warn("smtpd_sasl_password_maps: user {}: value is not an argon2id hash (make it with kurir-passwd)",
                       user);
        return std::string();
    }
    return std::move(**v);
}

}  // namespace kurir::smtpd
