// DKIM canonicalization (RFC 6376 3.4) as pure functions: a header field in
// "simple" or "relaxed" form, and a body, line by line, in either form,
// handed to a sink (the body hash) without ever holding the body.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>

namespace kurir::mail {

enum class DkimCanon { simple, relaxed };

// One header field, "name:value" as it stands in the message (value is what
// follows the colon, folding included, without the final line end), with
// CRLF appended. relaxed: name lowercased, line ends of folding removed,
// white space runs made one space, white space at the value's ends removed.
// simple: the field as it is, with its line ends as CRLF.
std::string dkim_header(DkimCanon canon, std::string_view name, std::string_view value);

// The body, fed one line at a time without its line end (a last line
// without a line end is fed the same way). Empty lines at the end are
// dropped; simple gives "\r\n" for an empty body, relaxed gives nothing.
// A body length limit (l=) stops the output after that many bytes.
class DkimBodyCanon {
public:
    using Sink = std::function<void(std::string_view)>;
    DkimBodyCanon(DkimCanon canon, Sink sink, std::optional<uint64_t> limit = std::nullopt)
        : canon_(canon), sink_(std::move(sink)), limit_(limit) {}
    void line(std::string_view content);
    void finish();
    uint64_t length() const { return written_; }

private:
    void emit(std::string_view bytes);

    DkimCanon canon_;
    Sink sink_;
    std::optional<uint64_t> limit_;
    uint64_t pending_empty_ = 0;
    uint64_t written_ = 0;
    bool any_ = false;
    std::string scratch_;
};

}  // namespace kurir::mail
