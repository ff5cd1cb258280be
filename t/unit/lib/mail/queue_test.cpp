#include "mail/queue.hpp"

#include "../../test_util.hpp"

#include <catch2/catch.hpp>

#include <sys/stat.h>

#include <algorithm>
#include <map>
#include <set>

using namespace kurir::mail;
namespace kt = kurir::test;

TEST_CASE("queue_id_at: fixed width 15, base-52 digits", "[queue]") {
    CHECK(queue_id_at(0, 0, "BCDFG") == "000000" "0000" "BCDFG");
    CHECK(queue_id_at(1, 1, "zzzzz") == "000001" "0001" "zzzzz");
    CHECK(queue_id_at(52, 51, "00000") == "000010" "000z" "00000");
    CHECK(queue_id_at(1700000000, 999999, "xxxxx").size() == 15);
    CHECK(valid_queue_id(queue_id_at(1700000000, 999999, "BCDFG")));
    CHECK(valid_queue_id(queue_id_at(4102444800, 0, "bcdfg")));  // year 2100
}

TEST_CASE("queue ids sort by arrival time", "[queue]") {
    std::vector<std::pair<long, long>> times = {
        {0, 0},          {0, 1},          {0, 51},         {0, 52},          {0, 999999},
        {1, 0},          {51, 999999},    {52, 0},         {1699999999, 999999}, {1700000000, 0},
        {1700000000, 1}, {1700000000, 52}, {1700000000, 2703}, {1700000000, 500000}, {1700000001, 0},
        {1800000000, 5}, {4102444800, 0},
    };
    std::vector<std::string> ids;
    // Random parts chosen against the order, so only time can sort them.
    for (size_t i = 0; i < times.size(); ++i)
        ids.push_back(queue_id_at(times[i].first, times[i].second, i % 2 ? "00000" : "zzzzz"));
    for (size_t i = 0; i < ids.size(); ++i) {
        CHECK(ids[i].size() == 15);
        CHECK(valid_queue_id(ids[i]));
        if (i > 0) {
            INFO(ids[i - 1] << " < " << ids[i]);
            CHECK(ids[i - 1] < ids[i]);
        }
    }
}

TEST_CASE("new_queue_id gives valid, distinct, time-ordered ids", "[queue]") {
    std::set<std::string> seen;
    std::string prev;
    for (int i = 0; i < 200; ++i) {
        std::string id = new_queue_id();
        CHECK(id.size() == 15);
        CHECK(valid_queue_id(id));
        if (!prev.empty()) CHECK(prev.substr(0, 10) <= id.substr(0, 10));
        prev = id;
        seen.insert(id);
    }
    CHECK(seen.size() == 200);
}

TEST_CASE("new_queue_id: the random part uses every letter of the alphabet", "[queue]") {
    // 10,000 letters: each of the 52 is missing with odds of about 1 in 10^83.
    std::map<char, int> count;
    for (int i = 0; i < 2000; ++i)
        for (char c : new_queue_id().substr(10)) ++count[c];
    CHECK(count.size() == 52);
    for (const auto& [letter, n] : count) {
        INFO(letter);
        CHECK(n > 60);  // about 192 expected; far fewer would mean a skewed choice
    }
}

TEST_CASE("valid_queue_id rejects wrong lengths and characters", "[queue]") {
    std::string good = queue_id_at(1700000000, 1, "BCDFG");
    REQUIRE(valid_queue_id(good));
    std::vector<std::string> bad = {
        "",
        "../x",
        "../../etc/passw",  // 15 characters, with '/' and '.'
        good.substr(0, 14),
        good + "0",
        "0000000000BCDFA",  // vowels are not in the alphabet
        "0000000000BCDFa",
        "0000000000BCDFe",
        "0000000000BCDF/",
        "0000000000BCDF.",
        ".ID.tmp",
        "." + good.substr(1),
        std::string("0000000000BCDF\0", 15),
        "0000000000BCDF ",
        "0000000000BCDF\xc3",
    };
    for (const auto& id : bad) {
        INFO("\"" << id << "\"");
        CHECK(!valid_queue_id(id));
    }
}

TEST_CASE("queue names and QueueDir paths", "[queue]") {
    for (Queue q : kAllQueues) CHECK(parse_queue(queue_name(q)) == q);
    CHECK(queue_name(Queue::deferred) == "deferred");
    CHECK(!parse_queue("bogus"));
    CHECK(!parse_queue(""));
    CHECK(!parse_queue("Active"));

    QueueDir qd("/var/spool/kurir");
    CHECK(qd.root() == "/var/spool/kurir");
    CHECK(qd.dir(Queue::active) == "/var/spool/kurir/active");
    CHECK(qd.dir(Queue::maildrop) == "/var/spool/kurir/maildrop");
    CHECK(qd.path(Queue::deferred, "0000000000BCDFG") == "/var/spool/kurir/deferred/0000000000BCDFG");
    CHECK(qd.private_socket("cleanup") == "/var/spool/kurir/private/cleanup");
    CHECK(qd.public_socket("qmgr") == "/var/spool/kurir/public/qmgr");
    CHECK(qd.pid_file() == "/var/spool/kurir/pid/master.pid");
}

