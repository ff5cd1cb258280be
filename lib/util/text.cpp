#include "util/text.hpp"

namespace kurir::util {

std::string_view trim(std::string_view s) {
    auto space = [](char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\n'; };
    while (!s.empty() && space(s.front())) s.remove_prefix(1);
    while (!s.empty() && space(s.back())) s.remove_suffix(1);
    return s;
}

int line_number_at(std::string_view text, size_t offset) {
    int line = 1;
    for (size_t i = 0; i < offset && i < text.size(); ++i) line += text[i] == '\n';
    return line;
}

std::vector<LogicalLine> logical_lines(std::string_view text) {
    std::vector<LogicalLine> out;
    int lineno = 0;
    size_t pos = 0;
    while (pos <= text.size()) {
        size_t nl = text.find('\n', pos);
        std::string_view line = text.substr(pos, nl == std::string_view::npos ? std::string_view::npos : nl - pos);
        ++lineno;
        std::string_view t = trim(line);
        if (!t.empty() && t.front() != '#') {
            bool continues = line.front() == ' ' || line.front() == '\t';
            if (continues && !out.empty())
                out.back().text += " " + std::string(t);
            else
                out.push_back({std::string(t), lineno});
        }
        if (nl == std::string_view::npos) break;
        pos = nl + 1;
    }
    return out;
}

std::string lowercase(std::string_view s) {
    std::string out(s);
    for (char& c : out)
        if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
    return out;
}

}  // namespace kurir::util
