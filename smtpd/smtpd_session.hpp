// One SMTP session: the protocol state machine over a client connection and,
// during DATA, a record stream to cleanup. Many sessions share one loop.
#pragma once

#include "mail/bdat.hpp"
#include "mail/clients.hpp"
#include "mail/ehlo_keywords.hpp"
#include "mail/maps.hpp"
#include "mail/domain_list.hpp"
#include "mail/local_recipients.hpp"
#include "mail/relay_recipients.hpp"
#include "mail/address_map.hpp"
#include "server/dns_channel.hpp"
#include "mail/restrictions.hpp"
#include "mail/smtp_command.hpp"
#include "server/attr_conn.hpp"
#include "server/kept_conns.hpp"
#include "server/server.hpp"
#include "server/tls_server.hpp"
#include "smtpd/smtpd_anvil.hpp"
#include "smtpd/smtpd_milter.hpp"
#include "smtpd/smtpd_dkim.hpp"
#include "smtpd/smtpd_dkim_content.hpp"
#include "smtpd/smtpd_sasl.hpp"
#include "util/attr.hpp"
#include "util/cidr.hpp"
#include "util/socket.hpp"

#include <map>
#include <memory>
#include <functional>
#include <string>
#include <vector>

struct bufferevent;
struct event;

namespace kurir::smtpd {

// The access tables of check_*_access, each opened at first use and
// reopened when kurir-map rebuilds it.
class AccessTables {
public:
    const mail::MapList& get(const mail::Config& cfg, const std::string& table) const;

private:
    mutable std::map<std::string, mail::WatchedMaps, std::less<>> tables_;
};

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
    long session_time_limit = 0;  // seconds, 0: none
    // smtpd_forbid_bare_newline = reject: a command or message line ended
    // by a bare LF gets bare_newline_reject_code and the session ends,
    // unless the client is in smtpd_forbid_bare_newline_exclusions.
    bool reject_bare_newline = false;
    long bare_newline_reject_code = 550;
    std::vector<util::Cidr> bare_newline_exclusions;
    bool smtputf8_enable = true;   // SMTPUTF8 offered (smtputf8_enable)
    bool strict_smtputf8 = false;  // UTF-8 addresses only after MAIL FROM's SMTPUTF8
    mail::EhloDiscard discard_ehlo;  // smtpd_discard_ehlo_keywords
    // local_recipient_maps: who exists in the local domains.
    mail::LocalRecipients local_recipients;
    // relay_domains and relay_recipient_maps, virtual_mailbox_domains and
    // virtual_mailbox_maps: the domains relayed to and hosted without
    // accounts, and who exists in them.
    mutable mail::WatchedDomainList relay_domains{"relay_domains"};
    mail::RecipientTable relay_recipients;
    mutable mail::WatchedDomainList virtual_mailbox_domains{"virtual_mailbox_domains", false};
    mail::RecipientTable virtual_recipients;
    // virtual_alias_domains and virtual_alias_maps: an address a table
    // knows exists, whatever its domain; one in an alias domain that no
    // table knows does not (smtpd_virtual_alias.cpp).
    mutable mail::WatchedDomainList virtual_alias_domains{"virtual_alias_domains", false};
    std::shared_ptr<mail::AddressMapTable> virtual_alias_maps = std::make_shared<mail::AddressMapTable>("virtual_alias_maps");
    mail::RestrictionPolicy restrictions;  // smtpd_*_restrictions and their classes
    AccessTables access_tables;
    bool reject_unlisted_recipient = true;  // smtpd_reject_unlisted_recipient
    // The process's DNS channel for the restrictions that ask DNS, made at
    // first use (shared: the policy is const).
    std::shared_ptr<std::unique_ptr<server::DnsChannel>> dns = std::make_shared<std::unique_ptr<server::DnsChannel>>();
    // smtpd_sender_login_maps, reopened when rebuilt.
    mutable mail::WatchedMaps sender_login_maps{"smtpd_sender_login_maps"};
    bool helo_required = false;
    // TLS when smtpd_tls_security_level or smtpd_tls_wrappermode asks for
    // it (smtpd_tls.cpp); null otherwise.
    std::shared_ptr<server::TlsServer> tls;
    long connection_count_limit = 0;       // smtpd_client_connection_count_limit, 0: none
    struct Rates {                         // smtpd_client_*_rate_limit, 0: none
        long connection = 0, message = 0, recipient = 0, newtls = 0, auth = 0;
    } rates;
    std::vector<util::Cidr> limit_exceptions;  // smtpd_client_event_limit_exceptions
    // The process's one connection to anvil (shared: the policy is const).
    std::shared_ptr<AnvilClient> anvil = std::make_shared<AnvilClient>();
    // The process's connections to cleanup between messages, each answered
    // and kept for the next message of any session (smtpd_data.cpp); shared:
    // the policy is const. They go before the loop does.
    std::shared_ptr<server::KeptConns> cleanup_conns = std::make_shared<server::KeptConns>();
    // SMTP AUTH (smtpd_auth.cpp)
    bool sasl_enable = false;
    bool tls_auth_only = true;
    std::shared_ptr<SaslServer> sasl;  // set when sasl_enable
    mail::milter::MilterConfig milters;  // smtpd_milters and the milter_* settings (smtpd_milter.hpp)
    DkimVerifyPolicy dkim;             // smtpd_dkim_verify (smtpd_dkim.cpp)
};

