#include "server/master_proto.hpp"

#include <fmt/format.h>

#include <cstdint>

namespace kurir::server {

namespace {
void put32(char* out, uint32_t v) {
    for (int i = 0; i < 4; ++i) out[i] = static_cast<char>((v >> (24 - 8 * i)) & 0xff);
}
uint32_t get32(const char* in) {
    uint32_t v = 0;
    for (int i = 0; i < 4; ++i) v = v << 8 | static_cast<unsigned char>(in[i]);
    return v;
}
}  // namespace

std::array<char, kStatusSize> encode_status(const StatusMessage& m) {
    std::array<char, kStatusSize> out{};
    put32(out.data(), static_cast<uint32_t>(m.pid));
    put32(out.data() + 4, static_cast<uint32_t>(m.status));
    return out;
}

util::Result<StatusMessage> decode_status(std::string_view bytes) {
    if (bytes.size() != kStatusSize) return util::fail(fmt::format("child status: {} bytes, want {}", bytes.size(), kStatusSize));
    uint32_t pid = get32(bytes.data());
    uint32_t status = get32(bytes.data() + 4);
    if (pid == 0 || pid > 0x7fffffff) return util::fail(fmt::format("child status: bad pid {}", pid));
    if (status > 1) return util::fail(fmt::format("child status: bad status {} from pid {}", status, pid));
    return StatusMessage{static_cast<pid_t>(pid), static_cast<ChildStatus>(status)};
}

}  // namespace kurir::server
