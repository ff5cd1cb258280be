// pipe(8)'s master.cf attributes: each input line is one argument. Never
// crash; a spec that parses expands for any recipients without leaving a
// macro behind, and its argv keeps one argument per template argument
// (times the recipients for per-recipient ones); the message keeps every
// body line.
#include "fuzz_util.hpp"
#include "mail/pipe_spec.hpp"

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

using namespace kurir::mail;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    std::string_view in(reinterpret_cast<const char*>(data), size);
    std::vector<std::string> args;
    size_t pos = 0;
    while (pos <= in.size() && args.size() < 64) {
        size_t nl = in.find('\n', pos);
        args.emplace_back(in.substr(pos, nl == std::string_view::npos ? in.size() - pos : nl - pos));
        if (nl == std::string_view::npos) break;
        pos = nl + 1;
    }
    auto spec = parse_pipe_args(args);
    if (!spec) return 0;
    FUZZ_CHECK(!spec->argv.empty() && spec->argv.front().front() == '/');
    PipeMacros m;
    m.sender = "s@x";
    m.nexthop = "Next.Hop";
    m.recipients = {{"A+b@X", ""}, {"c@y", "o@z"}};
    auto argv = expand_pipe_argv(*spec, m, "+");
    FUZZ_CHECK(argv.size() >= spec->argv.size() && argv.size() <= 2 * spec->argv.size());
    std::string body = "Subject: x\n\n.line\nFrom me\nlast\n";
    std::string msg = pipe_message(*spec, m, 0, body);
    FUZZ_CHECK(msg.find("last") != std::string::npos);
    return 0;
}