util::Result<SmtpdPolicy> load_policy(const mail::Config& cfg);
util::Result<void> load_sasl_policy(const mail::Config& cfg, SmtpdPolicy& p);
// The TLS server for cfg's settings, from the credentials master passed on
// server::kTlsFd (or, run without them, from the files); null when TLS is
// off. Run before privileges are dropped.
util::Result<std::shared_ptr<server::TlsServer>> load_tls(const mail::Config& cfg);
// A list of clients (smtpd_client_event_limit_exceptions,
// smtpd_forbid_bare_newline_exclusions): addresses and networks (hostname
// patterns and tables are not supported: an error naming the entry).
util::Result<std::vector<util::Cidr>> load_client_networks(const mail::Config& cfg, const std::string& param);

// The "with" of the Received: header and the proto= of log lines, RFC 3848:
// SMTP, ESMTP, ESMTPS (TLS), ESMTPA (authenticated), ESMTPSA (both).
std::string_view received_protocol(bool esmtp, bool tls, bool authenticated);

class Session {
public:
    static void start(server::ServerContext& ctx, const SmtpdPolicy& policy, util::Fd fd, server::ClientDone done);

private:
    Session(server::ServerContext& ctx, const SmtpdPolicy& policy, server::ClientDone done);
    ~Session();
    static void on_client_read(bufferevent*, void*);
    static void on_client_write(bufferevent*, void*);
    static void on_reply_written(int, short, void*);
    static void on_client_event(bufferevent*, short, void*);
    static void on_delay(int, short, void*);
    static void on_session_deadline(int, short, void*);

    void admit();
    void greet();
    void process_input();
    bool may_read() const;
    void resume_reading();
    void handle_command(std::string_view line);
    void handle_data_bytes();
    void finish_data();
    void reply(std::string_view text);
    void after_this_turn();  // on_client_write runs once the current callback has returned
    void error_reply(std::string_view text);
    void count_junk();
    void too_many_errors();
    void close_after_reply();
    void close_now(std::string_view last_reply);
    void close();
    void reset_transaction();
    bool open_cleanup(bool may_reuse = true);
    void abort_cleanup();
    void release_cleanup();
    void cleanup_retry();
    bool cleanup_full() const;
    void cleanup_said(const util::Attrs& frame);
    void cleanup_failed(std::string_view what);
    void cleanup_drained();
    void send_record(char type, std::string_view data);
    std::string client_id() const;
    std::string service_name() const;

