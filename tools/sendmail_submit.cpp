#include "tools/sendmail_submit.hpp"

#include "mail/address.hpp"
#include "mail/address_list.hpp"
#include "mail/dsn_params.hpp"
#include "mail/header.hpp"
#include "mail/record.hpp"

namespace kurir::tools {

namespace {
// A To:, Cc: or Bcc: field longer than this is not read further here (it
// has recipients long before, or none cleanup would find either).
constexpr size_t kMaxRecipientField = 1 << 20;
}  // namespace

util::Result<SendmailOptions> parse_sendmail_args(std::string_view program, const std::vector<std::string>& args) {
    SendmailOptions o;
    if (program == "mailq") o.mode = SendmailMode::print_queue;
    if (program == "newaliases") o.mode = SendmailMode::init_aliases;
    size_t i = 0;
    auto value = [&](const std::string& a, size_t flag_len) -> util::Result<std::string> {
        if (a.size() > flag_len) return a.substr(flag_len);
        if (i + 1 >= args.size()) return util::fail("option " + a + " needs a value");
        return args[++i];
    };
    for (; i < args.size(); ++i) {
        const std::string& a = args[i];
        if (a == "--") {
            ++i;
            break;
        }
        if (a.empty() || a[0] != '-') break;
        if (a == "-t") {
            o.extract = true;
        } else if (a == "-i" || a == "-oi") {
            o.dots_end = false;
        } else if (a.starts_with("-f") || a.starts_with("-r")) {
            auto v = value(a, 2);
            if (!v) return std::unexpected(v.error());
            std::string s = *v;
            if (s.size() >= 2 && s.front() == '<' && s.back() == '>') s = s.substr(1, s.size() - 2);
            if (!s.empty()) {
                auto p = mail::parse_address(s);
                if (!p) return util::fail("bad sender address \"" + s + "\": " + p.error().text);
                s = *p;
            }
            o.sender = s;
        } else if (a.starts_with("-F")) {
            auto v = value(a, 2);
            if (!v) return std::unexpected(v.error());
            o.fullname = *v;
        } else if (a.starts_with("-N")) {
            auto v = value(a, 2);
            if (!v) return std::unexpected(v.error());
            if (!mail::parse_notify(*v)) return util::fail("-N " + *v + ": not never or a list of success, failure, delay");
            o.notify = *v;
        } else if (a.starts_with("-V")) {
            auto v = value(a, 2);
            if (!v) return std::unexpected(v.error());
            if (!mail::valid_envid(*v)) return util::fail("-V: an envelope id is 1 to 100 printable characters");
            o.envid = *v;
        } else if (a.starts_with("-C")) {
            auto v = value(a, 2);
            if (!v) return std::unexpected(v.error());
            o.config_dir = *v;
        } else if (a == "-o") {
            if (i + 1 < args.size()) ++i;  // "-o x": accepted, ignored
        } else if (a.starts_with("-o")) {
            // -oX options of Sendmail: accepted, ignored (-oi is above).
        } else if (a == "-bs") {
            o.mode = SendmailMode::smtp_stdin;
        } else if (a == "-bp") {
            o.mode = SendmailMode::print_queue;
        } else if (a == "-bi" || a == "-I") {
            o.mode = SendmailMode::init_aliases;
        } else if (a == "-bv") {
            o.mode = SendmailMode::verify;
        } else if (a == "-bm" || a == "-bd" || a == "-v" || a == "-n" || a == "-U" || a == "-G" || a == "-Am" ||
                   a == "-Ac") {
            // accepted for compatibility
        } else if (a.starts_with("-q")) {
            o.mode = SendmailMode::flush_queue;
        } else if (a.starts_with("-B") || a.starts_with("-h") || a.starts_with("-R") || a.starts_with("-X") ||
                   a.starts_with("-O")) {
            if (a.size() == 2 && i + 1 < args.size()) ++i;  // accepted with their value, ignored
        } else {
            return util::fail("unknown option " + a);
        }
    }
    for (; i < args.size(); ++i) {
        // An argument may hold a list ("a@b, c@d"), as Sendmail allows.
        for (const auto& r : mail::parse_address_list(args[i])) o.recipients.push_back(r);
        if (mail::parse_address_list(args[i]).empty())
            return util::fail("bad recipient address \"" + args[i] + "\"");
    }
    if (o.mode == SendmailMode::deliver && o.recipients.empty() && !o.extract)
        return util::fail("no recipient addresses found in message header");
    return o;
}

SubmissionWriter::SubmissionWriter(const SendmailOptions& opts) : opts_(opts) {}

std::string SubmissionWriter::envelope() const {
    std::string out;
    if (!opts_.fullname.empty()) mail::rec_append(out, mail::rec::attr, "fullname=" + opts_.fullname);
    if (opts_.extract) mail::rec_append(out, mail::rec::attr, "extract=1");
    if (!opts_.notify.empty()) mail::rec_append(out, mail::rec::attr, "notify=" + opts_.notify);
    if (!opts_.envid.empty()) mail::rec_append(out, mail::rec::attr, "envid=" + opts_.envid);
    mail::rec_append(out, mail::rec::sender, opts_.sender.value_or(""));
    for (const auto& r : opts_.recipients) mail::rec_append(out, mail::rec::rcpt, r);
    mail::rec_append(out, mail::rec::message, "");
    return out;
}

bool SubmissionWriter::line(std::string_view text, std::string& out) {
    if (!text.empty() && text.back() == '\r') text.remove_suffix(1);
    bool first = first_;
    first_ = false;
    if (first && text.starts_with("From ")) return true;  // an mbox From_ line is not part of the message
    if (opts_.dots_end && text == ".") return false;
    if (in_header_ && opts_.extract) header_line(text);
    bytes_ += text.size() + 1;
    mail::rec_append_line(out, text);
    return true;
}

// The header as cleanup reads it for -t: fields and their continuation
// lines up to the first line that is neither.
void SubmissionWriter::header_line(std::string_view text) {
    bool continuation = mail::is_continuation(text);
    if (in_recipient_field_ && continuation && recipient_text_.size() < kMaxRecipientField) {
        recipient_text_.append(text);
        return;
    }
    if (in_recipient_field_ && !mail::parse_address_list(recipient_text_).empty()) header_recipients_ = true;
    in_recipient_field_ = false;
    recipient_text_.clear();
    if (continuation) return;
    if (mail::header_name(text).empty()) {
        in_header_ = false;
        return;
    }
    if (mail::header_is(text, "To") || mail::header_is(text, "Cc") || mail::header_is(text, "Bcc")) {
        in_recipient_field_ = true;
        recipient_text_ = text.substr(text.find(':') + 1);
    }
}

bool SubmissionWriter::without_recipients() const {
    if (!opts_.extract || !opts_.recipients.empty() || header_recipients_) return false;
    return !in_recipient_field_ || mail::parse_address_list(recipient_text_).empty();
}

std::string SubmissionWriter::finish() {
    std::string out;
    mail::rec_append(out, mail::rec::content_end, "");
    return out;
}

}  // namespace kurir::tools
