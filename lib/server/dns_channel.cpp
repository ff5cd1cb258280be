#include "server/dns_channel.hpp"

#include <ares.h>
#include <arpa/inet.h>
#include <arpa/nameser.h>
#include <event2/event.h>
#include <netinet/in.h>

#include <map>

namespace kurir::server {

struct DnsChannel::Impl {
    event_base* base = nullptr;
    ares_channel channel = nullptr;
    std::map<int, event*> socket_events;
    event* timer = nullptr;

    ~Impl() {
        if (channel) ares_destroy(channel);  // runs pending callbacks with ARES_EDESTRUCTION
        for (auto& [fd, ev] : socket_events) event_free(ev);
        if (timer) event_free(timer);
    }

    void rearm_timer() {
        struct timeval tv {};
        if (ares_timeout(channel, nullptr, &tv) != nullptr)
            evtimer_add(timer, &tv);
        else
            evtimer_del(timer);
    }

    static void on_socket(evutil_socket_t fd, short what, void* arg) {
        auto* self = static_cast<Impl*>(arg);
        ares_process_fd(self->channel, (what & EV_READ) ? fd : ARES_SOCKET_BAD,
                        (what & EV_WRITE) ? fd : ARES_SOCKET_BAD);
        self->rearm_timer();
    }

    static void on_timer(evutil_socket_t, short, void* arg) {
        auto* self = static_cast<Impl*>(arg);
        ares_process_fd(self->channel, ARES_SOCKET_BAD, ARES_SOCKET_BAD);
        self->rearm_timer();
    }