    void do_helo(const mail::SmtpCommand& cmd, bool esmtp);
    void do_starttls(const mail::SmtpCommand& cmd);
    bool start_tls();
    void tls_handshake_done();
    bool refuse_before_tls();
    void flush_raw();
    std::string tls_error(short what) const;
    std::string_view protocol() const;
    void do_mail(const mail::SmtpCommand& cmd);
    void do_rcpt(const mail::SmtpCommand& cmd);
    void do_data();
    bool start_message();
    void send_held_records();  // the envelope start_message held back, with what came since
    // CHUNKING (smtpd_bdat.cpp; the bytes in smtpd_data.cpp)
    void do_bdat(const mail::SmtpCommand& cmd);
    void skip_bdat_chunk(const mail::BdatCommand& chunk);
    void fail_bdat(const mail::BdatCommand& chunk);
    void handle_bdat_bytes();
    void bdat_chunk_done();
    void finish_bdat_content();
    void bdat_record(mail::BdatReader::Kind kind, std::string_view text);
    bool chunking_offered() const;
    util::Result<std::optional<std::vector<std::string>>> sender_owners(std::string_view sender) const;
    void do_auth(const mail::SmtpCommand& cmd);
    void auth_line(std::string_view line);
    void auth_step(std::optional<std::string> response);
    void auth_outcome(SaslOutcome outcome);
    std::string auth_ehlo_line() const;
    size_t line_limit(std::string_view start) const;
    void auth_abandon();
    void reject_log(std::string_view stage, std::string_view reply_text, std::string_view to);
    void policy_log(std::string_view action, std::string_view command, std::string_view text, std::string_view to);
    mail::SmtpFacts facts() const;
    mail::SmtpFacts sender_facts() const;  // facts() and whether the sender's domain is ours
    void check_connect();
    void note_pipelining(mail::SmtpVerb verb);
    bool limits_exempt() const;
    bool bare_newline_refused() const;  // smtpd_forbid_bare_newline = reject applies to this client
    void refuse_bare_newline(std::string_view command);
    bool rate_limited(mail::proto::AnvilRequest::Kind kind, std::function<void()> again);
    // again: the command's handler, run once more when a DNS answer the
    // check asked for has come.
    bool restricted(mail::SmtpStage stage, mail::SmtpFacts f, std::string_view to, std::function<void()> again);
    void ask_dns(const mail::DnsQuestion& question, std::function<void()> again);
    util::Result<server::DnsChannel*> dns_channel();
    bool access_denied();
    // smtpd_milters (smtpd_milter_stages.cpp): the connect stage before the
    // greeting (true: greet runs again after it); a stage before a
    // command's answer: go when the milters let it pass, refused after
    // their refusal (which is replied); the end of message before cleanup's
    // commit (true: it runs, commit_message or a refusal follows).
    bool start_milters();
    void with_milters(std::string_view command, std::string to, std::function<void(SmtpdMilters::Done)> ask,
                      std::function<void()> go, std::function<void()> refused = {});
    std::optional<std::string> milter_macro(std::string_view name) const;
    void milter_content(char type, std::string_view data);
    bool end_of_data_milters();
    void send_milter_edits(const std::vector<mail::milter::Reply>& edits);
    void commit_message();
    void helo_reply(bool esmtp);
    void begin_data();
    // DKIM verification (smtpd_dkim.cpp): decided at the start of a
    // message; its content goes to cleanup through forward_content; at the
    // end, verify_dkim looks up the keys, sends the Authentication-Results
    // field, then runs `then`.
    void start_dkim();
    void forward_content(char type, std::string_view text);
    void verify_dkim(std::function<void()> then);
    void finish_dkim();
    void log_dkim();
    static void on_dkim_timeout(int, short, void*);

    // auth_response: waiting for the client's answer to a 334;
    // auth_waiting: waiting for the SASL backend.
    // checking: a restriction waits for a DNS answer, a rate limit for anvil.
    // bdat: reading a BDAT chunk's bytes.
    enum class State { command, data, waiting_cleanup, closing, auth_response, auth_waiting, checking, bdat };

