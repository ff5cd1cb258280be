#include "util/attr.hpp"

#include "util/fs.hpp"

#include <unistd.h>

#include <cerrno>

namespace kurir::util {
namespace {

void put_u32(std::string& out, uint32_t v) {
    out += static_cast<char>(v >> 24);
    out += static_cast<char>(v >> 16);
    out += static_cast<char>(v >> 8);
    out += static_cast<char>(v);
}

uint32_t get_u32(std::string_view s, size_t pos) {
    auto b = [&](size_t i) { return static_cast<uint32_t>(static_cast<unsigned char>(s[pos + i])); };
    return b(0) << 24 | b(1) << 16 | b(2) << 8 | b(3);
}

bool valid_name(std::string_view name) {
    if (name.empty() || name.size() > 64) return false;
    for (char c : name)
        if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_')) return false;
    return true;
}

}  // namespace

std::optional<std::string_view> Attrs::get(std::string_view name) const {
    for (const auto& [n, v] : items_)
        if (n == name) return std::string_view(v);
    return std::nullopt;
}

std::vector<std::string_view> Attrs::all(std::string_view name) const {
    std::vector<std::string_view> out;
    for (const auto& [n, v] : items_)
        if (n == name) out.push_back(v);
    return out;
}

std::string attr_encode(const Attrs& attrs) {
    std::string payload;
    for (const auto& [name, value] : attrs.items()) {
        payload += static_cast<char>(name.size() >> 8);
        payload += static_cast<char>(name.size());
        payload += name;
        put_u32(payload, static_cast<uint32_t>(value.size()));
        payload += value;
    }
    std::string frame;
    put_u32(frame, static_cast<uint32_t>(payload.size()));
    return frame + payload;
}

Result<std::optional<size_t>> attr_frame_size(std::string_view buf, size_t max_frame) {
    if (buf.size() < 4) return std::optional<size_t>{};
    size_t len = get_u32(buf, 0);
    if (len > max_frame)
        return fail("attribute frame too large: " + std::to_string(len) + " bytes (limit " + std::to_string(max_frame) +
                    ")");
    return std::optional<size_t>{4 + len};
}

Result<std::optional<AttrFrame>> attr_decode(std::string_view buf) {
    auto size = attr_frame_size(buf);
    if (!size) return std::unexpected(size.error());
    if (!*size || buf.size() < **size) return std::optional<AttrFrame>{};
    std::string_view p = buf.substr(4, **size - 4);
    AttrFrame frame{{}, **size};
    size_t pos = 0;
    while (pos < p.size()) {
        if (p.size() - pos < 2) return fail("attribute frame: truncated name length");
        size_t nlen = static_cast<unsigned char>(p[pos]) << 8 | static_cast<unsigned char>(p[pos + 1]);
        pos += 2;
        if (p.size() - pos < nlen) return fail("attribute frame: truncated name");
        std::string_view name = p.substr(pos, nlen);
        if (!valid_name(name)) return fail("attribute frame: bad attribute name");
        pos += nlen;
        if (p.size() - pos < 4) return fail("attribute frame: truncated value length");
        size_t vlen = get_u32(p, pos);
        pos += 4;
        if (p.size() - pos < vlen) return fail("attribute frame: truncated value");
        frame.attrs.add(std::string(name), std::string(p.substr(pos, vlen)));
        pos += vlen;
    }
    return std::optional<AttrFrame>(std::move(frame));
}

Result<void> attr_write(int fd, const Attrs& attrs) {
    return write_all(fd, attr_encode(attrs), "attribute stream");
}

Result<Attrs> attr_read(int fd) {
    std::string buf;
    char tmp[8192];
    for (;;) {
        // Read no further than the current frame: the stream may carry more.
        auto size = attr_frame_size(buf);
        if (!size) return std::unexpected(size.error());
        size_t want = size->value_or(4);
        if (buf.size() >= want && *size) {
            auto r = attr_decode(buf);
            if (!r) return std::unexpected(r.error());
            return std::move((*r)->attrs);
        }
        size_t chunk = std::min(sizeof tmp, want - buf.size());
        ssize_t n = ::read(fd, tmp, chunk);
        if (n < 0) {
            if (errno == EINTR) continue;
            return fail_errno("read attribute stream");
        }
        if (n == 0) return fail("read attribute stream: unexpected end of stream");
        buf.append(tmp, static_cast<size_t>(n));
    }
}

}  // namespace kurir::util
