#include "local/local_mailbox.hpp"

#include "../test_util.hpp"

#include <catch2/catch.hpp>

#include <fcntl.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <thread>
#include <unistd.h>

using namespace kurir::local;
namespace kt = kurir::test;

namespace {
constexpr long kArrival = 1700000000;
const char* kFromLine = "From [^ ]+ [A-Z][a-z]{2} [A-Z][a-z]{2} [ 0-9][0-9] [0-9]{2}:[0-9]{2}:[0-9]{2} [0-9]{4}";

std::string first_line(const std::string& s) { return s.substr(0, s.find('\n')); }

std::vector<std::string> split_mbox(const std::string& text) {
    std::vector<std::string> out;
    size_t start = 0;
    for (;;) {
        size_t next = text.find("\nFrom ", start);
        if (next == std::string::npos) {
            out.push_back(text.substr(start));
            break;
        }
        out.push_back(text.substr(start, next + 1 - start));
        start = next + 1;
    }
    return out;
}
}  // namespace

TEST_CASE("mbox_entry: From_ line, quoting, trailing blank line", "[local]") {
    std::string prefix = "Return-Path: <alice@x>\nDelivered-To: bob@y\n";
    std::string body = "Subject: hi\n\nFrom me\nnot From here\n>From x\nFrom\nFromage\n  From indented\nFrom ";
    std::string e = mbox_entry("alice@x", kArrival, prefix, body);
    CHECK_THAT(first_line(e), Catch::Matches(kFromLine));
    CHECK_THAT(first_line(e), Catch::StartsWith("From alice@x "));
    CHECK_THAT(first_line(e), Catch::EndsWith(" 2023"));
    std::string rest = e.substr(e.find('\n') + 1);
    CHECK(rest == prefix +
                      "Subject: hi\n\n>From me\nnot From here\n>From x\nFrom\nFromage\n  From indented\n>From \n\n");
}

TEST_CASE("mbox_entry: the null sender and edge bodies", "[local]") {
    std::string e = mbox_entry("", kArrival, "", "x\n");
    CHECK_THAT(first_line(e), Catch::StartsWith("From MAILER-DAEMON "));
    CHECK_THAT(first_line(e), Catch::Matches(kFromLine));
    CHECK(e.substr(e.find('\n') + 1) == "x\n\n");

    struct Case {
        std::string prefix, body, after_from_line;
    };
    std::vector<Case> cases = {
        {"", "", "\n"},
        {"P: 1\n", "", "P: 1\n\n"},
        {"", "no newline", "no newline\n\n"},
        {"", "two\n\n", "two\n\n\n"},
        {"", "From start", ">From start\n\n"},
        {"", "a From b\nFrom c", "a From b\n>From c\n\n"},
        {"", "\nFrom after blank\n", "\n>From after blank\n\n"},
    };
    for (const auto& c : cases) {
        INFO("body: " << c.body);
        std::string got = mbox_entry("s@x", kArrival, c.prefix, c.body);
        CHECK(got.substr(got.find('\n') + 1) == c.after_from_line);
    }
}

TEST_CASE("deliver_maildir: a file in new/, nothing in tmp/", "[local]") {
    kt::TempDir tmp;
    std::string md = tmp / "Maildir";
    std::string prefix = "Return-Path: <a@b>\nDelivered-To: c@d\n";
    std::string body = "Subject: x\n\nFrom here, no quoting in maildir\n";
    DeliveryStatus st = deliver_maildir(md, prefix, body, "host/with:colon");
    INFO(st.dsn << " " << st.text);
    REQUIRE(st.ok());
    CHECK(!st.permanent());
    CHECK(st.dsn == "2.0.0");
    CHECK(kt::is_dir(md + "/cur"));
    CHECK(kt::dir_entries(md + "/tmp").empty());
    auto files = kt::dir_entries(md + "/new");
    REQUIRE(files.size() == 1);
    CHECK(kt::slurp(md + "/new/" + files[0]) == prefix + body);
    CHECK_THAT(files[0], Catch::Contains("host\\057with\\072colon"));
    CHECK_THAT(files[0], Catch::EndsWith(",S=" + std::to_string(prefix.size() + body.size())));
    CHECK(files[0].find('/') == std::string::npos);

    // A second delivery gets its own name.
    DeliveryStatus st2 = deliver_maildir(md, "", "second\n", "host");
    REQUIRE(st2.ok());
    auto files2 = kt::dir_entries(md + "/new");
    REQUIRE(files2.size() == 2);
    CHECK(files2[0] != files2[1]);
    CHECK(kt::dir_entries(md + "/tmp").empty());
}

