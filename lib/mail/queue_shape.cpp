#include "mail/queue_shape.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <bit>
#include <cctype>
#include <map>

namespace kurir::mail {
namespace {

struct Row {
    std::vector<long> counts;  // [0] total, [1..bucket_count] by age
    int subdomains = 0;        // -p: distinct subdomains counted under a .parent
};

// The parent of "x.y.example.com" is ".y.example.com", of that
// ".example.com"; a top-level domain is never a parent (qshape's rule).
bool to_parent(std::string& d) {
    size_t start = d.starts_with(".") ? 1 : 0;
    size_t dot = d.find('.', start);
    if (dot == std::string::npos || dot == start) return false;
    if (d.rfind('.') <= dot) return false;  // what is left has no dot: a TLD
    d = d.substr(dot);
    return true;
}

}  // namespace

std::string shape_domain(std::string_view address) {
    if (address.empty()) return "MAILER-DAEMON";
    std::string d;
    for (char c : address) d += static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    if (size_t at = d.rfind('@'); at != std::string::npos) d.erase(0, at + 1);
    std::string collapsed;
    for (size_t i = 0; i < d.size(); ++i) {
        collapsed += d[i];
        if (d[i] == '.' && i + 1 < d.size() && d[i + 1] == '.') ++i;
    }
    if (collapsed.size() > 1 && collapsed.front() == '.') collapsed.erase(0, 1);
    if (collapsed.size() > 1 && collapsed.back() == '.') collapsed.pop_back();
    return collapsed;
}

int shape_bucket(long arrival, long now, const QueueShapeOptions& o) {
    long span = 60L * std::max(o.bucket_minutes, 1);
    long age = now - arrival;
    if (age < span) return 1;
    auto ticks = static_cast<unsigned long>(age / span);  // >= 1
    long b = o.linear ? static_cast<long>(ticks) + 1 : 1 + static_cast<long>(std::bit_width(ticks));
    return static_cast<int>(std::min<long>(b, std::max(o.bucket_count, 1)));
}

std::string format_queue_shape(const std::vector<ListedMessage>& messages, long now, const QueueShapeOptions& o) {
    int nb = std::max(o.bucket_count, 1);
    std::map<std::string, Row> rows;
    Row total;
    total.counts.assign(nb + 1, 0);
    auto row = [&](const std::string& d) -> Row& {
        Row& r = rows[d];
        if (r.counts.empty()) r.counts.assign(nb + 1, 0);
        return r;
    };
    for (const auto& m : messages) {
        int b = shape_bucket(m.arrival_time, now, o);
        std::vector<std::string> addresses;
        if (o.by_sender)
            addresses.push_back(m.sender);
        else
            for (const auto& r : m.recipients) addresses.push_back(r.address);
        for (const auto& a : addresses) {
            ++total.counts[0];
            ++total.counts[b];
            std::string d = shape_domain(a);
            bool child_new = false;
            do {
                Row& r = row(d);
                bool seen = r.counts[0] > 0;
                ++r.counts[0];
                ++r.counts[b];
                if (child_new) ++r.subdomains;
                child_new = !seen;
            } while (o.parents && to_parent(d));
        }
    }
    // Headings and column widths: each column fits its heading and the
    // total, with one space before it and three columns at least.
    std::vector<std::string> heads;
    std::string spec;
    std::vector<int> widths;
    int dw = std::max(o.width, 80);
    long t = 0;
    for (int i = 0; i <= nb; ++i) {
        std::string h = i == 0                                    ? "T"
                        : heads.size() == static_cast<size_t>(nb) ? fmt::format("{}+", t)
                                                                  : std::to_string(t);
        size_t l = std::max(std::to_string(total.counts[i]).size(), h.size());
        int w = l > 2 ? static_cast<int>(l) + 1 : 3;
        heads.push_back(h);
        widths.push_back(w);
        dw -= w;
        if (i + 1 < nb) t += (t != 0 && !o.linear) ? t : std::max(o.bucket_minutes, 1);
    }
    dw = std::max(dw, 18);
    auto line = [&](const std::string& name, const std::vector<std::string>& cells) {
        std::string out;
        size_t w = static_cast<size_t>(dw);
        if (name.size() > w)
            out = name.starts_with(".") ? ".+" + name.substr(name.size() - (w - 2))
                                        : "+" + name.substr(name.size() - (w - 1));
        else
            out = std::string(w - name.size(), ' ') + name;
        for (size_t i = 0; i < cells.size(); ++i) out += fmt::format("{:>{}}", cells[i], widths[i]);
        return out + "\n";
    };
    auto cells = [](const Row& r) {
        std::vector<std::string> c;
        for (long n : r.counts) c.push_back(std::to_string(n));
        return c;
    };
    std::vector<std::pair<std::string, const Row*>> order;
    for (const auto& [d, r] : rows)
        if (!d.starts_with(".") || r.subdomains >= o.min_subdomains) order.emplace_back(d, &r);
    std::stable_sort(order.begin(), order.end(), [](const auto& a, const auto& b) {
        if (a.second->counts[0] != b.second->counts[0]) return a.second->counts[0] > b.second->counts[0];
        return a.first.size() < b.first.size();
    });
    std::string out = line("", heads) + line("TOTAL", cells(total));
    for (const auto& [d, r] : order) out += line(d, cells(*r));
    return out;
}

}  // namespace kurir::mail