    server::ServerContext& ctx_;
    const SmtpdPolicy& policy_;
    server::ClientDone done_;
    bufferevent* client_ = nullptr;
    server::AttrConn* cleanup_ = nullptr;  // during DATA and until cleanup's reply
    event* delay_ = nullptr;
    event* deadline_ = nullptr;  // smtpd_session_time_limit
    event* written_ = nullptr;   // on_client_write's turn after a reply reply() wrote itself
    util::Peer peer_;
    std::string helo_;
    std::string sasl_username_;  // empty until AUTH succeeds
    std::string sender_;
    struct Recipient {
        std::string address;
        int notify = 0;      // DSN NOTIFY bits
        std::string orcpt;   // DSN ORCPT, decoded
        std::string original;  // the address the client gave, when address is what it stands for (SRS)
    };
    std::vector<Recipient> recipients_;
    std::string dsn_ret_;    // DSN RET: FULL, HDRS or empty
    std::string dsn_envid_;  // DSN ENVID, decoded
    std::string queue_id_;
    // smtpd_delay_reject = no and the client restrictions refused at
    // connect: every command but QUIT, NOOP, RSET and HELP gets this.
    std::string connect_refusal_;
    mail::DnsAnswers dns_answers_;  // for the restrictions, this session's
    long command_serial_ = 0;  // commands read so far
    long rate_checked_ = -1;   // the command anvil counted already (it runs again after the answer)
    // Made when the session first opens cleanup (an idle session never
    // does: the bench's idle scenario counts every byte of a session).
    std::unique_ptr<mail::CleanupConversation> cleanup_conversation_;
    // cleanup_ is a kept connection (server/kept_conns.hpp): until cleanup's
    // hello, what was sent on it is kept in cleanup_replay_, to go once more
    // on a new connection if cleanup closed the kept one unread.
    std::string cleanup_replay_;
    std::unique_ptr<mail::DataReader> data_;
    long data_size_ = 0;
    // BDAT: the transaction's content reader (set: the message goes by
    // BDAT), the chunk being read, its size, the message's size so far (and
    // the flags below: whether the chunk is dropped, whether it is the last,
    // whether one failed, after which later ones are dropped until one with
    // LAST, as Postfix).
    std::unique_ptr<mail::BdatReader> bdat_;
    mail::BdatChunk bdat_chunk_;
    uint64_t bdat_size_ = 0;
    uint64_t bdat_total_ = 0;
    uint64_t bdat_content_ = 0;  // the message as Postfix counts it: each line + 2
    std::unique_ptr<DkimContent> dkim_;            // the message is verified
    std::shared_ptr<DkimLookups> dkim_lookups_;   // its keys are being looked up
    std::vector<std::string> dkim_log_;           // its log lines, until the queue id is known
    long junk_ = 0;  // NOOP, RSET and VRFY commands seen
    std::map<std::string, int> counts_;  // commands seen, for the disconnect line
    std::string pending_reply_;          // held back during an error sleep
    std::string early_answer_;           // cleanup's refusal that came before the end of DATA
    std::string tls_info_;               // "TLSv1.3 with cipher ... (256/256 bits)"
    std::unique_ptr<SmtpdMilters> milters_;  // when smtpd_milters is set
    std::string milter_text_;  // the message's lines for the end of message, each ended by "\n"
    size_t prepended_bytes_ = 0;             // the P records sent (the milters' header budget)
    std::string milter_rcpt_;                // {rcpt_addr} during the RCPT stage
    // The small ones together (no padding between them).
    State state_ = State::command;
    int errors_ = 0;
    bool esmtp_ = false;
    bool have_mail_ = false;
    bool smtputf8_ = false;  // MAIL FROM:<...> SMTPUTF8 (mail/smtputf8.hpp)
    bool hold_ = false;     // an access table said HOLD: cleanup puts the message on hold
    bool discard_ = false;  // ... DISCARD: cleanup accepts and drops it
    bool unauth_pipelining_ = false;  // see mail::SmtpFacts
    bool cleanup_reused_ = false;  // cleanup_ was a kept connection
    bool cleanup_ended_ = false;  // the end record went to cleanup
    bool too_big_ = false;
    bool discard_line_ = false;
    bool bdat_discard_ = false;
    bool bdat_last_ = false;
    bool bdat_failed_ = false;
    bool tls_active_ = false;            // client_ is the TLS filter over the socket
    bool tls_established_ = false;       // ... and its handshake is done
    bool milter_line_open_ = false;          // the last of milter_text_'s lines continues (an L record)
    bool collect_lines_ = false;
    bool milter_wait_hello_ = false;         // the end of message waits for cleanup's queue id
    bool milter_data_passed_ = false;        // BDAT: the DATA stage is done for this transaction
    bool anvil_counted_ = false;         // anvil counts this session: count it off at the end
    std::shared_ptr<bool> alive_ = std::make_shared<bool>(true);  // for answers that outlive it

public:
    // Facts others read (restrictions): the session is under TLS (set by
    // STARTTLS or wrapper mode), the authenticated user ("" when none).
    bool under_tls() const { return tls_active_; }
    const std::string& sasl_username() const { return sasl_username_; }

private:
    std::string sasl_method_;
    std::string auth_mechanism_;          // of the exchange in progress
    std::unique_ptr<SaslExchange> sasl_;  // the exchange in progress
    int auth_ok_ = 0;                     // successful AUTH commands, for the disconnect line
    bool sasl_stepping_ = false;          // inside sasl_->step
};

}  // namespace kurir::smtpd
