#include "smtpd/smtpd_milter.hpp"

#include "mail/milter_header_edit.hpp"
#include "util/log.hpp"

#include <fmt/format.h>

#include <algorithm>

namespace kurir::smtpd {

namespace m = mail::milter;

namespace {

// libmilter's largest body chunk.
constexpr size_t kBodyChunk = 65535;

// A milter's "y" reply as a well-formed SMTP reply: every line but the
// last with "-" after the code, the last with " ".
std::string smtp_reply_text(std::string_view text) {
    std::vector<std::string_view> lines;
    while (true) {
        size_t end = text.find("\r\n");
        lines.push_back(text.substr(0, end));
        if (end == std::string_view::npos) break;
        text.remove_prefix(end + 2);
    }
    std::string out;
    for (size_t i = 0; i < lines.size(); ++i) {
        std::string_view line = lines[i];
        std::string_view rest = line.size() > 3 ? line.substr(4) : std::string_view();
        if (line.size() > 3 && line[3] != ' ' && line[3] != '-') rest = line.substr(3);
        if (i > 0) out += "\r\n";
        out += fmt::format("{}{}{}", line.substr(0, 3), i + 1 < lines.size() ? '-' : ' ', rest);
    }
    return out;
}

}  // namespace

SmtpdMilters::SmtpdMilters(event_base* base, const m::MilterConfig& config, MacroLookup macros,
                           std::function<server::DnsChannel*()> dns)
    : base_(base), config_(config), lookup_(std::move(macros)), dns_(std::move(dns)) {
    for (const auto& spec : config.milters) milters_.push_back(Milter{spec, nullptr});
}

SmtpdMilters::~SmtpdMilters() {
    *alive_ = false;
    for (auto& mt : milters_)
        if (mt.conn && !mt.conn->failed()) mt.conn->send(m::encode_simple(m::command::quit));
}

bool SmtpdMilters::stage_step(const Milter& mt, uint32_t no_step) const {
    return (mt.conn->negotiated().options.steps & no_step) == 0;
}

std::string SmtpdMilters::macros(const Milter& mt, m::MacroStage stage, size_t config_index, char command) const {
    std::vector<std::string> names = config_.macros[config_index];
    for (const auto& [s, list] : mt.conn->negotiated().macro_lists) {
        if (s != stage) continue;
        names.clear();
        std::string_view rest = list;
        while (!rest.empty()) {
            size_t sp = rest.find_first_of(" ,");
            if (sp != 0) names.emplace_back(rest.substr(0, sp));
            if (sp == std::string_view::npos) break;
            rest.remove_prefix(sp + 1);
        }
    }
    std::vector<std::pair<std::string, std::string>> pairs;
    for (const auto& name : names)
        if (auto value = lookup_(name)) pairs.emplace_back(name, *value);
    if (pairs.empty()) return {};
    return m::encode_macros(command, pairs);
}

void SmtpdMilters::connect(std::string hostname, m::Family family, uint16_t port, std::string address, Done done) {
    run(Stage::connect, [=, this](const Milter& mt) -> std::vector<Request> {
        if (!stage_step(mt, m::step::no_connect)) return {};
        return {Request{macros(mt, m::MacroStage::connect, 0, m::command::connect) +
                            m::encode_connect(hostname, family, port, address),
                        m::command::connect, stage_step(mt, m::step::no_reply_connect)}};
    }, std::move(done));
}

void SmtpdMilters::helo(std::string name, Done done) {
    run(Stage::helo, [=, this](const Milter& mt) -> std::vector<Request> {
        if (!stage_step(mt, m::step::no_helo)) return {};
        return {Request{macros(mt, m::MacroStage::helo, 1, m::command::helo) + m::encode_helo(name), m::command::helo,
                        stage_step(mt, m::step::no_reply_helo)}};
    }, std::move(done));
}

void SmtpdMilters::mail(std::string address, std::vector<std::string> params, Done done) {
    abort();
    for (auto& mt : milters_) mt.message_accepted = false;
    in_message_ = true;
    run(Stage::mail, [=, this](const Milter& mt) -> std::vector<Request> {
        if (!stage_step(mt, m::step::no_mail)) return {};
        return {Request{macros(mt, m::MacroStage::mail, 2, m::command::mail) +
                            m::encode_envelope(m::command::mail, "<" + address + ">", params),
                        m::command::mail, stage_step(mt, m::step::no_reply_mail)}};
    }, std::move(done));
}

void SmtpdMilters::rcpt(std::string address, std::vector<std::string> params, Done done) {
    run(Stage::rcpt, [=, this](const Milter& mt) -> std::vector<Request> {
        if (!stage_step(mt, m::step::no_rcpt)) return {};
        return {Request{macros(mt, m::MacroStage::rcpt, 3, m::command::rcpt) +
                            m::encode_envelope(m::command::rcpt, "<" + address + ">", params),
                        m::command::rcpt, stage_step(mt, m::step::no_reply_rcpt)}};
    }, std::move(done));
}

void SmtpdMilters::data(Done done) {
    run(Stage::data, [=, this](const Milter& mt) -> std::vector<Request> {
        if (mt.conn->negotiated().options.version < 4 || !stage_step(mt, m::step::no_data)) return {};
        return {Request{macros(mt, m::MacroStage::data, 4, m::command::data) + m::encode_simple(m::command::data),
                        m::command::data, stage_step(mt, m::step::no_reply_data)}};
    }, std::move(done));
}

void SmtpdMilters::unknown(std::string line, Done done) {
    run(Stage::unknown, [=, this](const Milter& mt) -> std::vector<Request> {
        if (mt.conn->negotiated().options.version < 3 || !stage_step(mt, m::step::no_unknown)) return {};
        std::string packets;
        std::vector<std::pair<std::string, std::string>> pairs;
        for (const auto& name : config_.macros[m::kUnknownStage])
            if (auto value = lookup_(name)) pairs.emplace_back(name, *value);
        if (!pairs.empty()) packets = m::encode_macros(m::command::unknown, pairs);
        return {Request{packets + m::encode_unknown(line), m::command::unknown,
                        stage_step(mt, m::step::no_reply_unknown)}};
    }, std::move(done));
}

void SmtpdMilters::message(std::string lines, size_t prepended, Done done) {
    auto text = std::make_shared<const std::string>(std::move(lines));
    budget_ = m::EditBudget(config_.edit_limits, prepended);
    run(Stage::message, [=, this](const Milter& mt) {
        std::vector<Request> out;
        // The message as the milters before this one left it (Postfix shows
        // each the queue file so far), the space after a colon as this one
        // asked (mail/milter_header_edit.hpp).
        std::vector<mail::MilterEdit> before;
        for (const auto& r : outcome_.edits)
            if (auto e = mail::milter_edit_of(r)) before.push_back(std::move(*e));
        const m::MilterMessage msg =
            m::milter_view(*text, false, before, !stage_step(mt, m::step::header_leading_space));
        const auto& headers = msg.headers;
        if (stage_step(mt, m::step::no_headers))
            for (const auto& [name, value] : headers)
                out.push_back(Request{m::encode_header(name, value), m::command::header,
                                      stage_step(mt, m::step::no_reply_header)});
        if (stage_step(mt, m::step::no_eoh))
            out.push_back(Request{macros(mt, m::MacroStage::end_of_headers, 6, m::command::end_of_headers) +
                                      m::encode_simple(m::command::end_of_headers),
                                  m::command::end_of_headers, stage_step(mt, m::step::no_reply_eoh)});
        if (stage_step(mt, m::step::no_body))
            for (size_t at = 0; at < msg.body.size(); at += kBodyChunk)
                out.push_back(Request{m::encode_body_chunk(std::string_view(msg.body).substr(at, kBodyChunk)),
                                      m::command::body, stage_step(mt, m::step::no_reply_body), true});
        out.push_back(Request{macros(mt, m::MacroStage::end_of_body, 5, m::command::end_of_body) +
                                  m::encode_simple(m::command::end_of_body),
                              m::command::end_of_body, true, false, true});
        return out;
    }, std::move(done));
}

void SmtpdMilters::abort() {
    if (!in_message_) return;
    in_message_ = false;
    for (auto& mt : milters_) {
        mt.message_accepted = false;
        if (mt.conn && !mt.conn->failed() && !mt.session_accepted) mt.conn->send(m::encode_simple(m::command::abort));
    }
}

void SmtpdMilters::run(Stage stage, std::function<std::vector<Request>(const Milter&)> requests, Done done) {
    stage_ = stage;
    build_ = std::move(requests);
    done_ = std::move(done);
    outcome_ = {};
    milter_ = 0;
    stop_ = false;
    next_milter();
}

// The default action of a milter that failed, for this stage.
void SmtpdMilters::milter_failed(const std::string& why) {
    Milter& mt = milters_[milter_];
    if (!mt.failed) {
        util::msg_warn("{}", why);
        mt.failed = true;
    }
    // Never half-applied: this milter's edits go, and what they counted;
    // those of the milters before it stay (a refusal drops them all in
    // finish()).
    pending_edits_.clear();
    if (budget_before_eom_) budget_ = *std::exchange(budget_before_eom_, std::nullopt);
    switch (config_.default_action) {
    case m::DefaultAction::accept: break;
    case m::DefaultAction::quarantine:
        if (stage_ == Stage::message) outcome_.quarantine = "milter_default_action";
        break;
    default:
        outcome_.reply = m::default_action_reply(config_.default_action);
        stop_ = true;
    }
}

void SmtpdMilters::next_milter() {
    while (!stop_ && milter_ < milters_.size()) {
        Milter& mt = milters_[milter_];
        bool message_stage = stage_ != Stage::connect && stage_ != Stage::helo && stage_ != Stage::unknown;
        if (mt.failed || (mt.conn && mt.conn->failed())) {
            milter_failed(mt.conn && mt.conn->failed() ? mt.conn->error() : "");
            ++milter_;
            continue;
        }
        if (mt.session_accepted || (message_stage && mt.message_accepted)) {
            ++milter_;
            continue;
        }
        if (!mt.conn) {
            if (stage_ != Stage::connect) {  // cannot happen: every milter is opened at connect
                milter_failed("milter " + mt.spec + ": not connected");
                ++milter_;
                continue;
            }
            m::Options offer{config_.protocol, m::action::all, m::offered_steps(config_.protocol)};
            server::MilterTimeouts t{config_.connect_timeout, config_.command_timeout, config_.content_timeout};
            server::DnsChannel* dns = nullptr;  // made only when a host name needs it
            if (auto parsed = server::parse_milter_spec(mt.spec); parsed && !parsed->address && dns_) dns = dns_();
            auto conn = server::MilterConn::open(base_, mt.spec, t, offer, [this, alive = alive_](util::Result<void> ok) {
                if (!*alive) return;
                if (!ok) {
                    milter_failed(ok.error().text);
                    ++milter_;
                    return next_milter();
                }
                requests_ = build_(milters_[milter_]);
                request_ = 0;
                next_request();
            }, dns);
            if (!conn) {
                milter_failed(conn.error().text);
                ++milter_;
                continue;
            }
            mt.conn = std::move(*conn);
            return;  // the callback goes on
        }
        requests_ = build_(mt);
        request_ = 0;
        return next_request();
    }
    finish();
}

void SmtpdMilters::next_request() {
    Milter& mt = milters_[milter_];
    while (request_ < requests_.size()) {
        const Request& r = requests_[request_];
        if (!r.want_reply) {
            mt.conn->send(r.packets);
            ++request_;
            continue;
        }
        long timeout = r.body || r.eom ? config_.content_timeout : config_.command_timeout;
        std::function<util::Result<void>(const m::Reply&)> on_edit;
        if (r.eom)
            on_edit = [this, &mt](const m::Reply& edit) -> util::Result<void> {
                uint32_t need = m::needed_action(edit.kind);
                if ((mt.conn->negotiated().options.actions & need) == 0)
                    return util::fail(fmt::format("modification action 0x{:x} not negotiated", need));
                bool was = budget_.exceeded();
                if (auto ok = budget_.take(edit); !ok) {  // heard to its final reply, not applied
                    if (!was) util::msg_warn("milter {}: {}", mt.spec, ok.error().text);
                    return {};
                }
                pending_edits_.push_back(edit);
                return {};
            };
        pending_edits_.clear();
        if (r.eom) {
            budget_before_eom_ = budget_;
            budget_.begin();
        }
        mt.conn->request(r.packets, true, timeout,
                         [this, alive = alive_](util::Result<m::Reply> reply) {
                             if (*alive) replied(std::move(reply));
                         },
                         std::move(on_edit));
        return;
    }
    ++milter_;
    next_milter();
}

void SmtpdMilters::replied(util::Result<m::Reply> reply) {
    if (!reply) {
        pending_edits_.clear();
        milter_failed(reply.error().text);
        ++milter_;
        return next_milter();
    }
    Milter& mt = milters_[milter_];
    const Request& r = requests_[request_];
    bool message_stage = stage_ != Stage::connect && stage_ != Stage::helo && stage_ != Stage::unknown;
    switch (reply->kind) {
    case m::ReplyKind::continue_:
    case m::ReplyKind::skip:
    case m::ReplyKind::accept:
    case m::ReplyKind::discard:
    case m::ReplyKind::reject:
    case m::ReplyKind::tempfail:
    case m::ReplyKind::reply_code: break;
    default:  // before its edits are taken: a milter that ends in garbage edits nothing
        milter_failed(fmt::format("milter {}: unexpected reply", mt.spec));
        ++milter_;
        return next_milter();
    }
    if (r.eom) {
        // The end of message's edits count once its final reply came, and
        // only when it lets the message pass. A milter's replaced body
        // starts the body over (as Postfix's MILTER_BODY_START): only the
        // last one's pieces are delivered.
        auto body = [](const m::Reply& e) { return e.kind == m::ReplyKind::replace_body; };
        if (std::ranges::any_of(pending_edits_, body)) std::erase_if(outcome_.edits, body);
        for (auto& edit : pending_edits_) {
            if (edit.kind == m::ReplyKind::quarantine)
                outcome_.quarantine = edit.text.empty() ? "milter" : edit.text;
            else
                outcome_.edits.push_back(std::move(edit));
        }
        pending_edits_.clear();
        budget_before_eom_.reset();
        bool passes = reply->kind == m::ReplyKind::continue_ || reply->kind == m::ReplyKind::accept ||
                      reply->kind == m::ReplyKind::skip;
        if (budget_.exceeded() && passes) {  // as Postfix's queue file over its size limit
            outcome_.reply = std::string(m::kEditsTooBig);
            stop_ = true;
            return finish();
        }
    }
    switch (reply->kind) {
    case m::ReplyKind::continue_: ++request_; return next_request();
    case m::ReplyKind::skip:
        ++request_;
        if (r.body)
            while (request_ < requests_.size() && requests_[request_].body) ++request_;
        return next_request();
    case m::ReplyKind::accept:
        if (message_stage)
            mt.message_accepted = true;
        else
            mt.session_accepted = true;
        ++milter_;
        return next_milter();
    case m::ReplyKind::discard:
        if (!message_stage) {
            util::msg_warn("milter {}: DISCARD at the {} stage: taken as accept", mt.spec,
                           stage_ == Stage::connect ? "connect" : stage_ == Stage::helo ? "HELO" : "unknown command");
            mt.session_accepted = true;
            ++milter_;
            return next_milter();
        }
        outcome_.discard = true;
        break;
    case m::ReplyKind::reject: outcome_.reply = "550 5.7.1 Command rejected"; break;
    case m::ReplyKind::tempfail: outcome_.reply = "451 4.7.1 Service unavailable - try again later"; break;
    default: outcome_.reply = smtp_reply_text(reply->text); break;  // reply_code
    }
    stop_ = true;
    finish();
}

void SmtpdMilters::finish() {
    if (stage_ == Stage::message) {
        in_message_ = false;
        for (auto& mt : milters_) mt.message_accepted = false;
    }
    if (stage_ == Stage::mail && !outcome_.reply.empty()) in_message_ = false;
    if (!outcome_.reply.empty() || outcome_.discard) outcome_.edits.clear();
    auto done = std::move(done_);
    done_ = nullptr;
    build_ = nullptr;
    MilterOutcome outcome = std::move(outcome_);
    outcome_ = {};
    if (done) done(std::move(outcome));
}

}  // namespace kurir::smtpd
