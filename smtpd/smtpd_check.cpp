// smtpd's restriction checks (mail/restrictions.hpp) at each stage of the
// session: the facts the session knows, the access tables (reopened when
// kurir-map rebuilds them), and what a verdict does: a refusal is replied
// and logged in Postfix's words ("NOQUEUE: reject: RCPT from ..."), HOLD
// and DISCARD mark the message for cleanup, a check that cannot be made
// defers (451 4.3.0), never accepts.
#include "smtpd/smtpd_session.hpp"

#include "mail/address.hpp"
#include "mail/resolve.hpp"
#include "util/log.hpp"

#include <event2/bufferevent.h>
#include <event2/event.h>
#include <fmt/format.h>

namespace kurir::smtpd {

const mail::MapList& AccessTables::get(const mail::Config& cfg, const std::string& table) const {
    auto it = tables_.find(table);
    if (it == tables_.end()) it = tables_.emplace(table, mail::WatchedMaps(table, {table})).first;
    return it->second.get(cfg);
}

mail::SmtpFacts Session::facts() const {
    mail::SmtpFacts f;
    f.client_name = peer_.name;
    f.client_addr = peer_.addr;
    f.client_in_mynetworks = util::cidr_match_any(policy_.mynetworks, peer_.addr);
    f.helo = helo_;
    f.sasl_username = sasl_username_;
    f.sender = sender_;
    f.unauth_pipelining = unauth_pipelining_;
    f.recipient_delimiter = ctx_.config.str("recipient_delimiter");
    return f;
}

mail::SmtpFacts Session::sender_facts() const {
    mail::SmtpFacts f = facts();
    f.sender_domain_ours = !sender_.empty() && mail::is_local_domain(ctx_.config, mail::domain_part(sender_));
    return f;
}

// The verdict of the lists for this stage. True when the command is
// answered here (refused or deferred); HOLD and DISCARD are remembered for
// the message.
bool Session::restricted(mail::SmtpStage stage, mail::SmtpFacts f, std::string_view to, std::function<void()> again) {
    f.dns = &dns_answers_;
    mail::RestrictionLookups lookups;
    lookups.access = [this](std::string_view table, std::string_view key) -> util::Result<std::optional<std::string>> {
        const auto& maps = policy_.access_tables.get(ctx_.config, std::string(table));
        if (!maps.warnings().empty()) return util::fail(maps.warnings().front());
        return maps.lookup(key);
    };
    lookups.owners = [this](std::string_view sender) { return sender_owners(sender); };
    auto verdict = mail::check_restrictions(policy_.restrictions, stage, f, lookups);
    std::string_view command = stage == mail::SmtpStage::connect ? "CONNECT"
                               : stage == mail::SmtpStage::helo  ? (esmtp_ ? "EHLO" : "HELO")
                               : stage == mail::SmtpStage::mail  ? "MAIL"
                               : stage == mail::SmtpStage::rcpt  ? "RCPT"
                               : stage == mail::SmtpStage::data  ? "DATA"
                                                                 : "END-OF-MESSAGE";
    if (!verdict) {
        util::msg_warn("{}", verdict.error().text);
        std::string object = stage == mail::SmtpStage::rcpt ? fmt::format("<{}>: ", to) : std::string();
        std::string text = fmt::format("451 4.3.0 {}Temporary lookup failure", object);
        reject_log(command, text, to);
        if (stage == mail::SmtpStage::connect)
            connect_refusal_ = text;
        else
            reply(text);
        return true;
    }
    if (verdict->needs_dns) {
        ask_dns(*verdict->needs_dns, std::move(again));
        return true;
    }
    for (const auto& w : verdict->warnings) policy_log("warn", command, w, to);
    if (verdict->hold && !hold_) {
        policy_log("hold", command, *verdict->hold, to);
        hold_ = true;
    }
    if (verdict->discard && !discard_) {
        policy_log("discard", command, *verdict->discard, to);
        discard_ = true;
    }
    if (!verdict->refused) return false;
    reject_log(command, verdict->reply, to);
    if (stage == mail::SmtpStage::connect)
        connect_refusal_ = verdict->reply;  // the answer to every command from now on
    else
        error_reply(verdict->reply);
    return true;
}

// The process's DNS channel, made at first use (a failure is logged each
// time it is asked for).
util::Result<server::DnsChannel*> Session::dns_channel() {
    auto& channel = *policy_.dns;
    if (!channel) {
        auto made = server::DnsChannel::create(ctx_.base, ctx_.config.list("dns_resolver_address"));
        if (!made) {
            util::msg_warn("{}", made.error().text);
            return std::unexpected(made.error());
        }
        channel = std::move(*made);
    }
    return channel.get();
}

// A check waits for a DNS answer: no more input is read until it comes,
// then the command is handled again with the answer known. Answers are kept
// for the session (a bounded number: a client cannot grow it without end).
void Session::ask_dns(const mail::DnsQuestion& question, std::function<void()> again) {
    constexpr size_t kMaxAnswers = 256;
    if (dns_answers_.size() >= kMaxAnswers) dns_answers_.clear();
    auto channel = dns_channel();
    if (!channel) {
        mail::DnsAnswer failed;
        failed.error = channel.error().text;
        dns_answers_[question] = failed;
        return again();
    }
    state_ = State::checking;
    bufferevent_disable(client_, EV_READ);
    (*channel)->query(question.second, question.first,
                   [this, alive = alive_, question, again = std::move(again)](mail::DnsAnswer answer) {
                       if (!*alive) return;
                       dns_answers_[question] = std::move(answer);
                       state_ = State::command;
                       again();
                       if (state_ == State::command) resume_reading();
                   });
}

// "NOQUEUE: hold: RCPT from host[addr]: <s>: Sender address triggers HOLD
// action; from=<s> to=<r> proto=ESMTP helo=<h>", as Postfix.
void Session::policy_log(std::string_view action, std::string_view command, std::string_view text,
                         std::string_view to) {
    // As Postfix: from= once there is a sender, to= for a recipient, helo=
    // once there is one.
    std::string tail;
    if (have_mail_) tail += fmt::format(" from=<{}>", mail::quote_address(sender_));
    if (!to.empty()) tail += fmt::format(" to=<{}>", to);
    tail += fmt::format(" proto={}", protocol());
    if (!helo_.empty()) tail += fmt::format(" helo=<{}>", helo_);
    util::msg_info("{}: {}: {} from {}: {};{}", queue_id_.empty() ? "NOQUEUE" : queue_id_, action, command,
                   client_id(), text, tail);
}

}  // namespace kurir::smtpd
