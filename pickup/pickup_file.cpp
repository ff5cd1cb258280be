#include "pickup/pickup_file.hpp"

#include "mail/address.hpp"
#include "mail/dsn_params.hpp"
#include "mail/queue_file.hpp"
#include "mail/record.hpp"
#include "mail/smtputf8.hpp"

#include <fmt/format.h>

namespace kurir::pickup {

std::expected<PickedUp, std::string> prepare_maildrop_file(const mail::Config& cfg, std::string_view bytes,
                                                           const Submitter& who, bool autodetect_smtputf8) {
    auto env = mail::parse_queue_file(bytes, mail::RecipientsRequired::no);
    if (!env) return std::unexpected(env.error().text);
    // The file's owner is who submitted it; a uid record that says
    // otherwise was not written by kurir-drop for this user.
    std::string claimed = env->attr("uid");
    if (claimed != std::to_string(who.uid))
        return std::unexpected(fmt::format("file owned by uid {} claims uid {}", who.uid, claimed));
    if (env->recipients.empty() && env->attr("extract") != "1")
        return std::unexpected("no recipients");
    if (!env->sender.empty()) {
        if (auto s = mail::parse_address(env->sender); !s) return std::unexpected("bad sender: " + s.error().text);
    }
    for (const auto& r : env->recipients)
        if (auto a = mail::parse_address(r.address); !a) return std::unexpected("bad recipient: " + a.error().text);
    long limit = cfg.integer("message_size_limit");
    if (limit > 0 && static_cast<long>(env->content_end - env->content_offset) > 2 * limit)
        return std::unexpected("message too big");

    PickedUp out;
    out.login = who.login;
    out.sender = env->sender.empty() ? who.login : env->sender;
    mail::rec_append(out.stream, mail::rec::attr, "origin=local");
    mail::rec_append(out.stream, mail::rec::attr, fmt::format("uid={}", who.uid));
    mail::rec_append(out.stream, mail::rec::attr, "protocol=local");
    // sendmail -N and -V, in the forms smtpd's NOTIFY and ENVID take in the
    // stream: a DSN record before each recipient, dsn_envid; cleanup gives
    // the recipients of -t the same notify bits.
    int notify = 0;
    if (std::string v = env->attr("notify"); !v.empty()) {
        auto bits = mail::parse_notify(v);
        if (!bits) return std::unexpected("bad notify: " + bits.error().text);
        notify = *bits;
        if (env->attr("extract") == "1") mail::rec_append(out.stream, mail::rec::attr, fmt::format("notify={}", notify));
    }
    if (std::string v = env->attr("envid"); !v.empty()) {
        if (!mail::valid_envid(v)) return std::unexpected("bad envid");
        mail::rec_append(out.stream, mail::rec::attr, "dsn_envid=" + v);
    }
    for (const auto& name : {"fullname", "extract", "requeue"}) {
        std::string v = env->attr(name);
        if (v.size() > mail::kMaxStreamRecord / 2) return std::unexpected(std::string(name) + " too long");
        if (!v.empty()) mail::rec_append(out.stream, mail::rec::attr, std::string(name) + "=" + v);
    }
    // A user who names another sender with -f is recorded, as Sendmail and
    // Postfix's X-Authentication-Warning do (root and mail_owner are trusted).
    std::string own = who.login;
    std::string given_local(mail::local_part(env->sender));
    bool own_address = env->sender.empty() || env->sender == own ||
                       (given_local == own && (mail::domain_part(env->sender) == cfg.str("myorigin")));
    if (!who.trusted && env->attr("requeue") == "1")
        return std::unexpected("only mail_owner may requeue");
    if (!who.trusted && !own_address)
        mail::rec_append(out.stream, mail::rec::attr,
                         fmt::format("auth_warning={} set sender to {} using -f", own, mail::quote_address(env->sender)));
    // The request a requeued message had (kurir-super -r) stays with it.
    bool smtputf8 = env->attr(mail::kSmtputf8Attr) == "yes";
    if (!smtputf8 && autodetect_smtputf8) {
        std::vector<std::string> rcpts;
        for (const auto& r : env->recipients) rcpts.push_back(r.address);
        std::vector<std::string> headers;
        bool in_headers = true;
        auto scanned = mail::for_each_content_line(bytes, *env, [&](std::string_view line) {
            if (line.empty()) in_headers = false;
            if (in_headers && !mail::all_ascii(line)) headers.emplace_back(line);
        });
        if (!scanned) return std::unexpected(scanned.error().text);
        smtputf8 = mail::needs_smtputf8(out.sender, rcpts, {headers.begin(), headers.end()});
    }
    if (smtputf8) mail::rec_append(out.stream, mail::rec::attr, std::string(mail::kSmtputf8Attr) + "=yes");
    mail::rec_append(out.stream, mail::rec::sender, out.sender);
    for (const auto& r : env->recipients) {
        if (notify != 0) mail::rec_append(out.stream, mail::rec::dsn_notify, std::to_string(notify));
        mail::rec_append(out.stream, mail::rec::rcpt, r.address);
    }
    // What cleanup would refuse with a 4xx for ever is refused here, for
    // good, counted as cleanup counts it.
    size_t envelope = mail::kStreamEnvelopeRecordCost;  // and M, which cleanup counts too
    mail::RecView r;
    for (size_t pos = 0; mail::rec_next(out.stream, pos, r) == mail::RecStatus::ok;)
        envelope += r.data.size() + mail::kStreamEnvelopeRecordCost;
    if (envelope > mail::kMaxStreamEnvelope) return std::unexpected("envelope too large");
    mail::rec_append(out.stream, mail::rec::message, "");
    // The content as lines cut into pieces of 4 KB, as smtpd sends it: the
    // file's own records may be of any size kurir-drop let through, and
    // cleanup takes none over kMaxStreamRecord.
    env->prepended.clear();  // the content alone, as before
    auto copied = mail::for_each_content_line(bytes, *env, [&](std::string_view line) {
        mail::rec_append_line(out.stream, line);
    });
    if (!copied) return std::unexpected(copied.error().text);
    mail::rec_append(out.stream, mail::rec::content_end, "");
    return out;
}

}  // namespace kurir::pickup
