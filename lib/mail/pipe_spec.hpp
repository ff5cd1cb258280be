// pipe(8)'s master.cf attributes and its command line, as pure functions:
//   flags=BDFORXhqu.> user=name[:group] size=N eol=\n null_sender=ADDR
//   directory=/path argv=command arg... (argv= last: the rest is the command)
// and the expansion of ${sender}, ${recipient}, ${user}, ${extension},
// ${mailbox}, ${domain}, ${original_recipient}, ${nexthop}, ${queue_id},
// ${size}, ${client_address}, ${client_hostname}, ${client_helo},
// ${client_protocol}, ${sasl_method}, ${sasl_username} ($name and $(name)
// too). An argument holding a per-recipient macro is repeated once per
// recipient. No shell is involved unless argv names one.
#pragma once

#include "util/result.hpp"

#include <map>
#include <string>
#include <string_view>
#include <vector>

namespace kurir::mail {

struct PipeSpec {
    std::string flags;
    std::string user;
    std::string group;  // empty: the user's login group
    std::vector<std::string> argv;
    long size_limit = 0;  // 0: none
    std::string eol = "\n";
    std::string null_sender = "MAILER-DAEMON";
    std::string directory;
    bool has(char flag) const { return flags.find(flag) != std::string::npos; }
};

util::Result<PipeSpec> parse_pipe_args(const std::vector<std::string>& args);

struct PipeRecipient {
    std::string address;
    std::string original;  // empty: the address
};

struct PipeMacros {
    std::string sender;  // "" is the null sender
    std::string nexthop;
    std::string queue_id;
    long size = 0;
    std::map<std::string, std::string> client;  // client_address, client_helo, sasl_username, ...
    std::vector<PipeRecipient> recipients;
};

// The command line for these recipients (recipient_delimiter splits
// ${user} from ${extension}); flags h, q and u fold or quote as Postfix.
std::vector<std::string> expand_pipe_argv(const PipeSpec& spec, const PipeMacros& macros,
                                          std::string_view delimiters);

// The message as the command reads it: the F, R, D and O flags' lines, the
// content ('.' dot-stuffs, '>' quotes "From " lines), B's blank line, each
// line ended with spec.eol. body is the message's lines, each ending "\n".
std::string pipe_message(const PipeSpec& spec, const PipeMacros& macros, long arrival, std::string_view body);

}  // namespace kurir::mail
