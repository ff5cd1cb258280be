// Helpers shared by the unit tests: a configuration from text, a temporary
// directory removed on scope exit, whole-file reads, and the process's log
// captured in a file.
#pragma once

#include "mail/config.hpp"
#include "util/log.hpp"

#include <dirent.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include <fstream>
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

}  // namespace kurir::test
