#include "mail/ehlo_keywords.hpp"

#include "mail/address.hpp"

namespace kurir::mail {

bool EhloDiscard::discards(std::string_view keyword) const {
    std::string k = lowercase(keyword);
    for (const auto& d : keywords)
        if (d == k) return true;
    return false;
}

EhloDiscard parse_ehlo_discard(const std::vector<std::string>& list) {
    EhloDiscard d;
    for (const auto& item : list) {
        std::string k = lowercase(item);
        if (k == "silent-discard" || k == "silent_discard")
            d.silent = true;
        else if (!k.empty())
            d.keywords.push_back(std::move(k));
    }
    return d;
}

std::string discard_ehlo_keywords(std::string_view reply, const EhloDiscard& discard,
                                  std::vector<std::string>& dropped) {
    std::vector<std::string_view> lines;
    while (!reply.empty()) {
        size_t end = reply.find("\r\n");
        lines.push_back(reply.substr(0, end));
        reply = end == std::string_view::npos ? std::string_view() : reply.substr(end + 2);
    }
    std::vector<std::string_view> kept;
    for (size_t i = 0; i < lines.size(); ++i) {
        std::string_view text = lines[i].size() > 4 ? lines[i].substr(4) : std::string_view();
        std::string_view keyword = text.substr(0, text.find(' '));
        if (i > 0 && discard.discards(keyword)) {
            dropped.emplace_back(keyword);
            continue;
        }
        kept.push_back(lines[i]);
    }
    std::string out;
    for (size_t i = 0; i < kept.size(); ++i) {
        std::string_view line = kept[i];
        if (line.size() < 4) {
            out += line;
        } else {
            out += line.substr(0, 3);
            out += i + 1 < kept.size() ? '-' : ' ';
            out += line.substr(4);
        }
        if (i + 1 < kept.size()) out += "\r\n";
    }
    return out;
}

}  // namespace kurir::mail