TEST_CASE("deliver_maildir: a maildir that cannot be made defers", "[local]") {
    kt::TempDir tmp;
    kt::spit(tmp / "file", "not a directory");
    DeliveryStatus st = deliver_maildir(tmp / "file/Maildir", "", "x\n", "host");
    CHECK(!st.ok());
    CHECK(!st.permanent());
    CHECK(st.dsn == "4.2.0");
    CHECK_THAT(st.text, Catch::Contains(tmp / "file/Maildir"));
}

TEST_CASE("deliver_mbox: two deliveries parse back", "[local]") {
    kt::TempDir tmp;
    std::string mbox = tmp / "bob";
    std::string p1 = "Return-Path: <alice@x>\n";
    std::string b1 = "Subject: one\n\nFrom the first message\nline two\n";
    std::string p2 = "Return-Path: <>\n";
    std::string b2 = "Subject: two\n\nno final newline";
    DeliveryStatus s1 = deliver_mbox(mbox, "alice@x", kArrival, p1, b1);
    REQUIRE(s1.ok());
    DeliveryStatus s2 = deliver_mbox(mbox, "", kArrival + 60, p2, b2);
    REQUIRE(s2.ok());
    CHECK(!kt::dir_entries(tmp.path()).empty());
    CHECK(kt::dir_entries(tmp.path()) == std::vector<std::string>{"bob"});  // the dot-lock is gone

    std::string text = kt::slurp(mbox);
    CHECK(text == mbox_entry("alice@x", kArrival, p1, b1) + mbox_entry("", kArrival + 60, p2, b2));
    auto entries = split_mbox(text);
    REQUIRE(entries.size() == 2);
    CHECK_THAT(first_line(entries[0]), Catch::StartsWith("From alice@x "));
    CHECK_THAT(first_line(entries[1]), Catch::StartsWith("From MAILER-DAEMON "));
    CHECK(entries[0].substr(entries[0].find('\n') + 1) == p1 + "Subject: one\n\n>From the first message\nline two\n\n");
    CHECK(entries[1].substr(entries[1].find('\n') + 1) == p2 + "Subject: two\n\nno final newline\n\n");

    struct stat st {};
    REQUIRE(::stat(mbox.c_str(), &st) == 0);
    CHECK((st.st_mode & 0777) == 0600);
}

TEST_CASE("deliver_mbox: refuses what is not a plain file", "[local]") {
    kt::TempDir tmp;
    ::mkdir((tmp / "dir").c_str(), 0700);
    DeliveryStatus d = deliver_mbox(tmp / "dir", "a@b", kArrival, "", "x\n");
    CHECK(!d.ok());
    CHECK(d.dsn == "4.2.0");

    kt::spit(tmp / "target", "");
    REQUIRE(::symlink((tmp / "target").c_str(), (tmp / "link").c_str()) == 0);
    DeliveryStatus l = deliver_mbox(tmp / "link", "a@b", kArrival, "", "x\n");
    CHECK(!l.ok());
    CHECK(kt::slurp(tmp / "target").empty());

    kt::spit(tmp / "one", "");
    REQUIRE(::link((tmp / "one").c_str(), (tmp / "two").c_str()) == 0);
    DeliveryStatus h = deliver_mbox(tmp / "one", "a@b", kArrival, "", "x\n");
    CHECK(!h.ok());
    CHECK_THAT(h.text, Catch::Contains("one link"));
    CHECK(kt::slurp(tmp / "one").empty());
    // No dot-lock is left behind.
    for (const auto& n : kt::dir_entries(tmp.path())) CHECK_THAT(n, !Catch::EndsWith(".lock"));
}

TEST_CASE("DeliveryStatus classes", "[local]") {
    CHECK(DeliveryStatus{"2.0.0", ""}.ok());
    CHECK(!DeliveryStatus{"4.2.0", ""}.ok());
    CHECK(!DeliveryStatus{"4.2.0", ""}.permanent());
    CHECK(DeliveryStatus{"5.1.1", ""}.permanent());
    CHECK(!DeliveryStatus{"", ""}.ok());
    CHECK(!DeliveryStatus{"", ""}.permanent());
}

