#include "mail/master_cf.hpp"

#include "mail/config.hpp"
#include "util/text.hpp"

#include <fmt/format.h>

#include <algorithm>

namespace kurir::mail {
namespace {

constexpr long kMaxField = 1000000;  // wakeup seconds and maxproc


util::Result<bool> flag(const std::string& w, bool dflt, std::string_view column) {
    if (w == "-") return dflt;
    if (w == "y") return true;
    if (w == "n") return false;
    return util::fail(fmt::format("bad {} field \"{}\" (want y, n or -)", column, w));
}

}  // namespace

std::vector<std::string> master_cf_fields(std::string_view s) {
    std::vector<std::string> out;
    std::string cur;
    for (char c : s) {
        if (c == ' ' || c == '\t' || c == '\r' || c == '\n') {
            if (!cur.empty()) out.push_back(std::move(cur));
            cur.clear();
        } else {
            cur += c;
        }
    }
    if (!cur.empty()) out.push_back(std::move(cur));
    return out;
}

util::Result<std::vector<ServiceEntry>> parse_master_cf(std::string_view text, const std::string& file) {
    if (size_t nul = text.find('\0'); nul != std::string_view::npos)
        return util::fail(fmt::format("{}:{}: NUL byte", file, util::line_number_at(text, nul)));
    std::vector<ServiceEntry> out;
    for (const auto& logical : util::logical_lines(text)) {
        const std::string& line = logical.text;
        int no = logical.line;
        auto err = [&](const std::string& what) {
            return util::fail(fmt::format("{}:{}: {}", file, no, what));
        };
        auto w = master_cf_fields(line);
        if (w.size() < 8) return err("expected 8 or more fields: service type private unpriv chroot wakeup maxproc command");
        ServiceEntry e;
        e.line = no;
        e.name = w[0];
        if (w[1] == "inet")
            e.type = ServiceType::inet;
        else if (w[1] == "unix")
            e.type = ServiceType::unix_stream;
        else
            return err(fmt::format("unsupported service type \"{}\" (want inet or unix)", w[1]));
        if (e.type == ServiceType::unix_stream &&
            (e.name.find('/') != std::string::npos || e.name == "." || e.name == ".."))
            return err(fmt::format("bad unix service name \"{}\"", e.name));
        auto p = flag(w[2], true, "private");
        auto u = flag(w[3], true, "unpriv");
        auto c = flag(w[4], false, "chroot");
        if (!p) return err(p.error().text);
        if (!u) return err(u.error().text);
        if (!c) return err(c.error().text);
        e.private_ = e.type == ServiceType::inet ? false : *p;
        e.unprivileged = *u;
        e.chroot = *c;
        std::string wake = w[5];
        if (!wake.empty() && wake.back() == '?') wake.pop_back();
        if (wake != "-") {
            auto n = parse_integer(wake);
            if (!n || *n < 0 || *n > kMaxField) return err(fmt::format("bad wakeup field \"{}\"", w[5]));
            e.wakeup = static_cast<int>(*n);
        }
        if (w[6] != "-") {
            auto n = parse_integer(w[6]);
            if (!n || *n < 0 || *n > kMaxField) return err(fmt::format("bad maxproc field \"{}\"", w[6]));
            e.maxproc = static_cast<int>(*n);
        }
        e.command = w[7];
        if (e.command.find('/') != std::string::npos || e.command.starts_with("."))
            return err(fmt::format("bad command name \"{}\"", e.command));
        e.args.assign(w.begin() + 8, w.end());
        for (const auto& prev : out)
            if (prev.name == e.name && prev.type == e.type)
                return err(fmt::format("duplicate service \"{}\"", e.name));
        out.push_back(std::move(e));
    }
    return out;
}

int effective_maxproc(const ServiceEntry& e, long default_process_limit) {
    long limit = std::clamp(default_process_limit, 1L, kMaxField);
    if (e.maxproc < 0) return static_cast<int>(limit);
    if (e.maxproc == 0) return static_cast<int>(limit * kMaxprocZeroFactor);
    return e.maxproc;
}

}  // namespace kurir::mail
