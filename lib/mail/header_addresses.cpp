#include "mail/header_addresses.hpp"

#include "mail/address.hpp"

#include <array>
#include <vector>

namespace kurir::mail {

HeaderAddressClass header_address_class(std::string_view name) {
    static constexpr std::array<std::string_view, 9> kSender{
        "from",        "sender",        "reply-to",        "errors-to",
        "return-receipt-to", "resent-from", "resent-sender", "resent-reply-to",
        "disposition-notification-to"};
    static constexpr std::array<std::string_view, 7> kRecipient{"to",        "cc",        "bcc",       "apparently-to",
                                                                "resent-to", "resent-cc", "resent-bcc"};
    std::string n = lowercase(name);
    for (auto s : kSender)
        if (n == s) return HeaderAddressClass::sender;
    for (auto r : kRecipient)
        if (n == r) return HeaderAddressClass::recipient;
    return HeaderAddressClass::none;
}

namespace {

// Where each mailbox's address is in the value: the inside of <...>, or the
// words of a bare addr-spec.
struct Span {
    size_t begin, end;
};

std::vector<Span> address_spans(std::string_view v) {
    std::vector<Span> out;
    size_t first = std::string_view::npos, last = 0;
    int words = 0;
    bool at = false, had_angle = false;
    auto flush = [&] {
        // "John Smith" alone is a phrase, not an address.
        if (!had_angle && first != std::string_view::npos && !(words > 1 && !at)) out.push_back({first, last});
        first = std::string_view::npos;
        words = 0;
        at = had_angle = false;
    };
    size_t i = 0;
    while (i < v.size()) {
        char c = v[i];
        if (c == ' ' || c == '\t' || c == '\r' || c == '\n') {
            ++i;
        } else if (c == '(') {  // a comment, nested, with quoted pairs
            int depth = 0;
            for (; i < v.size(); ++i) {
                if (v[i] == '\\') {
                    ++i;
                    continue;
                }
                if (v[i] == '(') ++depth;
                if (v[i] == ')' && --depth == 0) {
                    ++i;
                    break;
                }
            }
        } else if (c == '"') {
            size_t b = i;
            for (++i; i < v.size() && v[i] != '"'; ++i)
                if (v[i] == '\\') ++i;
            i = std::min(i + 1, v.size());
            if (!had_angle) {
                if (first == std::string_view::npos) first = b;
                last = i;
                ++words;
            }
        } else if (c == '<') {
            size_t end = v.find('>', i);
            if (end == std::string_view::npos) end = v.size();
            out.push_back({i + 1, end});
            had_angle = true;
            first = std::string_view::npos;
            i = std::min(end + 1, v.size());
        } else if (c == ',' || c == ';') {
            flush();
            ++i;
        } else if (c == ':') {  // a group's name ends here
            first = std::string_view::npos;
            words = 0;
            at = false;
            ++i;
        } else {
            size_t b = i;
            while (i < v.size() && !std::string_view(" \t\r\n(\"<,:;").contains(v[i])) ++i;
            if (!had_angle) {
                if (first == std::string_view::npos) first = b;
                last = i;
                ++words;
                if (v.substr(b, i - b).find('@') != std::string_view::npos) at = true;
            }
        }
    }
    flush();
    return out;
}

}  // namespace

util::Result<std::string> rewrite_address_list(std::string_view value, const AddressRewrite& rewrite) {
    std::string out;
    size_t done = 0;
    for (const auto& s : address_spans(value)) {
        std::string_view text = value.substr(s.begin, s.end - s.begin);
        auto parsed = parse_path("<" + std::string(text) + ">");
        if (!parsed || parsed->address.empty()) continue;
        auto changed = rewrite(parsed->address);
        if (!changed) return std::unexpected(changed.error());
        if (*changed == parsed->address) continue;
        out.append(value.substr(done, s.begin - done));
        out += quote_address(*changed);
        done = s.end;
    }
    out.append(value.substr(done));
    return out;
}

}  // namespace kurir::mail
