// Helpers shared by the unit tests: a configuration from text, a temporary
// directory removed on scope exit, whole-file reads, and the process's log
// captured in a file, a file's sync made to fail.
#pragma once

#include "mail/config.hpp"
#include "util/link_order.hpp"

#include <catch2/catch.hpp>
#include "util/log.hpp"

#include <dirent.h>
#include <fcntl.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <stdlib.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstddef>
#include <fstream>
#include <functional>
#include <sstream>
#include <stdexcept>
#include <string>
#include <vector>

namespace kurir::test {

// A configuration from main.cf text alone (no config directory); a text
// that does not load fails the test.
inline mail::Config config_from(const std::string& main_cf) {
    auto cfg = mail::Config::from_text(main_cf, "/nonexistent");
    if (!cfg) throw std::runtime_error("config: " + cfg.error().text);
    return std::move(*cfg);
}

inline void remove_tree(const std::string& path) {
    struct stat st {};
    if (::lstat(path.c_str(), &st) < 0) return;
    if (S_ISDIR(st.st_mode)) {
        if (DIR* d = ::opendir(path.c_str())) {
            while (struct dirent* e = ::readdir(d)) {
                std::string n = e->d_name;
                if (n != "." && n != "..") remove_tree(path + "/" + n);
            }
            ::closedir(d);
        }
        ::rmdir(path.c_str());
    } else {
        ::unlink(path.c_str());
    }
}

class TempDir {
public:
    TempDir() {
        std::string tmpl = "/tmp/kurir-unit-XXXXXX";
        if (::mkdtemp(tmpl.data()) == nullptr) throw std::runtime_error("mkdtemp failed");
        path_ = tmpl;
    }
    TempDir(const TempDir&) = delete;
    TempDir& operator=(const TempDir&) = delete;
    ~TempDir() { remove_tree(path_); }
    const std::string& path() const { return path_; }
    std::string operator/(const std::string& name) const { return path_ + "/" + name; }

private:
    std::string path_;
};

inline std::string slurp(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    std::ostringstream ss;
    ss << in.rdbuf();
    return ss.str();
}

inline void spit(const std::string& path, const std::string& data) {
    std::ofstream out(path, std::ios::binary | std::ios::trunc);
    out << data;
}

// Names in a directory, without "." and "..".
inline std::vector<std::string> dir_entries(const std::string& path) {
    std::vector<std::string> out;
    if (DIR* d = ::opendir(path.c_str())) {
        while (struct dirent* e = ::readdir(d)) {
            std::string n = e->d_name;
            if (n != "." && n != "..") out.push_back(n);
        }
        ::closedir(d);
    }
    return out;
}

inline bool is_dir(const std::string& path) {
    struct stat st {};
    return ::stat(path.c_str(), &st) == 0 && S_ISDIR(st.st_mode);
}

// While it lives, what this process logs goes to a file of its own.
class CapturedLog {
public:
    CapturedLog() { util::log_init({"kurir", "test", "unit", dir_ / "maillog", false}); }
    CapturedLog(const CapturedLog&) = delete;
    CapturedLog& operator=(const CapturedLog&) = delete;
    ~CapturedLog() { util::log_init({}); }
    std::string text() const { return slurp(dir_ / "maillog"); }

private:
    TempDir dir_;
};

// From here on fsync(fd) fails with EIO in this process (a seccomp filter:
// there is no way back, so only in a child).
inline bool fail_fsync_of(int fd) {
    struct sock_filter program[] = {
        BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, nr)),
        BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, SYS_fsync, 0, 3),
        BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, args[0])),
        BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, static_cast<unsigned>(fd), 0, 1),
        BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ERRNO | (EIO & SECCOMP_RET_DATA)),
        BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
    };
    struct sock_fprog prog {static_cast<unsigned short>(sizeof program / sizeof program[0]), program};
    return ::prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) == 0 && ::prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &prog) == 0;
}

// Runs create (which makes one file in dir and returns its error text, empty
// on success) in a child in which the sync after the link fails with EIO:
// the file's fsync where the journal orders the link (the file's descriptor
// is the first one free), else the directory's (the next one). The child's
// exit status: 0 it succeeded, 1 it failed with EIO, 2 otherwise; 3 no
// seccomp filter here, 4 the two lowest free descriptors are not
// consecutive (both: not tested).
inline int status_when_sync_after_link_fails(const std::string& dir, const std::function<std::string()>& create) {
    pid_t child = ::fork();
    if (child < 0) throw std::runtime_error("fork");
    if (child == 0) {
        int d = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        bool journal = util::link_order_of(d) == util::LinkOrder::journal;  // asked (and remembered) now
        ::close(d);
        int first_free = ::open("/dev/null", O_RDONLY | O_CLOEXEC);
        ::close(first_free);
        if (first_free < 0 || (::fcntl(first_free + 1, F_GETFD) >= 0 || errno != EBADF)) ::_exit(4);
        if (!fail_fsync_of(journal ? first_free : first_free + 1)) ::_exit(3);
        std::string error = create();
        ::_exit(error.empty() ? 0 : error.find("Input/output error") != std::string::npos ? 1 : 2);
    }
    int status = 0;
    if (::waitpid(child, &status, 0) != child || !WIFEXITED(status)) return -1;
    return WEXITSTATUS(status);
}

// Runs status_when_sync_after_link_fails and checks that create failed
// saying why; false (with a warning) where no such child can be made here.
inline bool failed_when_sync_after_link_fails(const std::string& dir, const std::function<std::string()>& create) {
    int status = status_when_sync_after_link_fails(dir, create);
    if (status == 3 || status == 4) {
        WARN("no seccomp filter, or no two consecutive free descriptors: a failed sync not tested here");
        return false;
    }
    CHECK(status == 1);
    return true;
}

}  // namespace kurir::test
