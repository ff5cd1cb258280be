#include "mail/milter_edit.hpp"

#include "mail/address.hpp"
#include "mail/milter_proto.hpp"

#include <charconv>

namespace kurir::mail {

std::optional<MilterEdit> milter_edit_of(const milter::Reply& r) {
    using milter::ReplyKind;
    switch (r.kind) {
    case ReplyKind::add_header: return MilterEdit{'h', 0, r.name, r.value};
    case ReplyKind::insert_header: return MilterEdit{'i', r.index, r.name, r.value};
    case ReplyKind::change_header: return MilterEdit{'m', r.index, r.name, r.value};
    case ReplyKind::replace_body: return MilterEdit{'b', 0, r.body, {}};
    case ReplyKind::add_rcpt:
    case ReplyKind::add_rcpt_par: return MilterEdit{'+', 0, r.address, r.params};
    case ReplyKind::delete_rcpt: return MilterEdit{'-', 0, r.address, {}};
    case ReplyKind::change_from: return MilterEdit{'e', 0, r.address, r.params};
    default: return std::nullopt;
    }
}

std::string encode_milter_edit(const MilterEdit& e) {
    std::string out(1, e.op);
    switch (e.op) {
    case 'i':
    case 'm':
        out += std::to_string(e.index);
        out.push_back('\0');
        out += e.first;
        out.push_back('\0');
        out += e.second;
        break;
    case 'h':
    case '+':
    case 'e':
        out += e.first;
        out.push_back('\0');
        out += e.second;
        break;
    default: out += e.first;
    }
    return out;
}

util::Result<MilterEdit> decode_milter_edit(std::string_view data) {
    if (data.empty()) return util::fail("milter edit: empty");
    MilterEdit e;
    e.op = data[0];
    data.remove_prefix(1);
    auto split = [](std::string_view& rest, std::string_view& field) {
        size_t nul = rest.find('\0');
        if (nul == std::string_view::npos) return false;
        field = rest.substr(0, nul);
        rest.remove_prefix(nul + 1);
        return true;
    };
    std::string_view a;
    switch (e.op) {
    case 'h':
    case 'i':
    case 'm': {
        if (e.op != 'h') {
            std::string_view index;
            if (!split(data, index)) return util::fail("milter edit: want index, name and value");
            auto [end, ec] = std::from_chars(index.data(), index.data() + index.size(), e.index);
            if (ec != std::errc() || end != index.data() + index.size() || index.empty() ||
                (index.size() > 1 && index[0] == '0'))  // one spelling per index
                return util::fail("milter edit: bad header index");
        }
        if (!split(data, a) || data.find('\0') != std::string_view::npos)
            return util::fail("milter edit: want a header name and value");
        if (!milter::is_header_name(a) || !milter::is_folded_header_value(data))
            return util::fail("milter edit: bad header field");
        e.first = a;
        e.second = data;
        return e;
    }
    case '+':
    case 'e':
        if (!split(data, a) || data.find('\0') != std::string_view::npos)
            return util::fail("milter edit: want address and parameters");
        if (!milter::is_envelope_address(a) || (e.op == '+' && (a == "<>" || a.find_first_not_of("<> ") == a.npos)))
            return util::fail("milter edit: bad address");
        {  // "<local@domain>" or a bare address ("<>" a null sender): nothing else
            std::string_view bare = a;
            if (bare.size() >= 2 && bare.front() == '<' && bare.back() == '>') bare = bare.substr(1, bare.size() - 2);
            if (!(e.op == 'e' && bare.empty()) && !mail::parse_address(bare))
                return util::fail("milter edit: bad address");
        }
        for (char c : data)
            if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f) return util::fail("milter edit: bad parameters");
        e.first = a;
        e.second = data;
        return e;
    case '-':
        if (!milter::is_envelope_address(data) || data.find_first_not_of("<> ") == data.npos)
            return util::fail("milter edit: bad address");
        e.first = data;
        return e;
    case 'b': e.first = data; return e;
    case 'q':
        for (char c : data)
            if (static_cast<unsigned char>(c) < 0x20 && c != '\t') return util::fail("milter edit: bad reason");
        e.first = data;
        return e;
    default: return util::fail("milter edit: unknown edit");
    }
}

std::string milter_header_field(std::string_view name, std::string_view value) {
    std::string out(name);
    out += ':';
    if (!value.starts_with(' ') && !value.starts_with('\t')) out += ' ';
    std::string_view rest = value;
    bool first = true;
    while (true) {
        size_t nl = rest.find('\n');
        std::string_view line = rest.substr(0, nl);
        if (line.ends_with('\r')) line.remove_suffix(1);
        if (first || line.find_first_not_of(" \t") != std::string_view::npos) {
            if (!first) out += '\n';
            out += line;
        }
        first = false;
        if (nl == std::string_view::npos) break;
        rest.remove_prefix(nl + 1);
    }
    return out;
}

}  // namespace kurir::mail
