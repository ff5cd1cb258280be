// smtpd_milters: one conversation per SMTP session per milter, driven on
// the session's loop, a stage at a time (connect, helo, mail, rcpt, data,
// the message's header, end of header, body and end of message, unknown
// commands), each before smtpd answers the command, so that a milter's
// refusal is the command's SMTP reply. Milters are asked in the order
// smtpd_milters lists them; the first refusal ends the stage.
//
// A milter that cannot be reached, dies, hangs past its timeout or answers
// garbage is done for the session and counts as milter_default_action at
// this stage and every later one (tempfail: 451 4.7.1, reject: 550 5.7.1,
// accept: as if absent, quarantine: the message goes to hold). Edits come
// only from the end of message and are applied all or none, by cleanup;
// edits past mail/milter_limits.hpp's bounds refuse the message (552 5.3.4).
#pragma once

#include "mail/milter_config.hpp"
#include "server/milter_conn.hpp"

#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

struct event_base;

namespace kurir::smtpd {

struct MilterOutcome {
    std::string reply;       // empty: the command goes on; else the SMTP reply (4xx/5xx)
    bool discard = false;    // the client hears 250, the message is dropped
    std::string quarantine;  // not empty: the message goes to hold with this reason
    std::vector<mail::milter::Reply> edits;  // end of message: in order
};

// A macro's value for the session's state now ("i", "{auth_authen}"):
// nullopt when it has none.
using MacroLookup = std::function<std::optional<std::string>(std::string_view name)>;

class SmtpdMilters {
public:
    using Done = std::function<void(MilterOutcome)>;
    // dns: the process's DNS channel (null when it cannot be made), asked
    // for when a milter's host is a name.
    SmtpdMilters(event_base* base, const mail::milter::MilterConfig& config, MacroLookup macros,
                 std::function<server::DnsChannel*()> dns);
    ~SmtpdMilters();
    SmtpdMilters(const SmtpdMilters&) = delete;
    SmtpdMilters& operator=(const SmtpdMilters&) = delete;

    // Each runs done once, from the loop or at once.
    void connect(std::string hostname, mail::milter::Family family, uint16_t port, std::string address, Done done);
    void helo(std::string name, Done done);
    void mail(std::string address, std::vector<std::string> params, Done done);
    void rcpt(std::string address, std::vector<std::string> params, Done done);
    void data(Done done);
    // lines: the message's, each ended by "\n" (each milter is shown it as
    // the milters before it edited it); prepended: the bytes of the header
    // fields smtpd put on top (its Authentication-Results: the edits'
    // header budget starts there).
    void message(std::string lines, size_t prepended, Done done);
    void unknown(std::string line, Done done);
    // The transaction ends without an end of message (RSET, a new HELO, a
    // refusal after MAIL): the milters hear ABORT.
    void abort();

private:
    enum class Stage { connect, helo, mail, rcpt, data, message, unknown };
    struct Request {
        std::string packets;
        char command = 0;
        bool want_reply = true;
        bool body = false;  // a body chunk: a "skip" reply drops the rest of them
        bool eom = false;   // end of message: edits may come
    };
    struct Milter {
        std::string spec;
        std::unique_ptr<server::MilterConn> conn;
        bool failed = false;
        bool session_accepted = false;  // accept at connect or helo
        bool message_accepted = false;  // accept later: until the transaction ends
    };

    void run(Stage stage, std::function<std::vector<Request>(const Milter&)> requests, Done done);
    void next_milter();
    void next_request();
    void replied(util::Result<mail::milter::Reply> reply);
    void milter_failed(const std::string& why);
    void finish();
    std::string macros(const Milter& m, mail::milter::MacroStage stage, size_t config_index, char command) const;
    bool stage_step(const Milter& m, uint32_t no_step) const;

    event_base* base_;
    const mail::milter::MilterConfig& config_;
    MacroLookup lookup_;
    std::function<server::DnsChannel*()> dns_;
    std::vector<Milter> milters_;
    bool in_message_ = false;
    // The stage in progress.
    Stage stage_ = Stage::connect;
    std::function<std::vector<Request>(const Milter&)> build_;
    Done done_;
    MilterOutcome outcome_;
    size_t milter_ = 0;
    std::vector<Request> requests_;
    size_t request_ = 0;
    std::vector<mail::milter::Reply> pending_edits_;  // the end of message's, until its final reply
    mail::milter::EditBudget budget_{{}};             // the message's edits, all milters (milter_limits.hpp)
    // The budget before the end of message in progress: a milter that
    // fails has its edits dropped, and what they counted with them.
    std::optional<mail::milter::EditBudget> budget_before_eom_;
    bool stop_ = false;
    std::shared_ptr<bool> alive_ = std::make_shared<bool>(true);
};

}  // namespace kurir::smtpd