    static void on_socket_state(void* arg, ares_socket_t fd, int readable, int writable) {
        auto* self = static_cast<Impl*>(arg);
        auto it = self->socket_events.find(fd);
        if (it != self->socket_events.end()) {
            event_free(it->second);
            self->socket_events.erase(it);
        }
        if (!readable && !writable) return;
        short what = EV_PERSIST | (readable ? EV_READ : 0) | (writable ? EV_WRITE : 0);
        event* ev = event_new(self->base, fd, what, on_socket, self);
        event_add(ev, nullptr);
        self->socket_events[fd] = ev;
    }
};

DnsChannel::DnsChannel(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
DnsChannel::~DnsChannel() = default;

util::Result<std::unique_ptr<DnsChannel>> DnsChannel::create(event_base* base, const std::vector<std::string>& servers) {
    static const int library = ares_library_init(ARES_LIB_INIT_ALL);
    if (library != ARES_SUCCESS) return util::fail(std::string("c-ares: ") + ares_strerror(library));
    auto impl = std::make_unique<Impl>();
    impl->base = base;
    ares_options opts{};
    opts.sock_state_cb = Impl::on_socket_state;
    opts.sock_state_cb_data = impl.get();
    opts.timeout = 2000;
    opts.tries = 3;
    opts.flags = ARES_FLAG_NOSEARCH;
    int status = ares_init_options(&impl->channel, &opts,
                                   ARES_OPT_SOCK_STATE_CB | ARES_OPT_TIMEOUTMS | ARES_OPT_TRIES | ARES_OPT_FLAGS);
    if (status != ARES_SUCCESS) return util::fail(std::string("c-ares init: ") + ares_strerror(status));
    if (!servers.empty()) {
        std::string csv;
        for (const auto& s : servers) csv += (csv.empty() ? "" : ",") + s;
        status = ares_set_servers_ports_csv(impl->channel, csv.c_str());
        if (status != ARES_SUCCESS)
            return util::fail("dns_resolver_address \"" + csv + "\": " + ares_strerror(status));
    }
    impl->timer = evtimer_new(base, Impl::on_timer, impl.get());
    return std::unique_ptr<DnsChannel>(new DnsChannel(std::move(impl)));
}

namespace {

struct Pending {
    DnsType type;
    std::function<void(DnsAnswer)> done;
};

std::string address_text(int family, const void* addr) {
    char buf[INET6_ADDRSTRLEN] = "";
    inet_ntop(family, addr, buf, sizeof buf);
    return buf;
}

DnsAnswer parse(DnsType type, unsigned char* abuf, int alen) {
    DnsAnswer a;
    a.status = DnsAnswer::Status::found;
    int parsed = ARES_SUCCESS;
    switch (type) {
        case DnsType::a: {
            ares_addrttl addrs[32];
            int n = 32;
            parsed = ares_parse_a_reply(abuf, alen, nullptr, addrs, &n);
            if (parsed == ARES_SUCCESS)
                for (int i = 0; i < n; ++i) a.records.push_back(address_text(AF_INET, &addrs[i].ipaddr));
            break;
        }
        case DnsType::aaaa: {
            ares_addr6ttl addrs[32];
            int n = 32;
            parsed = ares_parse_aaaa_reply(abuf, alen, nullptr, addrs, &n);
            if (parsed == ARES_SUCCESS)
                for (int i = 0; i < n; ++i) a.records.push_back(address_text(AF_INET6, &addrs[i].ip6addr));
            break;
        }
        case DnsType::mx: {
            ares_mx_reply* mx = nullptr;
            parsed = ares_parse_mx_reply(abuf, alen, &mx);
            if (parsed == ARES_SUCCESS) {
                for (auto* r = mx; r != nullptr; r = r->next) {
                    std::string host = r->host ? r->host : "";
                    while (!host.empty() && host.back() == '.') host.pop_back();
                    a.records.push_back(std::to_string(r->priority) + " " + host);
                }
                ares_free_data(mx);
            }
            break;
        }
        case DnsType::txt: {
            ares_txt_ext* txt = nullptr;
            parsed = ares_parse_txt_reply_ext(abuf, alen, &txt);
            if (parsed == ARES_SUCCESS) {
                for (auto* r = txt; r != nullptr; r = r->next) {
                    std::string s(reinterpret_cast<const char*>(r->txt), r->length);
                    if (r->record_start || a.records.empty())
                        a.records.push_back(std::move(s));
                    else
                        a.records.back() += s;
                }
                ares_free_data(txt);
            }
            break;
        }
    }
    if (parsed == ARES_ENODATA) a.status = DnsAnswer::Status::no_data;
    else if (parsed != ARES_SUCCESS) {
        a.status = DnsAnswer::Status::failed;
        a.error = std::string("malformed reply: ") + ares_strerror(parsed);
    }
    return a;
}

void on_answer(void* arg, int status, int, unsigned char* abuf, int alen) {
    std::unique_ptr<Pending> p(static_cast<Pending*>(arg));
    DnsAnswer a;
    if (status == ARES_SUCCESS) {
        a = parse(p->type, abuf, alen);
    } else if (status == ARES_ENOTFOUND) {
        a.status = DnsAnswer::Status::not_found;
    } else if (status == ARES_ENODATA) {
        a.status = DnsAnswer::Status::no_data;
    } else {
        a.status = DnsAnswer::Status::failed;
        a.error = ares_strerror(status);
    }
    p->done(std::move(a));
}

int type_code(DnsType t) {
    switch (t) {
        case DnsType::a: return ns_t_a;
        case DnsType::aaaa: return ns_t_aaaa;
        case DnsType::mx: return ns_t_mx;
        case DnsType::txt: return ns_t_txt;
    }
    return ns_t_a;
}

}  // namespace

ares_channeldata* DnsChannel::native() { return impl_->channel; }
void DnsChannel::rearm() { impl_->rearm_timer(); }

void DnsChannel::query(const std::string& name, DnsType type, std::function<void(DnsAnswer)> done) {
    auto* pending = new Pending{type, std::move(done)};
    Impl* impl = impl_.get();  // the callback may run at once
    ares_query(impl->channel, name.c_str(), ns_c_in, type_code(type), on_answer, pending);
    impl->rearm_timer();
}

}  // namespace kurir::server
