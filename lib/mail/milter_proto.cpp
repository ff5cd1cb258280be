#include "mail/milter_proto.hpp"

#include "mail/address.hpp"

namespace kurir::mail::milter {
namespace {

void put_u32(std::string& out, uint32_t v) {
    out.push_back(static_cast<char>(v >> 24));
    out.push_back(static_cast<char>(v >> 16));
    out.push_back(static_cast<char>(v >> 8));
    out.push_back(static_cast<char>(v));
}

uint32_t get_u32(std::string_view in) {
    return static_cast<uint32_t>(static_cast<unsigned char>(in[0])) << 24 |
           static_cast<uint32_t>(static_cast<unsigned char>(in[1])) << 16 |
           static_cast<uint32_t>(static_cast<unsigned char>(in[2])) << 8 |
           static_cast<uint32_t>(static_cast<unsigned char>(in[3]));
}

void put_string(std::string& out, std::string_view s) {
    out.append(s);
    out.push_back('\0');
}

// The NUL-terminated strings of a reply's data, exactly `count` of them
// and nothing after the last NUL.
util::Result<std::vector<std::string_view>> strings(std::string_view data, size_t count, std::string_view what) {
    std::vector<std::string_view> out;
    while (out.size() < count) {
        size_t nul = data.find('\0');
        if (nul == std::string_view::npos) return util::fail("milter " + std::string(what) + ": unterminated string");
        out.push_back(data.substr(0, nul));
        data.remove_prefix(nul + 1);
    }
    if (!data.empty()) return util::fail("milter " + std::string(what) + ": data after the last string");
    return out;
}

std::string describe(char c) {
    if (c >= 0x21 && c <= 0x7e) return std::string("'") + c + "'";
    static constexpr char kHex[] = "0123456789abcdef";
    unsigned char u = static_cast<unsigned char>(c);
    return std::string("0x") + kHex[u >> 4] + kHex[u & 15];
}

util::Result<Reply> header_reply(ReplyKind kind, std::string_view data, bool indexed, std::string_view what) {
    Reply r;
    r.kind = kind;
    if (indexed) {
        if (data.size() < 4) return util::fail("milter " + std::string(what) + ": no header index");
        r.index = get_u32(data);
        data.remove_prefix(4);
    }
    auto parts = strings(data, 2, what);
    if (!parts) return std::unexpected(parts.error());
    if (!is_header_name((*parts)[0])) return util::fail("milter " + std::string(what) + ": bad header name");
    if (!is_folded_header_value((*parts)[1]))
        return util::fail("milter " + std::string(what) + ": header value starts a new line");
    r.name = (*parts)[0];
    r.value = (*parts)[1];
    return r;
}

util::Result<Reply> address_reply(ReplyKind kind, std::string_view data, size_t min_strings, size_t max_strings,
                                  std::string_view what) {
    size_t nuls = 0;
    for (char c : data) nuls += c == '\0';
    if (nuls < min_strings || nuls > max_strings)
        return util::fail("milter " + std::string(what) + ": want an address and at most " +
                          std::to_string(max_strings - 1) + " parameter string");
    auto parts = strings(data, nuls, what);
    if (!parts) return std::unexpected(parts.error());
    Reply r;
    r.kind = kind;
    if (!is_envelope_address((*parts)[0])) return util::fail("milter " + std::string(what) + ": bad address");
    if (kind != ReplyKind::delete_rcpt) {  // "<local@domain>" or bare; "<>" only as a sender
        std::string_view bare = (*parts)[0];
        if (bare.size() >= 2 && bare.front() == '<' && bare.back() == '>') bare = bare.substr(1, bare.size() - 2);
        if (!(kind == ReplyKind::change_from && bare.empty()) && !parse_address(bare))
            return util::fail("milter " + std::string(what) + ": bad address");
    }
    r.address = (*parts)[0];
    if (parts->size() > 1) {
        for (char c : (*parts)[1])
            if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f)
                return util::fail("milter " + std::string(what) + ": control character in the parameters");
        r.params = (*parts)[1];
    }
    return r;
}

}  // namespace

std::string encode_packet(char command, std::string_view data) {
    std::string out;
    out.reserve(5 + data.size());
    put_u32(out, static_cast<uint32_t>(data.size() + 1));
    out.push_back(command);
    out.append(data);
    return out;
}