// local passes the envelope sender in internal form; Postfix writes the
// From_ line with the quoted (external) form, so the sender stays one token.
TEST_CASE("mbox_entry: a sender with a space stays one token on the From_ line", "[local]") {
    std::string e = mbox_entry("john doe@x", kArrival, "", "x\n");
    CHECK_THAT(first_line(e), Catch::StartsWith("From \"john doe\"@x "));
}

TEST_CASE("make_spool_maildir/mbox: whole, owned, once; concurrent makers all succeed", "[local]") {
    kt::TempDir tmp;
    std::string md = tmp / "alice";
    std::string mbox = tmp / "bob";
    std::vector<std::thread> makers;
    std::atomic<int> failed{0};
    for (int i = 0; i < 8; ++i)
        makers.emplace_back([&] {
            if (!make_spool_maildir(md, ::getuid(), ::getgid()).ok()) ++failed;
            if (!make_spool_mbox(mbox, ::getuid(), ::getgid()).ok()) ++failed;
        });
    for (auto& t : makers) t.join();
    CHECK(failed == 0);
    auto sorted = [](std::vector<std::string> v) {
        std::sort(v.begin(), v.end());
        return v;
    };
    CHECK(sorted(kt::dir_entries(tmp.path())) == std::vector<std::string>{"alice", "bob"});  // nothing left aside
    CHECK(sorted(kt::dir_entries(md)) == std::vector<std::string>{"cur", "new", "tmp"});
    struct stat st {};
    REQUIRE(::stat(mbox.c_str(), &st) == 0);
    CHECK(S_ISREG(st.st_mode));
    CHECK(st.st_size == 0);
    CHECK(st.st_uid == ::getuid());

    // An existing mailbox is left alone.
    kt::spit(mbox, "From x\n\n");
    CHECK(make_spool_mbox(mbox, ::getuid(), ::getgid()).ok());
    CHECK(kt::slurp(mbox) == "From x\n\n");
    CHECK(deliver_maildir(md, "", "x\n", "host").ok());
    CHECK(make_spool_maildir(md, ::getuid(), ::getgid()).ok());
    CHECK(kt::dir_entries(md + "/new").size() == 1);
}

TEST_CASE("make_spool_maildir: a spool it cannot write defers, naming the mailbox", "[local]") {
    kt::TempDir tmp;
    DeliveryStatus st = make_spool_maildir(tmp / "missing/alice", ::getuid(), ::getgid());
    CHECK(st.dsn == "4.2.0");
    CHECK_THAT(st.text, Catch::Contains(tmp / "missing/alice"));
}

// Whoever may write in the spool could put a link or a directory of their
// own at a user's name; such a maildir is refused, and one checked and then
// renamed away for a link gets the mail where it was checked.
TEST_CASE("open_spool_maildir: only a directory the user owns, reached through its descriptor", "[local]") {
    kt::TempDir tmp;
    std::string elsewhere = tmp / "elsewhere";
    REQUIRE(make_spool_maildir(elsewhere, ::getuid(), ::getgid()).ok());

    std::string linked = tmp / "linked";
    REQUIRE(::symlink(elsewhere.c_str(), linked.c_str()) == 0);
    auto opened = open_spool_maildir(linked, ::getuid(), ::getgid());
    REQUIRE(std::holds_alternative<DeliveryStatus>(opened));
    CHECK(std::get<DeliveryStatus>(opened).dsn == "4.2.0");
    CHECK(std::get<DeliveryStatus>(opened).text == "maildir " + linked + " is a symbolic link");

    std::string file = tmp / "file";
    kt::spit(file, "");
    opened = open_spool_maildir(file, ::getuid(), ::getgid());
    REQUIRE(std::holds_alternative<DeliveryStatus>(opened));
    CHECK(std::get<DeliveryStatus>(opened).text == "maildir " + file + " is not a directory");

    opened = open_spool_maildir(elsewhere, ::getuid() + 1, ::getgid());
    REQUIRE(std::holds_alternative<DeliveryStatus>(opened));
    CHECK(std::get<DeliveryStatus>(opened).dsn == "4.2.0");
    CHECK(std::get<DeliveryStatus>(opened).text ==
          "maildir " + elsewhere + " is not owned by the recipient (uid " + std::to_string(::getuid()) + ")");
    CHECK(kt::dir_entries(elsewhere + "/new").empty());

    std::string alice = tmp / "alice";
    opened = open_spool_maildir(alice, ::getuid(), ::getgid());  // made, then opened
    REQUIRE(std::holds_alternative<kurir::util::Fd>(opened));
    const auto& dir = std::get<kurir::util::Fd>(opened);
    std::string moved = tmp / "alice.moved";
    REQUIRE(::rename(alice.c_str(), moved.c_str()) == 0);
    REQUIRE(::symlink(elsewhere.c_str(), alice.c_str()) == 0);
    DeliveryStatus st = deliver_maildir(alice, "", "x\n", "host", dir.get());
    CHECK(st.ok());
    CHECK(kt::dir_entries(moved + "/new").size() == 1);
    CHECK(kt::dir_entries(elsewhere + "/new").empty());

    // A maildir whose subdirectories are gone is made whole again through
    // the descriptor.
    for (const char* sub : {"/new", "/cur", "/tmp"}) {
        for (const auto& e : kt::dir_entries(moved + sub)) ::unlink((moved + sub + "/" + e).c_str());
        REQUIRE(::rmdir((moved + sub).c_str()) == 0);
    }
    CHECK(deliver_maildir(alice, "", "y\n", "host", dir.get()).ok());
    CHECK(kt::dir_entries(moved + "/new").size() == 1);
    CHECK(kt::dir_entries(elsewhere + "/new").empty());
}

