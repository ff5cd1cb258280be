// The attribute protocol: every internal request and reply is one frame of
// named values. Wire grammar (all integers big-endian):
//
//   frame   = length:u32 payload            ; length = bytes of payload
//   payload = *( name_len:u16 name value_len:u32 value )
//
// Decoders are strict: a name must be 1..64 bytes of [a-z0-9_], a frame at
// most kMaxFrame bytes, and every byte of the payload must be consumed.
#pragma once

#include "util/result.hpp"

#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace kurir::util {

inline constexpr size_t kMaxFrame = 64 * 1024 * 1024;

class Attrs {
public:
    Attrs() = default;
    Attrs(std::initializer_list<std::pair<std::string, std::string>> init) : items_(init) {}
    void add(std::string name, std::string value) {
        items_.emplace_back(std::move(name), std::move(value));
    }
    // First value of name, or nullopt.
    std::optional<std::string_view> get(std::string_view name) const;
    // All values of name, in order.
    std::vector<std::string_view> all(std::string_view name) const;
    const std::vector<std::pair<std::string, std::string>>& items() const { return items_; }

private:
    std::vector<std::pair<std::string, std::string>> items_;
};

std::string attr_encode(const Attrs& attrs);

// The size of the frame that starts buf (length prefix included), read from
// its first four bytes: nullopt while buf holds fewer, an error when the
// frame would exceed max_frame bytes of payload. Every reader of frames asks
// here, so the limit is checked in one place.
Result<std::optional<size_t>> attr_frame_size(std::string_view buf, size_t max_frame = kMaxFrame);

struct AttrFrame {
    Attrs attrs;
    size_t consumed;
};
// nullopt: the buffer holds no complete frame yet. Error: the bytes can never
// become a valid frame.
Result<std::optional<AttrFrame>> attr_decode(std::string_view buf);

// Blocking I/O over a stream socket (with the socket's own timeouts).
Result<void> attr_write(int fd, const Attrs& attrs);
Result<Attrs> attr_read(int fd);

}  // namespace kurir::util