util::Result<std::optional<Packet>> take_packet(std::string& buffer, size_t max_size) {
    if (buffer.size() < 4) return std::optional<Packet>();
    uint32_t length = get_u32(buffer);
    if (length == 0) return util::fail("milter packet: length 0");
    if (length > max_size) return util::fail("milter packet: length " + std::to_string(length) + " over the limit");
    if (buffer.size() - 4 < length) return std::optional<Packet>();
    Packet p;
    p.command = buffer[4];
    p.data.assign(buffer, 5, length - 1);
    buffer.erase(0, 4 + static_cast<size_t>(length));
    return std::optional<Packet>(std::move(p));
}

std::string encode_optneg(const Options& offer) {
    std::string data;
    put_u32(data, offer.version);
    put_u32(data, offer.actions);
    put_u32(data, offer.steps);
    return encode_packet(command::optneg, data);
}

std::string encode_macros(char for_command, const std::vector<std::pair<std::string, std::string>>& macros) {
    std::string data(1, for_command);
    for (const auto& [name, value] : macros) {
        put_string(data, name);
        put_string(data, value);
    }
    return encode_packet(command::macro, data);
}

std::string encode_connect(std::string_view hostname, Family family, uint16_t port, std::string_view address) {
    std::string data;
    put_string(data, hostname);
    data.push_back(static_cast<char>(family));
    if (family != Family::unknown) {
        data.push_back(static_cast<char>(port >> 8));
        data.push_back(static_cast<char>(port));
        put_string(data, address);
    }
    return encode_packet(command::connect, data);
}

std::string encode_helo(std::string_view name) {
    std::string data;
    put_string(data, name);
    return encode_packet(command::helo, data);
}

std::string encode_envelope(char command, std::string_view address, const std::vector<std::string>& params) {
    std::string data;
    put_string(data, address);
    for (const auto& p : params) put_string(data, p);
    return encode_packet(command, data);
}

std::string encode_header(std::string_view name, std::string_view value) {
    std::string data;
    put_string(data, name);
    put_string(data, value);
    return encode_packet(command::header, data);
}

std::string encode_body_chunk(std::string_view chunk) { return encode_packet(command::body, chunk); }

std::string encode_unknown(std::string_view command_line) {
    std::string data;
    put_string(data, command_line);
    return encode_packet(command::unknown, data);
}

std::string encode_simple(char command) { return encode_packet(command, {}); }

bool is_header_name(std::string_view name) {
    if (name.empty() || name.size() > 998) return false;
    for (char c : name)
        if (c < 0x21 || c > 0x7e || c == ':') return false;
    return true;
}

bool is_folded_header_value(std::string_view value) {
    for (size_t i = 0; i < value.size(); ++i) {
        char c = value[i];
        if (c == '\r') {
            if (i + 1 >= value.size() || value[i + 1] != '\n') return false;
        } else if (c == '\n') {
            if (i + 1 >= value.size() || (value[i + 1] != ' ' && value[i + 1] != '\t')) return false;
        }
    }
    return true;
}

bool is_envelope_address(std::string_view address) {
    if (address.empty() || address.size() > 2048) return false;
    for (char c : address)
        if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f) return false;
    return true;
}

bool is_reply_code_text(std::string_view reply) {
    if (reply.size() > 4096) return false;
    auto digit = [](char c) { return c >= '0' && c <= '9'; };
    if (reply.size() < 3 || (reply[0] != '4' && reply[0] != '5') || !digit(reply[1]) || !digit(reply[2]))
        return false;
    std::string_view code = reply.substr(0, 3);
    std::string_view rest = reply;
    while (true) {
        size_t end = rest.find("\r\n");
        std::string_view line = rest.substr(0, end);
        if (line.substr(0, 3) != code) return false;
        if (line.size() > 3 && line[3] != ' ' && line[3] != '-') return false;
        for (char c : line)
            if (c == '\r' || c == '\n' || c == '\0') return false;
        // An enhanced status code's class agrees with the reply's.
        if (line.size() > 5 && digit(line[4]) && line[5] == '.' && line[4] != code[0]) return false;
        if (end == std::string_view::npos) return true;
        rest.remove_prefix(end + 2);
    }
}

