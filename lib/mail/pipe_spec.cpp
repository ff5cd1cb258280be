#include "mail/pipe_spec.hpp"

#include "mail/address.hpp"
#include "mail/from_line.hpp"

#include <algorithm>
#include <cctype>
#include <array>
#include <set>

namespace kurir::mail {
namespace {

constexpr std::string_view kFlags = "BDFORXhqu.>";

// Macros that differ per recipient: an argument holding one is repeated.
const std::set<std::string, std::less<>> kRecipientMacros{"domain",    "extension", "mailbox",
                                                          "original_recipient", "recipient", "user"};
const std::set<std::string, std::less<>> kMessageMacros{
    "client_address", "client_helo", "client_hostname", "client_port", "client_protocol", "nexthop",
    "queue_id",       "sasl_method", "sasl_sender",     "sasl_username", "sender", "size"};

bool known_macro(std::string_view name) { return kRecipientMacros.contains(name) || kMessageMacros.contains(name); }

struct MacroRef {
    size_t start, end;  // [start, end) in the argument
    std::string name;
};

// The $name, ${name} and $(name) references in an argument; "$$" is a "$".
// An unterminated or empty reference is an error.
util::Result<std::vector<MacroRef>> macro_refs(std::string_view arg) {
    std::vector<MacroRef> refs;
    for (size_t i = 0; i < arg.size(); ++i) {
        if (arg[i] != '$') continue;
        if (i + 1 < arg.size() && arg[i + 1] == '$') {
            refs.push_back({i, i + 2, "$"});
            ++i;
            continue;
        }
        size_t name_at = i + 1, end;
        std::string name;
        if (name_at < arg.size() && (arg[name_at] == '{' || arg[name_at] == '(')) {
            char close = arg[name_at] == '{' ? '}' : ')';
            size_t c = arg.find(close, name_at);
            if (c == std::string_view::npos) return util::fail("unterminated macro in \"" + std::string(arg) + "\"");
            name = std::string(arg.substr(name_at + 1, c - name_at - 1));
            end = c + 1;
        } else {
            end = name_at;
            while (end < arg.size() && (std::isalnum(static_cast<unsigned char>(arg[end])) || arg[end] == '_')) ++end;
            name = std::string(arg.substr(name_at, end - name_at));
        }
        if (name.empty()) return util::fail("empty macro name in \"" + std::string(arg) + "\"");
        refs.push_back({i, end, lowercase(name)});
        i = end - 1;
    }
    return refs;
}

// "\n", "\r\n", "\t" and "\\" in eol=.
std::string unescape(std::string_view v) {
    std::string out;
    for (size_t i = 0; i < v.size(); ++i) {
        if (v[i] == '\\' && i + 1 < v.size()) {
            char c = v[++i];
            out += c == 'n' ? '\n' : c == 'r' ? '\r' : c == 't' ? '\t' : c;
        } else {
            out += v[i];
        }
    }
    return out;
}

// RFC 5321 quoting of a local part that needs it (flag q).
std::string quoted(std::string_view address) { return quote_address(address); }

}  // namespace

util::Result<PipeSpec> parse_pipe_args(const std::vector<std::string>& args) {
    PipeSpec spec;
    bool have_user = false;
    for (size_t i = 0; i < args.size(); ++i) {
        const std::string& a = args[i];
        size_t eq = a.find('=');
        if (eq == std::string::npos) return util::fail("pipe: unknown attribute \"" + a + "\" (want name=value)");
        std::string name = a.substr(0, eq), value = a.substr(eq + 1);
        if (name == "argv") {
            if (value.empty()) return util::fail("pipe: argv= names no command");
            spec.argv.push_back(value);
            for (size_t j = i + 1; j < args.size(); ++j) spec.argv.push_back(args[j]);
            break;
        }
        if (name == "flags") {
            for (char c : value)
                if (kFlags.find(c) == std::string_view::npos)
                    return util::fail(std::string("pipe: unknown flag '") + c + "' in flags=" + value);
            spec.flags = value;
        } else if (name == "user") {
            size_t colon = value.find(':');
            spec.user = value.substr(0, colon);
            if (colon != std::string::npos) spec.group = value.substr(colon + 1);
            if (spec.user.empty() || (colon != std::string::npos && spec.group.empty()))
                return util::fail("pipe: bad user=" + value);
            have_user = true;
        } else if (name == "size") {
            if (value.empty() || value.size() > 15 || value.find_first_not_of("0123456789") != std::string::npos)
                return util::fail("pipe: bad size=" + value);
            spec.size_limit = std::stol(value);
        } else if (name == "eol") {
            spec.eol = unescape(value);
            if (spec.eol.empty()) return util::fail("pipe: empty eol=");
        } else if (name == "null_sender") {
            spec.null_sender = value;
        } else if (name == "directory") {
            if (value.empty() || value.front() != '/') return util::fail("pipe: directory= wants an absolute path");
            spec.directory = value;
        } else {
            return util::fail("pipe: unknown attribute \"" + name + "\"");
        }
    }
    if (!have_user) return util::fail("pipe: missing user= attribute");
    if (spec.argv.empty()) return util::fail("pipe: missing argv= attribute");
    if (spec.argv.front().front() != '/') return util::fail("pipe: argv= wants an absolute path: " + spec.argv.front());
    for (const auto& arg : spec.argv) {
        auto refs = macro_refs(arg);
        if (!refs) return util::fail("pipe: " + refs.error().text);
        for (const auto& r : *refs)
            if (r.name != "$" && !known_macro(r.name)) return util::fail("pipe: unknown macro ${" + r.name + "}");
    }
    return spec;
}

std::vector<std::string> expand_pipe_argv(const PipeSpec& spec, const PipeMacros& m, std::string_view delimiters) {
    auto fold_host = [&](std::string s) { return spec.has('h') ? lowercase(s) : s; };
    auto fold_user = [&](std::string s) { return spec.has('u') ? lowercase(s) : s; };
    auto address = [&](const std::string& a) { return spec.has('q') ? quoted(a) : a; };
    std::map<std::string, std::string, std::less<>> common{
        {"sender", m.sender.empty() ? spec.null_sender : address(m.sender)},
        {"nexthop", fold_host(m.nexthop)},
        {"queue_id", m.queue_id},
        {"size", std::to_string(m.size)}};
    for (const auto& name : kMessageMacros)
        if (!common.contains(name)) {
            auto it = m.client.find(name);
            common.emplace(name, it == m.client.end() ? std::string() : it->second);
        }
    auto per_recipient = [&](const PipeRecipient& r) {
        std::string local(local_part(r.address));
        size_t cut = delimiters.empty() ? std::string::npos : local.find_first_of(delimiters);
        if (cut == 0) cut = std::string::npos;
        std::map<std::string, std::string, std::less<>> v = common;
        // h folds the domain; u folds the local part in recipient, user and mailbox.
        std::string domain = fold_host(std::string(domain_part(r.address)));
        std::string folded_local = fold_user(local);
        std::string rcpt = domain.empty() ? folded_local : folded_local + "@" + domain;
        v["recipient"] = address(rcpt);
        v["original_recipient"] = address(r.original.empty() ? r.address : r.original);
        v["mailbox"] = folded_local;
        v["user"] = fold_user(cut == std::string::npos ? local : local.substr(0, cut));
        v["extension"] = cut == std::string::npos ? "" : local.substr(cut + 1);
        v["domain"] = domain;
        return v;
    };
    auto expand = [](std::string_view arg, const std::map<std::string, std::string, std::less<>>& v) {
        auto refs = macro_refs(arg);  // checked by parse_pipe_args
        std::string out;
        size_t at = 0;
        for (const auto& r : refs ? *refs : std::vector<MacroRef>{}) {
            out.append(arg.substr(at, r.start - at));
            if (r.name == "$") {
                out += '$';
            } else if (auto it = v.find(r.name); it != v.end()) {
                out += it->second;
            }
            at = r.end;
        }
        out.append(arg.substr(at));
        return out;
    };
    std::vector<std::string> argv;
    for (const auto& arg : spec.argv) {
        auto refs = macro_refs(arg);
        bool per = refs && std::any_of(refs->begin(), refs->end(),
                                       [](const MacroRef& r) { return kRecipientMacros.contains(r.name); });
        if (!per) {
            argv.push_back(expand(arg, common));
            continue;
        }
        for (const auto& r : m.recipients) argv.push_back(expand(arg, per_recipient(r)));
    }
    return argv;
}

std::string pipe_message(const PipeSpec& spec, const PipeMacros& m, long arrival, std::string_view body) {
    std::string head;
    if (spec.has('F')) head += from_line(m.sender, arrival);
    if (spec.has('R')) head += "Return-Path: <" + quote_address(m.sender) + ">\n";
    if (spec.has('D') && !m.recipients.empty())
        head += "Delivered-To: " + quote_address(m.recipients.front().address) + "\n";
    if (spec.has('O') && !m.recipients.empty()) {
        const auto& r = m.recipients.front();
        head += "X-Original-To: " + quote_address(r.original.empty() ? r.address : r.original) + "\n";
    }
    std::string out;
    out.reserve(head.size() + body.size() + body.size() / 32);
    auto add_lines = [&](std::string_view text, bool content) {
        size_t pos = 0;
        while (pos < text.size()) {
            size_t nl = text.find('\n', pos);
            size_t len = nl == std::string_view::npos ? text.size() - pos : nl - pos;
            std::string_view line = text.substr(pos, len);
            if (content && spec.has('.') && line.starts_with(".")) out += '.';
            if (content && spec.has('>') && line.starts_with("From ")) out += '>';
            out.append(line);
            out += spec.eol;
            pos += len + 1;
        }
    };
    add_lines(head, false);
    add_lines(body, true);
    if (spec.has('B')) out += spec.eol;
    return out;
}

}  // namespace kurir::mail
