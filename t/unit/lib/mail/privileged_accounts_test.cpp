#include "mail/privileged_accounts.hpp"

#include <catch2/catch.hpp>

using namespace kurir;
using mail::check_account_overlap;
using mail::PrivilegedAccounts;

namespace {

PrivilegedAccounts apart() {
    PrivilegedAccounts a;
    a.mail_owner = util::Account{"kurir", 101, 101, "/nonexistent", "/usr/sbin/nologin"};
    a.default_privs = util::Account{"kurirnobody", 102, 102, "/nonexistent", "/usr/sbin/nologin"};
    a.setgid_group = "kurirdrop";
    a.setgid_gid = 103;
    return a;
}

std::string refusal(const PrivilegedAccounts& a) {
    auto r = check_account_overlap(a, "/etc/kurir/main.cf");
    REQUIRE_FALSE(r);
    return r.error().text;
}

}  // namespace

TEST_CASE("accounts apart pass", "[privileged_accounts]") { CHECK(check_account_overlap(apart(), "main.cf")); }

TEST_CASE("default_privs may not be mail_owner, by name or by ID", "[privileged_accounts]") {
    auto a = apart();
    a.default_privs = a.mail_owner;
    CHECK(refusal(a) ==
          "file /etc/kurir/main.cf: parameters default_privs and mail_owner specify the same user kurir");
    a = apart();
    a.default_privs.uid = a.mail_owner.uid;
    CHECK(refusal(a) == "file /etc/kurir/main.cf: parameters default_privs and mail_owner: users kurirnobody and "
                        "kurir have the same user ID: 101");
    a = apart();
    a.default_privs.gid = a.mail_owner.gid;
    CHECK(refusal(a).find("have the same group ID: 101") != std::string::npos);
}

TEST_CASE("no account is root, and groups stay apart", "[privileged_accounts]") {
    auto a = apart();
    a.default_privs.uid = 0;
    CHECK(refusal(a) == "file /etc/kurir/main.cf: parameter default_privs: user kurirnobody has privileged user ID");
    a = apart();
    a.default_privs.gid = 0;
    CHECK(refusal(a).find("default_privs: user kurirnobody has privileged group ID") != std::string::npos);
    a = apart();
    a.mail_owner.uid = 0;
    CHECK(refusal(a).find("mail_owner: user kurir has privileged user ID") != std::string::npos);
    a = apart();
    a.mail_owner.gid = 0;
    CHECK(refusal(a).find("mail_owner: user kurir has privileged group ID") != std::string::npos);
    a = apart();
    a.setgid_gid = 0;
    CHECK(refusal(a).find("setgid_group: group kurirdrop has privileged group ID") != std::string::npos);
    a = apart();
    a.setgid_gid = a.default_privs.gid;
    CHECK(refusal(a).find("parameters default_privs and setgid_group") != std::string::npos);
    a = apart();
    a.setgid_gid = a.mail_owner.gid;
    CHECK(refusal(a).find("parameters mail_owner and setgid_group") != std::string::npos);
}