uint32_t needed_action(ReplyKind kind) {
    switch (kind) {
    case ReplyKind::add_header:
    case ReplyKind::insert_header: return action::add_headers;
    case ReplyKind::change_header: return action::change_headers;
    case ReplyKind::replace_body: return action::change_body;
    case ReplyKind::add_rcpt: return action::add_rcpt;
    case ReplyKind::add_rcpt_par: return action::add_rcpt_par;
    case ReplyKind::delete_rcpt: return action::delete_rcpt;
    case ReplyKind::change_from: return action::change_from;
    case ReplyKind::quarantine: return action::quarantine;
    default: return 0;
    }
}

util::Result<Reply> decode_reply(const Packet& packet) {
    std::string_view data = packet.data;
    auto bare = [&](ReplyKind kind) -> util::Result<Reply> {
        // libmilter sends these without data; a NUL alone is tolerated as
        // some milters end every reply with one.
        if (!data.empty() && data != std::string_view("\0", 1))
            return util::fail("milter reply " + describe(packet.command) + ": unexpected data");
        Reply r;
        r.kind = kind;
        return r;
    };
    switch (packet.command) {
    case 'a': return bare(ReplyKind::accept);
    case 'c': return bare(ReplyKind::continue_);
    case 'd': return bare(ReplyKind::discard);
    case 'r': return bare(ReplyKind::reject);
    case 't': return bare(ReplyKind::tempfail);
    case 's': return bare(ReplyKind::skip);
    case 'p': return bare(ReplyKind::progress);
    case 'f': return bare(ReplyKind::connection_fail);
    case '4': return bare(ReplyKind::shutdown);
    case 'y': {
        auto parts = strings(data, 1, "reply code");
        if (!parts) return std::unexpected(parts.error());
        if (!is_reply_code_text((*parts)[0])) return util::fail("milter reply code: not a 4xx or 5xx reply");
        Reply r;
        r.kind = ReplyKind::reply_code;
        r.text = (*parts)[0];
        return r;
    }
    case 'q': {
        auto parts = strings(data, 1, "quarantine");
        if (!parts) return std::unexpected(parts.error());
        for (char c : (*parts)[0])
            if (static_cast<unsigned char>(c) < 0x20 && c != '\t')
                return util::fail("milter quarantine: control character in the reason");
        Reply r;
        r.kind = ReplyKind::quarantine;
        r.text = (*parts)[0];
        return r;
    }
    case 'h': return header_reply(ReplyKind::add_header, data, false, "add header");
    case 'i': return header_reply(ReplyKind::insert_header, data, true, "insert header");
    case 'm': return header_reply(ReplyKind::change_header, data, true, "change header");
    case 'b': {
        Reply r;
        r.kind = ReplyKind::replace_body;
        r.body = packet.data;
        return r;
    }
    case '+': return address_reply(ReplyKind::add_rcpt, data, 1, 1, "add recipient");
    case '-': return address_reply(ReplyKind::delete_rcpt, data, 1, 1, "delete recipient");
    case '2': return address_reply(ReplyKind::add_rcpt_par, data, 1, 2, "add recipient");
    case 'e': return address_reply(ReplyKind::change_from, data, 1, 2, "change sender");
    case 'O': {
        if (data.size() < 12) return util::fail("milter option negotiation: short reply");
        Reply r;
        r.kind = ReplyKind::optneg;
        r.options.version = get_u32(data);
        r.options.actions = get_u32(data.substr(4));
        r.options.steps = get_u32(data.substr(8));
        data.remove_prefix(12);
        while (!data.empty()) {
            if (data.size() < 5) return util::fail("milter option negotiation: short macro list");
            uint32_t stage = get_u32(data);
            if (stage > static_cast<uint32_t>(MacroStage::end_of_headers))
                return util::fail("milter option negotiation: unknown macro stage " + std::to_string(stage));
            data.remove_prefix(4);
            size_t nul = data.find('\0');
            if (nul == std::string_view::npos) return util::fail("milter option negotiation: unterminated macro list");
            r.macro_lists.emplace_back(static_cast<MacroStage>(stage), std::string(data.substr(0, nul)));
            data.remove_prefix(nul + 1);
        }
        return r;
    }
    default: return util::fail("milter reply " + describe(packet.command) + ": unknown command");
    }
}

}  // namespace kurir::mail::milter