TEST_CASE("QueueDir: create_layout, move, list and find on disk", "[queue]") {
    kt::TempDir tmp;
    QueueDir qd(tmp / "spool/queue");  // parents are made too
    REQUIRE(qd.create_layout(std::nullopt));
    for (const char* d : {"maildrop", "incoming", "active", "deferred", "hold", "corrupt", "private", "public",
                          "pid"}) {
        INFO(d);
        std::string path = qd.root() + "/" + d;
        CHECK(kt::is_dir(path));
    }
    struct stat st {};
    REQUIRE(::stat(qd.dir(Queue::active).c_str(), &st) == 0);
    CHECK((st.st_mode & 07777) == 0700);
    REQUIRE(::stat((qd.root() + "/pid").c_str(), &st) == 0);
    CHECK((st.st_mode & 07777) == 0755);
    // Twice is fine.
    REQUIRE(qd.create_layout(std::nullopt));

    std::string a = queue_id_at(1700000000, 1, "BCDFG");
    std::string b = queue_id_at(1700000000, 2, "00000");
    std::string c = queue_id_at(1700000001, 0, "zzzzz");
    for (const auto& id : {c, a, b}) kt::spit(qd.path(Queue::incoming, id), "x");
    kt::spit(qd.dir(Queue::incoming) + "/." + a + ".tmp", "temp");
    kt::spit(qd.dir(Queue::incoming) + "/.ID.tmp", "temp");
    kt::spit(qd.dir(Queue::incoming) + "/notanid", "junk");
    kt::spit(qd.dir(Queue::incoming) + "/0000000000BCDFA", "vowel");

    CHECK(qd.list(Queue::incoming) == std::vector<std::string>{a, b, c});
    CHECK(qd.list(Queue::active).empty());
    CHECK(qd.find(a) == Queue::incoming);
    CHECK(!qd.find(queue_id_at(1, 1, "BCDFG")));
    CHECK(!qd.find("../incoming/x"));

    REQUIRE(qd.move(b, Queue::incoming, Queue::active));
    CHECK(!kt::slurp(qd.path(Queue::active, b)).empty());
    CHECK(qd.list(Queue::incoming) == std::vector<std::string>{a, c});
    CHECK(qd.list(Queue::active) == std::vector<std::string>{b});
    CHECK(qd.find(b) == Queue::active);

    auto missing = qd.move(b, Queue::incoming, Queue::deferred);
    REQUIRE(!missing);
    CHECK_THAT(missing.error().text, Catch::Contains("rename"));
    CHECK_THAT(missing.error().text, Catch::Contains(qd.path(Queue::incoming, b)));
    CHECK(qd.find(b) == Queue::active);

    // A queue directory that does not exist lists as empty.
    QueueDir none(tmp / "nope");
    CHECK(none.list(Queue::incoming).empty());
}

TEST_CASE("QueueDir::create_layout with an owner sets the privilege-separation modes", "[queue]") {
    kt::TempDir tmp;
    QueueDir qd(tmp / "q");
    QueueDir::Owner me{::getuid(), ::getgid(), ::getgid()};
    REQUIRE(qd.create_layout(me));
    struct Want {
        std::string dir;
        mode_t mode;
    };
    for (const auto& w : std::vector<Want>{{"maildrop", 01730}, {"incoming", 0700}, {"active", 0700},
                                           {"deferred", 0700}, {"hold", 0700},     {"corrupt", 0700},
                                           {"private", 0700},  {"public", 0710},   {"pid", 0755}}) {
        INFO(w.dir);
        struct stat st {};
        REQUIRE(::stat((qd.root() + "/" + w.dir).c_str(), &st) == 0);
        CHECK((st.st_mode & 07777) == w.mode);
        CHECK(st.st_uid == ::getuid());
    }
    // Without an owner, maildrop and public are private to the one user.
    QueueDir plain(tmp / "plain");
    REQUIRE(plain.create_layout(std::nullopt));
    struct stat st {};
    REQUIRE(::stat(plain.dir(Queue::maildrop).c_str(), &st) == 0);
    CHECK((st.st_mode & 07777) == 0700);
    REQUIRE(::stat((plain.root() + "/public").c_str(), &st) == 0);
    CHECK((st.st_mode & 07777) == 0700);
}

TEST_CASE("QueueDir::create_layout never follows a symbolic link in the queue directory", "[queue]") {
    // The mail_owner owns the queues and may put a link where one was: root
    // (kurir check, kurir start, master) must not chown or chmod its target.
    kt::TempDir tmp;
    std::string victim = tmp / "victim";
    REQUIRE(::mkdir(victim.c_str(), 0755) == 0);
    REQUIRE(::chmod(victim.c_str(), 0755) == 0);
    QueueDir qd(tmp / "q");
    REQUIRE(::mkdir(qd.root().c_str(), 0755) == 0);
    REQUIRE(::symlink(victim.c_str(), qd.dir(Queue::incoming).c_str()) == 0);
    std::optional<QueueDir::Owner> owner;
    if (::geteuid() == 0) owner = QueueDir::Owner{65534, 65534, 65534};
    auto r = qd.create_layout(owner);
    REQUIRE(!r);
    CHECK_THAT(r.error().text, Catch::Contains(qd.dir(Queue::incoming)));
    struct stat st {};
    REQUIRE(::stat(victim.c_str(), &st) == 0);
    CHECK((st.st_mode & 07777) == 0755);
    CHECK(st.st_uid == ::geteuid());
}
