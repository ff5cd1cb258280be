// A daemon rereads main.cf when it changed (refresh_config), and takes on
// what loads, but never a configuration master would refuse: a setting that
// asks for TLS or SASL kurir does not provide keeps the old one, logged.
#include "server/server.hpp"

#include "../../test_util.hpp"

#include <catch2/catch.hpp>

using namespace kurir;
namespace kt = kurir::test;

TEST_CASE("refresh_config takes an edited main.cf, but not one that asks for TLS it cannot give", "[server]") {
    kt::TempDir dir;
    kt::CapturedLog log;
    kt::spit(dir / "main.cf", "myhostname = one.test\n");
    server::ServerContext ctx;
    ctx.config_dir = dir.path();
    auto cfg = mail::Config::load(dir.path());
    REQUIRE(cfg);
    ctx.config = std::move(*cfg);
    CHECK(server::refresh_config(ctx));  // the first look takes the file's stamp
    CHECK_FALSE(server::refresh_config(ctx));  // unchanged since

    kt::spit(dir / "main.cf", "myhostname = second.test\n");
    CHECK(server::refresh_config(ctx));
    CHECK(ctx.config.str("myhostname") == "second.test");

    kt::spit(dir / "main.cf", "myhostname = three.test\nsmtpd_use_tls = yes\n");
    CHECK_FALSE(server::refresh_config(ctx));
    CHECK(ctx.config.str("myhostname") == "second.test");
    CHECK(log.text().find("warning: main.cf changed but is refused; keeping the old configuration") != std::string::npos);
}
