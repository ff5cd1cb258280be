// A daemon's Unix socket played by a thread in a unit test: each
// connection it accepts goes to serve, and is closed when serve returns.
// Declare it after what serve uses: the thread starts in the constructor
// and ends in the destructor.
#pragma once

#include "util/fs.hpp"
#include "util/socket.hpp"

#include <catch2/catch.hpp>
#include <sys/socket.h>

#include <functional>
#include <string>
#include <thread>

namespace kurir::test {

class SocketStandIn {
public:
    SocketStandIn(const std::string& path, std::function<void(int)> serve) : serve_(std::move(serve)) {
        auto fd = util::listen_unix(path, 0600);
        REQUIRE(fd);
        listen_ = std::move(*fd);
        thread_ = std::thread([this] {
            for (int c; (c = ::accept(listen_.get(), nullptr, nullptr)) >= 0;) {
                util::Fd conn(c);
                serve_(conn.get());
            }
        });
    }
    SocketStandIn(const SocketStandIn&) = delete;
    SocketStandIn& operator=(const SocketStandIn&) = delete;
    ~SocketStandIn() {
        ::shutdown(listen_.get(), SHUT_RDWR);
        thread_.join();
    }

private:
    std::function<void(int)> serve_;
    util::Fd listen_;
    std::thread thread_;
};

}  // namespace kurir::test
