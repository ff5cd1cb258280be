#include "util/cdb_map.hpp"
#include "util/table_libraries.hpp"
#include "util/text.hpp"

#include <cdb.h>
#include <fcntl.h>
#include <unistd.h>

#include <cctype>
#include <cerrno>
#include <cstring>
#include <map>

namespace kurir::util {

struct CdbMap::Impl {
    int fd = -1;
    std::string path;
    // tinycdb's lookups change the handle's current record.
    mutable struct cdb db {};
    ~Impl() {
        if (fd >= 0) {
            cdb_free(&db);
            ::close(fd);
        }
    }
};

CdbMap::CdbMap(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
CdbMap::~CdbMap() = default;
CdbMap::CdbMap(CdbMap&&) noexcept = default;
CdbMap& CdbMap::operator=(CdbMap&&) noexcept = default;

namespace {

Result<std::string> read_at(struct cdb* db, unsigned len, unsigned pos, const std::string& path) {
    std::string s(len, '\0');
    if (cdb_read(db, s.data(), len, pos) < 0) return fail("read database " + path + ": " + std::strerror(errno));
    if (!s.empty() && s.back() == '\0') s.pop_back();
    return s;
}

}  // namespace

Result<CdbMap> CdbMap::open(const std::string& path) {
    if (const auto& library = load_cdb(); !library) return std::unexpected(library.error());
    auto impl = std::make_unique<Impl>();
    int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) return fail_errno("open database " + path);
    if (cdb_init(&impl->db, fd) < 0) {
        ::close(fd);
        return fail("open database " + path + ": not a cdb file");
    }
    impl->fd = fd;
    impl->path = path;
    return CdbMap(std::move(impl));
}

Result<std::optional<std::string>> CdbMap::lookup(std::string_view key) const {
    std::string as_given(key);
    std::string lowered = lowercase(key);
    for (const std::string* k : {&as_given, &lowered}) {
        if (k == &lowered && lowered == as_given) break;
        for (bool nul : {true, false}) {
            std::string want = nul ? *k + '\0' : *k;
            int rc = cdb_find(&impl_->db, want.data(), static_cast<unsigned>(want.size()));
            if (rc < 0) return fail("database lookup " + impl_->path + ": " + std::strerror(errno));
            if (rc > 0) {
                auto v = read_at(&impl_->db, cdb_datalen(&impl_->db), cdb_datapos(&impl_->db), impl_->path);
                if (!v) return std::unexpected(v.error());
                return std::optional<std::string>(std::move(*v));
            }
        }
    }
    return std::optional<std::string>();
}

Result<std::vector<std::pair<std::string, std::string>>> CdbMap::entries() const {
    std::vector<std::pair<std::string, std::string>> out;
    unsigned pos = 0;
    cdb_seqinit(&pos, &impl_->db);
    int rc;
    while ((rc = cdb_seqnext(&pos, &impl_->db)) > 0) {
        auto k = read_at(&impl_->db, cdb_keylen(&impl_->db), cdb_keypos(&impl_->db), impl_->path);
        if (!k) return std::unexpected(k.error());
        auto v = read_at(&impl_->db, cdb_datalen(&impl_->db), cdb_datapos(&impl_->db), impl_->path);
        if (!v) return std::unexpected(v.error());
        out.emplace_back(std::move(*k), std::move(*v));
    }
    if (rc < 0) return fail("read database " + impl_->path + ": " + std::strerror(errno));
    return out;
}

Result<void> build_cdb(const std::string& path, const std::vector<std::pair<std::string, std::string>>& entries) {
    if (const auto& library = load_cdb(); !library) return std::unexpected(library.error());
    // Later duplicates win; each key is written once, in first-seen order.
    std::map<std::string, size_t> last;
    for (size_t i = 0; i < entries.size(); ++i) last[lowercase(entries[i].first)] = i;
    std::string tmp = path + ".tmp" + std::to_string(::getpid());
    ::unlink(tmp.c_str());
    int fd = ::open(tmp.c_str(), O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
    if (fd < 0) return fail_errno("create database " + tmp);
    auto failed = [&](const std::string& what) {
        auto e = fail_errno(what + " " + tmp);
        ::close(fd);
        ::unlink(tmp.c_str());
        return e;
    };
    struct cdb_make mk {};
    if (cdb_make_start(&mk, fd) < 0) return failed("write database");
    for (size_t i = 0; i < entries.size(); ++i) {
        std::string k = lowercase(entries[i].first);
        if (last[k] != i) continue;
        k += '\0';
        std::string v = entries[i].second + '\0';
        if (cdb_make_add(&mk, k.data(), static_cast<unsigned>(k.size()), v.data(), static_cast<unsigned>(v.size())) < 0)
            return failed("write database");
    }
    if (cdb_make_finish(&mk) < 0) return failed("write database");
    if (::fsync(fd) < 0) return failed("sync database");
    ::close(fd);
    if (::rename(tmp.c_str(), path.c_str()) < 0) {
        std::string why = std::strerror(errno);
        ::unlink(tmp.c_str());
        return fail("rename " + tmp + " to " + path + ": " + why);
    }
    return {};
}

}  // namespace kurir::util
