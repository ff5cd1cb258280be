#include "mail/milter_config.hpp"

namespace kurir::mail::milter {

util::Result<MilterConfig> load_milter_config(const Config& cfg, std::string_view list_param) {
    MilterConfig c;
    for (const auto& m : cfg.list(list_param)) {
        if (m.starts_with("{"))
            return util::fail(std::string(list_param) + ": per-milter settings in { } are not supported: " + m);
        if (!m.starts_with("inet:") && !m.starts_with("inet6:") && !m.starts_with("unix:") && !m.starts_with("local:"))
            return util::fail(std::string(list_param) + ": want inet:host:port or unix:/path: " + m);
        c.milters.push_back(m);
    }
    std::string action = cfg.str("milter_default_action");
    if (action == "accept")
        c.default_action = DefaultAction::accept;
    else if (action == "reject")
        c.default_action = DefaultAction::reject;
    else if (action == "tempfail")
        c.default_action = DefaultAction::tempfail;
    else if (action == "quarantine")
        c.default_action = DefaultAction::quarantine;
    else
        return util::fail("milter_default_action: want accept, reject, tempfail or quarantine: \"" + action + "\"");
    c.connect_timeout = cfg.seconds("milter_connect_timeout");
    c.command_timeout = cfg.seconds("milter_command_timeout");
    c.content_timeout = cfg.seconds("milter_content_timeout");
    long protocol = cfg.integer("milter_protocol");
    if (protocol < 2 || protocol > 6) return util::fail("milter_protocol: want 2 to 6: " + std::to_string(protocol));
    c.protocol = static_cast<uint32_t>(protocol);
    constexpr std::array<std::string_view, kMacroStages> kNames{
        "milter_connect_macros", "milter_helo_macros",          "milter_mail_macros",
        "milter_rcpt_macros",    "milter_data_macros",          "milter_end_of_data_macros",
        "milter_end_of_header_macros", "milter_unknown_command_macros"};
    for (size_t i = 0; i < kMacroStages; ++i) c.macros[i] = cfg.list(kNames[i]);
    c.daemon_name = cfg.str("milter_macro_daemon_name");
    c.v = cfg.str("milter_macro_v");
    c.edit_limits = load_edit_limits(cfg);
    return c;
}

std::string default_action_reply(DefaultAction action) {
    switch (action) {
    case DefaultAction::reject: return "550 5.7.1 Command rejected";
    case DefaultAction::tempfail: return "451 4.7.1 Service unavailable - try again later";
    default: return {};
    }
}

uint32_t offered_steps(uint32_t protocol) {
    // Version 2 knows the first seven "no" steps; later versions all of them.
    if (protocol < 6) return 0x7f;
    return step::all & ~step::rcpt_rejected;
}

namespace {
bool field_name_end(std::string_view line, size_t& colon) {
    colon = line.find(':');
    if (colon == std::string_view::npos || colon == 0) return false;
    return is_header_name(line.substr(0, colon));
}
}  // namespace

MilterMessage split_message(std::string_view text, bool leading_space) {
    MilterMessage m;
    auto next_line = [&text](std::string_view& line) {
        if (text.empty()) return false;
        size_t nl = text.find('\n');
        line = text.substr(0, nl);
        text.remove_prefix(nl == std::string_view::npos ? text.size() : nl + 1);
        return true;
    };
    std::string_view line;
    bool have = next_line(line);
    for (; have; have = next_line(line)) {
        if (line.empty()) {
            have = next_line(line);  // the empty line belongs to neither
            break;
        }
        if ((line[0] == ' ' || line[0] == '\t') && !m.headers.empty()) {
            m.headers.back().second += "\n";
            m.headers.back().second += line;
            continue;
        }
        size_t colon = 0;
        if (!field_name_end(line, colon)) break;
        std::string_view value = line.substr(colon + 1);
        if (!leading_space && value.starts_with(' ')) value.remove_prefix(1);
        m.headers.emplace_back(std::string(line.substr(0, colon)), std::string(value));
    }
    m.body.reserve(text.size() + line.size() + 2);
    for (; have; have = next_line(line)) {
        m.body += line;
        m.body += "\r\n";
    }
    return m;
}

MilterMessage split_message(const std::vector<std::string>& lines, bool leading_space) {
    std::string text;
    for (const auto& l : lines) {
        text += l;
        text += '\n';
    }
    return split_message(std::string_view(text), leading_space);
}

}  // namespace kurir::mail::milter
