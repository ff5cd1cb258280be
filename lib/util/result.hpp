// Errors as values: every recoverable failure is a Result carrying a message
// that names the object first ("open /x/y: Permission denied").
#pragma once

#include <expected>
#include <string>

namespace kurir::util {

struct Error {
    std::string text;
};

template <class T>
using Result = std::expected<T, Error>;

inline std::unexpected<Error> fail(std::string text) {
    return std::unexpected<Error>(Error{std::move(text)});
}

// "what: strerror(errno)" for the current errno.
std::unexpected<Error> fail_errno(const std::string& what);

}  // namespace kurir::util
