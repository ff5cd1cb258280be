#include "cleanup/cleanup_milters.hpp"

#include "cleanup/cleanup_milter_edits.hpp"
#include "mail/address.hpp"
#include "mail/milter_config.hpp"
#include "mail/milter_header_edit.hpp"
#include "mail/milter_limits.hpp"
#include "mail/queue_file.hpp"
#include "server/milter_address.hpp"
#include "util/log.hpp"

#include <fcntl.h>
#include <fmt/format.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cstring>
#include <ctime>

namespace kurir::cleanup {

namespace {

namespace m = mail::milter;

constexpr size_t kBodyChunk = 65535;
constexpr size_t kMaxReplyPacket = 1 << 20;

long now_ms() {
    timespec ts{};
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

// One milter, spoken to in blocking steps, each within its timeout.
class BlockingMilter {
public:
    // servers: dns_resolver_address, for a host name.
    BlockingMilter(std::string spec, std::vector<std::string> servers)
        : spec_(std::move(spec)), servers_(std::move(servers)) {}

    // The lookup of a host name and the connect within connect_timeout.
    util::Result<void> open(long connect_timeout) {
        long deadline = now_ms() + connect_timeout * 1000;
        auto address = server::milter_address_within(spec_, servers_, connect_timeout * 1000);
        if (!address) return fail(address.error().text);
        fd_ = util::Fd(::socket(address->storage.ss_family, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0));
        if (fd_.get() < 0) return fail(std::string("socket: ") + std::strerror(errno));
        if (::connect(fd_.get(), reinterpret_cast<sockaddr*>(&address->storage), address->length) != 0) {
            if (errno != EINPROGRESS) return fail(std::strerror(errno));
            if (auto w = wait(POLLOUT, deadline); !w) return w;
            int err = 0;
            socklen_t len = sizeof err;
            getsockopt(fd_.get(), SOL_SOCKET, SO_ERROR, &err, &len);
            if (err != 0) return fail(std::strerror(err));
        }
        return {};
    }

    util::Result<void> send(std::string_view bytes, long timeout) {
        long deadline = now_ms() + timeout * 1000;
        while (!bytes.empty()) {
            ssize_t n = ::send(fd_.get(), bytes.data(), bytes.size(), MSG_NOSIGNAL);
            if (n < 0 && errno == EINTR) continue;
            if (n < 0 && errno == EAGAIN) {
                if (auto w = wait(POLLOUT, deadline); !w) return w;
                continue;
            }
            if (n < 0) return fail(std::strerror(errno));
            bytes.remove_prefix(static_cast<size_t>(n));
        }
        return {};
    }

    // The next packet, before deadline (now_ms()'s clock): the caller keeps
    // one deadline for a request's whole answer (mail/milter_limits.hpp).
    util::Result<m::Reply> reply(long deadline) {
        for (;;) {
            auto packet = m::take_packet(in_, kMaxReplyPacket);
            if (!packet) return fail(packet.error().text);
            if (*packet) {
                auto r = m::decode_reply(**packet);
                if (!r) return fail(r.error().text);
                return r;
            }
            if (auto w = wait(POLLIN, deadline); !w) return std::unexpected(w.error());
            char buf[65536];
            ssize_t n = ::recv(fd_.get(), buf, sizeof buf, 0);
            if (n < 0 && (errno == EINTR || errno == EAGAIN)) continue;
            if (n < 0) return fail(std::strerror(errno));
            if (n == 0) return fail("connection closed by the milter");
            in_.append(buf, static_cast<size_t>(n));
        }
    }

    const std::string& spec() const { return spec_; }
    m::Options options;
    std::vector<std::pair<m::MacroStage, std::string>> macro_lists;

private:
    util::Result<void> wait(short what, long deadline) {
        for (;;) {
            long left = deadline - now_ms();
            if (left <= 0) return fail("timeout");
            pollfd p{fd_.get(), what, 0};
            int rc = ::poll(&p, 1, static_cast<int>(left));
            if (rc < 0 && errno == EINTR) continue;
            if (rc < 0) return fail(std::strerror(errno));
            if (rc == 0) return fail("timeout");
            return {};
        }
    }
    std::unexpected<util::Error> fail(const std::string& text) const {
        return util::fail(fmt::format("milter {}: {}", spec_, text));
    }

    std::string spec_;
    std::vector<std::string> servers_;
    util::Fd fd_;
    std::string in_;
};

struct Verdict {
    std::string reply;  // empty: pass
    bool discard = false;
    std::vector<mail::MilterEdit> edits;
};

// One milter's whole conversation about the message. Its edits go into
// verdict only once its end of message let the message pass.
util::Result<void> converse(BlockingMilter& mt, const m::MilterConfig& cfg, const mail::QueueEnvelope& env,
                            std::string_view lines, const std::string& id, const std::string& hostname,
                            m::EditBudget& budget, Verdict& verdict) {
    if (auto o = mt.open(cfg.connect_timeout); !o) return o;
    m::Options offer{cfg.protocol, m::action::all, m::offered_steps(cfg.protocol)};
    if (auto s = mt.send(m::encode_optneg(offer), cfg.command_timeout); !s) return s;
    auto neg = mt.reply(now_ms() + cfg.command_timeout * 1000);
    if (!neg) return std::unexpected(neg.error());
    if (neg->kind != m::ReplyKind::optneg || neg->options.version < 2 || neg->options.version > offer.version ||
        (neg->options.actions & ~offer.actions) || (neg->options.steps & ~offer.steps))
        return util::fail(fmt::format("milter {}: bad option negotiation reply", mt.spec()));
    uint32_t steps = neg->options.steps;
    auto on = [&](uint32_t no_step) { return (steps & no_step) == 0; };
    auto macro = [&](std::string_view name) -> std::optional<std::string> {
        if (name == "j") return hostname;
        if (name == "{daemon_name}") return cfg.daemon_name;
        if (name == "v") return cfg.v;
        if (name == "i") return id;
        if (name == "{mail_addr}") return env.sender;
        if (name == "_") return std::string("localhost [127.0.0.1]");
        if (name == "{client_addr}") return std::string("127.0.0.1");
        if (name == "{client_name}") return std::string("localhost");
        return std::nullopt;
    };
    auto macros = [&](m::MacroStage stage, size_t index, char command, std::optional<std::string> rcpt = {}) {
        std::vector<std::string> names = cfg.macros[index];
        for (const auto& [s, list] : neg->macro_lists)
            if (s == stage) {
                names.clear();
                for (size_t p = 0; p < list.size();) {
                    size_t sp = list.find(' ', p);
                    if (sp != p) names.push_back(list.substr(p, sp - p));
                    if (sp == std::string::npos) break;
                    p = sp + 1;
                }
            }
        std::vector<std::pair<std::string, std::string>> pairs;
        for (const auto& n : names) {
            auto v = n == "{rcpt_addr}" ? rcpt : macro(n);
            if (v) pairs.emplace_back(n, *v);
        }
        return pairs.empty() ? std::string() : m::encode_macros(command, pairs);
    };
    // Sends one step; returns whether the conversation goes on.
    std::vector<mail::MilterEdit> edits;
    bool skip_body = false;
    auto step = [&](std::string packets, bool want_reply, long timeout, bool eom, bool body) -> util::Result<bool> {
        if (body && skip_body) return true;
        if (auto s = mt.send(packets, timeout); !s) return std::unexpected(s.error());
        if (!want_reply) return true;
        if (eom) budget.begin();
        m::ReplyDeadline deadline(now_ms(), timeout);  // for the whole answer, edits and all
        for (;;) {
            auto r = mt.reply(deadline.at());
            if (!r) return std::unexpected(r.error());
            bool passes = r->kind == m::ReplyKind::continue_ || r->kind == m::ReplyKind::accept ||
                          r->kind == m::ReplyKind::skip;
            if (eom && budget.exceeded() && passes) {  // as Postfix's queue file over its size limit
                verdict.reply = std::string(m::kEditsTooBig);
                return false;
            }
            if (eom) {  // an edit past the limits is heard, not kept
                if (uint32_t need = m::needed_action(r->kind); need != 0 && (neg->options.actions & need) == 0)
                    return util::fail(
                        fmt::format("milter {}: modification action 0x{:x} not negotiated", mt.spec(), need));
                bool was = budget.exceeded();
                if (auto ok = budget.take(*r); !ok) {
                    if (!was) util::msg_warn("{}: milter {}: {}", id, mt.spec(), ok.error().text);
                    continue;
                }
            }
            switch (r->kind) {
            case m::ReplyKind::progress: deadline.progress(now_ms()); continue;
            case m::ReplyKind::continue_: return true;
            case m::ReplyKind::skip:
                if (body) skip_body = true;
                return true;
            case m::ReplyKind::accept: return false;
            case m::ReplyKind::discard: verdict.discard = true; return false;
            case m::ReplyKind::reject: verdict.reply = "550 5.7.1 Command rejected"; return false;
            case m::ReplyKind::tempfail: verdict.reply = "451 4.7.1 Service unavailable - try again later"; return false;
            case m::ReplyKind::reply_code: verdict.reply = r->text.substr(0, r->text.find("\r\n")); return false;
            case m::ReplyKind::add_header:
                if (eom) edits.push_back({'h', 0, r->name, r->value});
                break;
            case m::ReplyKind::insert_header:
                if (eom) edits.push_back({'i', r->index, r->name, r->value});
                break;
            case m::ReplyKind::change_header:
                if (eom) edits.push_back({'m', r->index, r->name, r->value});
                break;
            case m::ReplyKind::replace_body:
                if (eom) edits.push_back({'b', 0, r->body, {}});
                break;
            case m::ReplyKind::add_rcpt:
            case m::ReplyKind::add_rcpt_par:
                if (eom) edits.push_back({'+', 0, r->address, r->params});
                break;
            case m::ReplyKind::delete_rcpt:
                if (eom) edits.push_back({'-', 0, r->address, {}});
                break;
            case m::ReplyKind::change_from:
                if (eom) edits.push_back({'e', 0, r->address, r->params});
                break;
            case m::ReplyKind::quarantine:
                if (eom) edits.push_back({'q', 0, r->text, {}});
                break;
            default: return util::fail(fmt::format("milter {}: unexpected reply", mt.spec()));
            }
            if (!eom) return util::fail(fmt::format("milter {}: modification reply outside the end of message", mt.spec()));
        }
    };
    long ct = cfg.command_timeout, bt = cfg.content_timeout;
    // The message as the milters before this one left it, without the first
    // field, cleanup's own Received: (mail/milter_header_edit.hpp).
    auto msg = m::milter_view(lines, true, verdict.edits, !on(m::step::header_leading_space));
    std::vector<std::tuple<std::string, bool, long, bool, bool>> plan;
    if (on(m::step::no_connect))
        plan.emplace_back(macros(m::MacroStage::connect, 0, 'C') +
                              m::encode_connect("localhost", m::Family::inet, 0, "127.0.0.1"),
                          on(m::step::no_reply_connect), ct, false, false);
    if (on(m::step::no_helo))
        plan.emplace_back(macros(m::MacroStage::helo, 1, 'H') + m::encode_helo("localhost"), on(m::step::no_reply_helo),
                          ct, false, false);
    if (on(m::step::no_mail))
        plan.emplace_back(macros(m::MacroStage::mail, 2, 'M') +
                              m::encode_envelope('M', "<" + mail::quote_address(env.sender) + ">", {}),
                          on(m::step::no_reply_mail), ct, false, false);
    if (on(m::step::no_rcpt))
        for (const auto& r : env.recipients)
            plan.emplace_back(macros(m::MacroStage::rcpt, 3, 'R', r.address) +
                                  m::encode_envelope('R', "<" + mail::quote_address(r.address) + ">", {}),
                              on(m::step::no_reply_rcpt), ct, false, false);
    if (neg->options.version >= 4 && on(m::step::no_data))
        plan.emplace_back(macros(m::MacroStage::data, 4, 'T') + m::encode_simple('T'), on(m::step::no_reply_data), ct,
                          false, false);
    if (on(m::step::no_headers))
        for (const auto& [name, value] : msg.headers)
            plan.emplace_back(m::encode_header(name, value), on(m::step::no_reply_header), ct, false, false);
    if (on(m::step::no_eoh))
        plan.emplace_back(macros(m::MacroStage::end_of_headers, 6, 'N') + m::encode_simple('N'),
                          on(m::step::no_reply_eoh), ct, false, false);
    if (on(m::step::no_body))
        for (size_t at = 0; at < msg.body.size(); at += kBodyChunk)
            plan.emplace_back(m::encode_body_chunk(std::string_view(msg.body).substr(at, kBodyChunk)),
                              on(m::step::no_reply_body), bt, false, true);
    plan.emplace_back(macros(m::MacroStage::end_of_body, 5, 'E') + m::encode_simple('E'), true, bt, true, false);
    for (auto& [packets, want, timeout, eom, body] : plan) {
        auto go = step(packets, want, timeout, eom, body);
        if (!go) return std::unexpected(go.error());
        if (!*go) break;
    }
    (void)mt.send(m::encode_simple(m::command::quit), ct);  // a milter gone by now changes nothing
    if (verdict.reply.empty() && !verdict.discard) {
        // A milter's replaced body starts the body over (as Postfix's
        // MILTER_BODY_START): only the last one's pieces are delivered.
        auto body = [](const mail::MilterEdit& e) { return e.op == 'b'; };
        if (std::ranges::any_of(edits, body)) std::erase_if(verdict.edits, body);
        for (auto& e : edits) verdict.edits.push_back(std::move(e));
    }
    return {};
}

}  // namespace

util::Result<std::optional<mail::proto::CleanupReply>> apply_non_smtpd_milters(server::ServerContext& ctx,
                                                                              const std::string& id,
                                                                              IncomingFile& file, bool& hold) {
    using Answer = std::optional<mail::proto::CleanupReply>;
    if (ctx.config.list("non_smtpd_milters").empty()) return Answer();
    auto bytes = file.read_all();
    if (!bytes) return std::unexpected(bytes.error());
    auto env = mail::parse_queue_file(*bytes);
    if (!env) return std::unexpected(env.error());
    if (!non_smtpd_milters_apply(ctx.config, env->attr("origin"))) return Answer();
    auto cfg = m::load_milter_config(ctx.config, "non_smtpd_milters");
    if (!cfg) return std::unexpected(cfg.error());
    std::string lines;  // each ended by "\n": a line costs one byte, not a string
    size_t prepended = 0;
    for (const auto& p : env->prepended) prepended += static_cast<size_t>(std::count(p.begin(), p.end(), '\n')) + 1;
    auto read = mail::for_each_content_line(*bytes, *env, [&](std::string_view l) {
        if (prepended > 0) {  // the P fields: not part of the content the edits index
            --prepended;
            return;
        }
        lines += l;
        lines += '\n';
    });
    if (!read) return std::unexpected(read.error());
    Verdict verdict;
    m::EditBudget budget(cfg->edit_limits);
    for (const auto& spec : cfg->milters) {
        BlockingMilter mt(spec, ctx.config.list("dns_resolver_address"));
        size_t before = verdict.edits.size();
        m::EditBudget budget_before = budget;
        if (auto ok = converse(mt, *cfg, *env, lines, id, ctx.config.str("myhostname"), budget, verdict); !ok) {
            util::msg_warn("{}: {}", id, ok.error().text);
            verdict.edits.resize(before);  // never half-applied: its edits go, and what they counted
            budget = budget_before;
            switch (cfg->default_action) {
            case m::DefaultAction::accept: break;
            case m::DefaultAction::quarantine: verdict.edits.push_back({'q', 0, "milter_default_action", {}}); break;
            default: verdict.reply = m::default_action_reply(cfg->default_action);
            }
        }
        if (!verdict.reply.empty() || verdict.discard) break;
    }
    std::string to = env->recipients.empty() ? "" : env->recipients.front().address;
    if (verdict.discard) {
        util::msg_info("{}: milter-discard: END-OF-MESSAGE from localhost[127.0.0.1]: milter triggers DISCARD action; "
                       "from=<{}> to=<{}>",
                       id, mail::quote_address(env->sender), to);
        return Answer(mail::proto::CleanupReply{'0', id, "", ""});
    }
    if (!verdict.reply.empty()) {
        util::msg_info("{}: milter-reject: END-OF-MESSAGE from localhost[127.0.0.1]: {}; from=<{}> to=<{}>", id,
                       verdict.reply, mail::quote_address(env->sender), to);
        // "550 5.7.1 text": the status, the enhanced code, the text.
        std::string_view r = verdict.reply;
        std::string dsn = r.size() > 4 && std::isdigit(static_cast<unsigned char>(r[4]))
                              ? std::string(r.substr(4, r.find(' ', 4) - 4))
                              : (r[0] == '4' ? "4.7.1" : "5.7.1");
        std::string text(r.substr(std::min(r.size(), 4 + (r.size() > 4 && std::isdigit(static_cast<unsigned char>(r[4]))
                                                               ? dsn.size() + 1
                                                               : 0))));
        return Answer(mail::proto::CleanupReply{r[0], id, dsn, text, true});
    }
    if (verdict.edits.empty()) return Answer();
    if (auto ok = apply_milter_edits(ctx, id, file, verdict.edits, hold); !ok) return std::unexpected(ok.error());
    return Answer();
}

}  // namespace kurir::cleanup
