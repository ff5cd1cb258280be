// One SMTP session: the protocol state machine over a client connection and,
// during DATA, a record stream to cleanup. Many sessions share one loop.
#pragma once

#include "mail/clients.hpp"
#include "mail/smtp_command.hpp"
#include "server/attr_conn.hpp"
#include "server/server.hpp"
#include "smtpd/smtpd_sasl.hpp"
#include "util/attr.hpp"
#include "util/cidr.hpp"
#include "util/socket.hpp"

#include <map>
#include <memory>
#include <string>
#include <vector>

struct bufferevent;
struct event;

namespace kurir::smtpd {

// What all sessions of a process share: parsed policy from the config.
struct SmtpdPolicy {
    std::vector<util::Cidr> mynetworks;
    std::string hostname;
    std::string banner;
    long size_limit = 0;
    long recipient_limit = 0;
    long soft_error_limit = 0;
    long hard_error_limit = 0;
    long junk_command_limit = 0;
    long error_sleep = 0;
    long timeout = 0;
    bool reject_bare_newline = false;
    bool check_local_users = true;
    // SMTP AUTH (smtpd_auth.cpp)
    bool sasl_enable = false;
    bool tls_auth_only = true;
    std::shared_ptr<SaslServer> sasl;  // set when sasl_enable
};

util::Result<SmtpdPolicy> load_policy(const mail::Config& cfg);
util::Result<void> load_sasl_policy(const mail::Config& cfg, SmtpdPolicy& p);

// The Received: header's "with" (RFC 3848): SMTP or ESMTP, plus S under
// TLS and A when authenticated.
std::string received_protocol(bool esmtp, bool tls, bool authenticated);

class Session {
public:
    static void start(server::ServerContext& ctx, const SmtpdPolicy& policy, util::Fd fd, server::ClientDone done);

private:
    Session(server::ServerContext& ctx, const SmtpdPolicy& policy, server::ClientDone done);
    ~Session();
    static void on_client_read(bufferevent*, void*);
    static void on_client_write(bufferevent*, void*);
    static void on_client_event(bufferevent*, short, void*);
    static void on_delay(int, short, void*);

    void process_input();
    bool may_read() const;
    void resume_reading();
    void handle_command(std::string_view line);
    void handle_data_bytes();
    void finish_data();
    void reply(std::string_view text);
    void error_reply(std::string_view text);
    void count_junk();
    void too_many_errors();
    void close_after_reply();
    void close_now(std::string_view last_reply);
    void close();
    void reset_transaction();
    bool open_cleanup();
    void abort_cleanup();
    void cleanup_said(const util::Attrs& frame);
    void cleanup_failed(std::string_view what);
    void cleanup_drained();
    void send_record(char type, std::string_view data);
    std::string client_id() const;

    void do_helo(const mail::SmtpCommand& cmd, bool esmtp);
    void do_mail(const mail::SmtpCommand& cmd);
    void do_rcpt(const mail::SmtpCommand& cmd);
    void do_data();
    void do_auth(const mail::SmtpCommand& cmd);
    void auth_line(std::string_view line);
    void auth_step(std::optional<std::string> response);
    void auth_outcome(SaslOutcome outcome);
    std::string auth_ehlo_line() const;
    size_t line_limit(std::string_view start) const;
    void auth_abandon();
    void reject_log(std::string_view stage, std::string_view reply_text, std::string_view to);

    // auth_response: waiting for the client's answer to a 334;
    // auth_waiting: waiting for the SASL backend.
    enum class State { command, data, waiting_cleanup, closing, auth_response, auth_waiting };

    server::ServerContext& ctx_;
    const SmtpdPolicy& policy_;
    server::ClientDone done_;
    bufferevent* client_ = nullptr;
    server::AttrConn* cleanup_ = nullptr;  // during DATA and until cleanup's reply
    event* delay_ = nullptr;
    util::Peer peer_;
    State state_ = State::command;
    bool esmtp_ = false;
    std::string helo_;
    bool have_mail_ = false;
    std::string sender_;
    struct Recipient {
        std::string address;
        int notify = 0;      // DSN NOTIFY bits
        std::string orcpt;   // DSN ORCPT, decoded
    };
    std::vector<Recipient> recipients_;
    std::string dsn_ret_;    // DSN RET: FULL, HDRS or empty
    std::string dsn_envid_;  // DSN ENVID, decoded
    std::string queue_id_;
    mail::CleanupConversation cleanup_conversation_;
    std::unique_ptr<mail::DataReader> data_;
    long data_size_ = 0;
    bool too_big_ = false;
    bool discard_line_ = false;
    int errors_ = 0;
    long junk_ = 0;  // NOOP, RSET and VRFY commands seen
    std::map<std::string, int> counts_;  // commands seen, for the disconnect line
    std::string pending_reply_;          // held back during an error sleep

public:
    // Facts others read (restrictions): the session is under TLS (set by
    // STARTTLS or wrapper mode), the authenticated user ("" when none).
    bool under_tls() const { return tls_; }
    const std::string& sasl_username() const { return sasl_username_; }

private:
    bool tls_ = false;
    std::string sasl_username_;
    std::string sasl_method_;
    std::string auth_mechanism_;          // of the exchange in progress
    std::unique_ptr<SaslExchange> sasl_;  // the exchange in progress
    bool sasl_stepping_ = false;          // inside sasl_->step
    int auth_ok_ = 0;                     // successful AUTH commands, for the disconnect line
};

}  // namespace kurir::smtpd
