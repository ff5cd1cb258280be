#include "server/master_proto.hpp"

#include <fmt/format.h>

#include <charconv>

namespace kurir::server {

namespace {
constexpr std::string_view kChildStatus = "child-status/1";
}  // namespace

util::Attrs encode_status(const StatusMessage& m) {
    return {{"protocol", std::string(kChildStatus)},
            {"pid", std::to_string(m.pid)},
            {"status", m.status == ChildStatus::available ? "available" : "busy"}};
}

util::Result<StatusMessage> decode_status(const util::Attrs& frame) {
    const auto& items = frame.items();
    auto fail = [](const std::string& what) { return util::fail("child-status: " + what); };
    if (items.empty() || items[0].first != "protocol") return fail("no protocol field");
    if (items[0].second != kChildStatus)
        return fail(fmt::format("protocol \"{}\", expected \"{}\"", items[0].second, kChildStatus));
    const char* names[] = {"pid", "status"};
    for (size_t i = 0; i < 2; ++i) {
        if (items.size() <= i + 1) return fail(fmt::format("missing field {}", names[i]));
        if (items[i + 1].first != names[i])
            return fail(fmt::format("field {} where {} was expected", items[i + 1].first, names[i]));
    }
    if (items.size() > 3) return fail(fmt::format("extra field {}", items[3].first));
    const std::string& p = items[1].second;
    int pid = 0;
    auto [end, ec] = std::from_chars(p.data(), p.data() + p.size(), pid);
    if (p.empty() || ec != std::errc() || end != p.data() + p.size() || pid <= 0)
        return fail(fmt::format("malformed pid: \"{}\"", p));
    const std::string& s = items[2].second;
    if (s != "busy" && s != "available") return fail(fmt::format("malformed status: \"{}\"", s));
    return StatusMessage{static_cast<pid_t>(pid), s == "available" ? ChildStatus::available : ChildStatus::busy};
}

}  // namespace kurir::server
