#include "mail/address_list.hpp"

#include "mail/address.hpp"

namespace kurir::mail {
namespace {

// Splits a header value into tokens: quoted strings (kept with quotes),
// angle-bracket contents, specials, and words; comments are dropped.
struct Token {
    enum Kind { word, quoted, angle, special } kind;
    std::string text;
};

std::vector<Token> tokenize(std::string_view v) {
    std::vector<Token> out;
    size_t i = 0;
    while (i < v.size()) {
        char c = v[i];
        if (c == ' ' || c == '\t' || c == '\r' || c == '\n') {
            ++i;
        } else if (c == '(') {
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
            std::string q = "\"";
            for (++i; i < v.size() && v[i] != '"'; ++i) {
                if (v[i] == '\\' && i + 1 < v.size()) q += v[i++];
                q += v[i];
            }
            q += '"';
            ++i;
            out.push_back({Token::quoted, q});
        } else if (c == '<') {
            size_t end = v.find('>', i);
            if (end == std::string_view::npos) end = v.size();
            out.push_back({Token::angle, std::string(v.substr(i + 1, end - i - 1))});
            i = end + 1;
        } else if (c == ',' || c == ':' || c == ';') {
            out.push_back({Token::special, std::string(1, c)});
            ++i;
        } else {
            std::string w;
            while (i < v.size() && !std::string_view(" \t\r\n(\"<,:;").contains(v[i])) w += v[i++];
            out.push_back({Token::word, w});
        }
    }
    return out;
}

void add(std::vector<std::string>& out, std::string_view text) {
    auto a = parse_path("<" + std::string(text) + ">");
    if (a && !a->address.empty()) out.push_back(a->address);
}

}  // namespace

std::vector<std::string> parse_address_list(std::string_view value) {
    std::vector<std::string> out;
    std::vector<Token> toks = tokenize(value);
    // A mailbox is either "phrase <addr>" or a bare addr-spec made of the
    // words and quoted strings up to the next ',' or ';'. "name:" opens a group.
    std::string spec;
    bool had_angle = false;
    int words = 0;
    auto flush = [&] {
        // "John Smith" alone is a phrase, not an address.
        bool phrase = words > 1 && spec.find('@') == std::string::npos;
        if (!had_angle && !spec.empty() && !phrase) add(out, spec);
        spec.clear();
        had_angle = false;
        words = 0;
    };
    for (const auto& t : toks) {
        switch (t.kind) {
            case Token::angle:
                add(out, t.text);
                had_angle = true;
                spec.clear();
                words = 0;
                break;
            case Token::special:
                if (t.text == ":")
                    spec.clear();  // group name
                else
                    flush();
                break;
            default:
                if (!had_angle) {
                    spec += t.text;
                    ++words;
                }
                break;
        }
    }
    flush();
    return out;
}

}  // namespace kurir::mail