// A FIFO in a mailbox's place used to hang local in open(2) (no reader) or
// take the mail (a reader): now it defers at once and gets nothing.
TEST_CASE("deliver_mbox: a FIFO is refused at once, with or without a reader", "[local]") {
    kt::TempDir tmp;
    std::string fifo = tmp / "fifo";
    REQUIRE(::mkfifo(fifo.c_str(), 0600) == 0);
    for (auto kind : {MboxKind::mailbox, MboxKind::file}) {
        DeliveryStatus st = deliver_mbox(fifo, "a@b", kArrival, "", "x\n", kind);
        CHECK(st.dsn == "4.2.0");
        CHECK(st.text == "mailbox " + fifo + " is not a regular file");
    }
    int reader = ::open(fifo.c_str(), O_RDONLY | O_NONBLOCK);
    REQUIRE(reader >= 0);
    DeliveryStatus st = deliver_mbox(fifo, "a@b", kArrival, "", "x\n");
    CHECK(st.dsn == "4.2.0");
    CHECK(st.text == "mailbox " + fifo + " is not a regular file");
    char buf[16];
    CHECK(::read(reader, buf, sizeof buf) <= 0);  // nothing was written into it
    ::close(reader);
    for (const auto& n : kt::dir_entries(tmp.path())) CHECK_THAT(n, !Catch::EndsWith(".lock"));
}

TEST_CASE("deliver_mbox: a mailbox owned by another user defers; a /file may be /dev/null", "[local]") {
    kt::TempDir tmp;
    if (::geteuid() == 0) {
        kt::spit(tmp / "theirs", "");
        REQUIRE(::chown((tmp / "theirs").c_str(), 12345, 12345) == 0);
        DeliveryStatus st = deliver_mbox(tmp / "theirs", "a@b", kArrival, "", "x\n");
        CHECK(st.dsn == "4.2.0");
        CHECK(st.text == "mailbox " + tmp / "theirs" + " is not owned by the recipient (uid 12345)");
        CHECK(kt::slurp(tmp / "theirs").empty());
        // A /file has no owner rule (its directory's permissions decide).
        CHECK(deliver_mbox(tmp / "theirs", "a@b", kArrival, "", "x\n", MboxKind::file).ok());
    }
    CHECK(deliver_mbox("/dev/null", "a@b", kArrival, "", "x\n", MboxKind::file).ok());
    DeliveryStatus dev = deliver_mbox("/dev/null", "a@b", kArrival, "", "x\n", MboxKind::mailbox);
    CHECK(dev.dsn == "4.2.0");
    CHECK(dev.text == "mailbox /dev/null is not a regular file");
    kt::spit(tmp / "script", "");
    ::chmod((tmp / "script").c_str(), 0700);
    DeliveryStatus exe = deliver_mbox(tmp / "script", "a@b", kArrival, "", "x\n", MboxKind::file);
    CHECK(exe.dsn == "5.7.1");
    CHECK(kt::slurp(tmp / "script").empty());
}

namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;

kurir::mail::MboxLocking quick_locking(long attempts, milliseconds delay, seconds stale = seconds(500)) {
    kurir::mail::MboxLocking l;
    l.attempts = attempts;
    l.delay = delay;
    l.stale = stale;
    return l;
}

// Runs deliver_mbox and says how long it took; the bounds the tests put on
// it are a hundred times what the settings ask for, there only to show the
// settings are not ignored (the default waits twenty seconds).
template <typename F>
std::pair<DeliveryStatus, milliseconds> timed(F f) {
    auto start = std::chrono::steady_clock::now();
    DeliveryStatus s = f();
    return {s, std::chrono::duration_cast<milliseconds>(std::chrono::steady_clock::now() - start)};
}

}  // namespace

TEST_CASE("deliver_mbox: another's fresh dot-lock defers after deliver_lock_attempts", "[local]") {
    kt::TempDir tmp;
    std::string mbox = tmp / "ann";
    kt::spit(mbox + ".lock", "");
    auto [s, took] = timed([&] {
        return deliver_mbox(mbox, "a@b", kArrival, "", "x\n", MboxKind::mailbox, quick_locking(3, milliseconds(20)));
    });
    CHECK(s.dsn == "4.2.0");
    CHECK_THAT(s.text, Catch::Contains("unable to create lock file " + mbox + ".lock: File exists"));
    CHECK(took < seconds(4));
    CHECK(::access((mbox + ".lock").c_str(), F_OK) == 0);  // theirs, left alone
    CHECK(::access(mbox.c_str(), F_OK) != 0);              // nothing written
}

TEST_CASE("deliver_mbox: a dot-lock older than stale_lock_time is removed and the mail delivered", "[local]") {
    kt::TempDir tmp;
    std::string mbox = tmp / "ben";
    kt::spit(mbox + ".lock", "");
    // The lock turns stale (its change time over a second ago) while the
    // delivery waits for it (up to 6 s).
    auto s = deliver_mbox(mbox, "a@b", kArrival, "", "x\n", MboxKind::mailbox,
                          quick_locking(61, milliseconds(100), seconds(1)));
    CHECK(s.ok());
    CHECK(kt::slurp(mbox) == mbox_entry("a@b", kArrival, "", "x\n"));
    CHECK(::access((mbox + ".lock").c_str(), F_OK) != 0);
}

TEST_CASE("deliver_mbox: another process's fcntl lock defers after deliver_lock_attempts", "[local]") {
    kt::TempDir tmp;
    std::string mbox = tmp / "cat";
    kt::spit(mbox, "");
    ::chmod(mbox.c_str(), 0600);
    int ready[2], done[2];
    REQUIRE(::pipe(ready) == 0);
    REQUIRE(::pipe(done) == 0);
    pid_t holder = ::fork();
    REQUIRE(holder >= 0);
    if (holder == 0) {  // holds a read lock until the parent closes done
        ::close(done[1]);
        ::close(ready[0]);
        int fd = ::open(mbox.c_str(), O_RDONLY);
        struct flock fl {};
        fl.l_type = F_RDLCK;
        fl.l_whence = SEEK_SET;
        char c = ::fcntl(fd, F_SETLK, &fl) == 0 ? 'y' : 'n';
        (void)!::write(ready[1], &c, 1);
        (void)!::read(done[0], &c, 1);
        ::_exit(0);
    }
    ::close(ready[1]);
    ::close(done[0]);
    char c = 0;
    REQUIRE(::read(ready[0], &c, 1) == 1);
    REQUIRE(c == 'y');
    auto [s, took] = timed([&] {
        return deliver_mbox(mbox, "a@b", kArrival, "", "x\n", MboxKind::mailbox, quick_locking(2, milliseconds(20)));
    });
    ::close(done[1]);
    int status = 0;
    ::waitpid(holder, &status, 0);
    ::close(ready[0]);
    CHECK(s.dsn == "4.2.0");
    CHECK_THAT(s.text, Catch::Contains("unable to lock for exclusive access"));
    CHECK(took < seconds(2));
    CHECK(kt::slurp(mbox).empty());
    CHECK(::access((mbox + ".lock").c_str(), F_OK) != 0);  // our dot-lock went with the deferral
}
