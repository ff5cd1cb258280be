#include "mail/pgsql_table.hpp"

#include "mail/address.hpp"
#include "mail/pgsql_query.hpp"
#include "util/fs.hpp"
#include "util/log.hpp"
#include "util/text.hpp"

#include <dlfcn.h>
#include <libpq-fe.h>

#include <type_traits>

#include <vector>

namespace kurir::mail {
namespace {

// libpq is loaded when the first pgsql: table is opened, not linked: its
// own dependencies (Kerberos, LDAP, GnuTLS, SASL: some thirty libraries)
// would add megabytes to every kurir process's memory whether it uses a
// pgsql: table or not (t/e2e/test_cleanup_memory.py), as Postfix keeps
// pgsql in a module that it loads on demand.
struct Libpq {
    decltype(&::PQclear) clear = nullptr;
    decltype(&::PQconnectdbParams) connectdbParams = nullptr;
    decltype(&::PQerrorMessage) errorMessage = nullptr;
    decltype(&::PQescapeStringConn) escapeStringConn = nullptr;
    decltype(&::PQexec) exec = nullptr;
    decltype(&::PQfinish) finish = nullptr;
    decltype(&::PQgetisnull) getisnull = nullptr;
    decltype(&::PQgetlength) getlength = nullptr;
    decltype(&::PQgetvalue) getvalue = nullptr;
    decltype(&::PQnfields) nfields = nullptr;
    decltype(&::PQntuples) ntuples = nullptr;
    decltype(&::PQresultErrorMessage) resultErrorMessage = nullptr;
    decltype(&::PQresultStatus) resultStatus = nullptr;
    decltype(&::PQsetNoticeProcessor) setNoticeProcessor = nullptr;
    decltype(&::PQstatus) status = nullptr;
};

util::Result<Libpq> load_libpq() {
    void* handle = ::dlopen("libpq.so.5", RTLD_NOW | RTLD_LOCAL);
    if (!handle) return util::fail(std::string("cannot load libpq.so.5: ") + ::dlerror());
    Libpq pq;
    bool ok = true;
    auto bind = [&](auto& fn, const char* name) {
        void* sym = ::dlsym(handle, name);
        ok = ok && sym != nullptr;
        fn = reinterpret_cast<std::remove_reference_t<decltype(fn)>>(sym);
    };
    bind(pq.clear, "PQclear");
    bind(pq.connectdbParams, "PQconnectdbParams");
    bind(pq.errorMessage, "PQerrorMessage");
    bind(pq.escapeStringConn, "PQescapeStringConn");
    bind(pq.exec, "PQexec");
    bind(pq.finish, "PQfinish");
    bind(pq.getisnull, "PQgetisnull");
    bind(pq.getlength, "PQgetlength");
    bind(pq.getvalue, "PQgetvalue");
    bind(pq.nfields, "PQnfields");
    bind(pq.ntuples, "PQntuples");
    bind(pq.resultErrorMessage, "PQresultErrorMessage");
    bind(pq.resultStatus, "PQresultStatus");
    bind(pq.setNoticeProcessor, "PQsetNoticeProcessor");
    bind(pq.status, "PQstatus");
    if (!ok) return util::fail("libpq.so.5 lacks a function kurir uses");
    return pq;
}

// Loaded once per process, then never changed.
const util::Result<Libpq>& libpq_loaded() {
    static const util::Result<Libpq> loaded = load_libpq();
    return loaded;
}

// Only called once open() found it loaded.
const Libpq& libpq() { return *libpq_loaded(); }

// libpq's messages have several lines ("...failed: Connection refused\n\tIs
// the server running..."): one line for the log.
std::string one_line(std::string_view text) {
    std::string out;
    for (char c : util::trim(text)) {
        bool space = c == '\n' || c == '\t' || c == '\r' || c == ' ';
        if (space && (out.empty() || out.back() == ' ')) continue;
        out += space ? ' ' : c;
    }
    return out;
}

std::string pq_error(const PGconn* conn) { return one_line(libpq().errorMessage(conn)); }

std::string describe(const PgsqlHost& h) {
    switch (h.kind) {
        case PgsqlHost::Kind::uri: return "postgresql://...";  // may hold a password
        case PgsqlHost::Kind::unix_socket: return "unix:" + h.host;
        case PgsqlHost::Kind::inet: break;
    }
    return h.port.empty() ? h.host : h.host + ":" + h.port;
}

void ignore_notice(void*, const char*) {}

}  // namespace

struct PgsqlTable::Connection {
    PGconn* conn = nullptr;
    std::string host;  // for log lines
    ~Connection() {
        if (conn) libpq().finish(conn);
    }
};

util::Result<std::shared_ptr<PgsqlTable>> PgsqlTable::open(const std::string& path) {
    if (const auto& pq = libpq_loaded(); !pq) return util::fail("pgsql:" + path + ": " + pq.error().text);
    auto text = util::read_file(path);
    if (!text) return std::unexpected(text.error());
    auto cf = parse_pgsql_cf(*text, path);
    if (!cf) return std::unexpected(cf.error());
    return std::make_shared<PgsqlTable>(path, std::move(*cf));
}

PgsqlTable::PgsqlTable(std::string path, PgsqlCf cf) : path_(std::move(path)), cf_(std::move(cf)) {}
PgsqlTable::~PgsqlTable() = default;

namespace {

// The first host of the list that accepts the connection; the error names
// each host that did not.
util::Result<std::unique_ptr<PgsqlTable::Connection>> connect_any(const std::string& path, const PgsqlCf& cf);

}  // namespace

util::Result<std::optional<std::string>> PgsqlTable::lookup(std::string_view key_in) {
    // Keys are looked up in lower case, as Postfix folds them for SQL tables.
    const std::string key = lowercase(key_in);
    auto fail = [&](const std::string& why) {
        return util::fail("pgsql:" + path_ + ": lookup " + key + ": " + why);
    };
    if (!pgsql_domain_allows(cf_.domains, key)) return std::optional<std::string>();
    // Once more after a connection that turned out dead (the server was
    // restarted since the last lookup).
    for (int attempt = 0; attempt < 2; ++attempt) {
        bool fresh = false;
        if (!conn_ || libpq().status(conn_->conn) != CONNECTION_OK) {
            conn_.reset();
            auto c = connect_any(path_, cf_);
            if (!c) return fail(c.error().text);
            conn_ = std::move(*c);
            fresh = true;
        }
        PGconn* pg = conn_->conn;
        SqlEscaper escape = [pg](std::string_view piece) -> util::Result<std::string> {
            std::string out(piece.size() * 2 + 1, '\0');
            int err = 0;
            size_t n = libpq().escapeStringConn(pg, out.data(), piece.data(), piece.size(), &err);
            if (err) return util::fail("cannot escape the key: " + pq_error(pg));
            out.resize(n);
            return out;
        };
        auto query = expand_pgsql_query(cf_.query, key, escape);
        if (!query) return fail(query.error().text);
        if (!*query) return std::optional<std::string>();
        PGresult* res = libpq().exec(pg, (*query)->c_str());
        ExecStatusType status = res ? libpq().resultStatus(res) : PGRES_FATAL_ERROR;
        if (status != PGRES_TUPLES_OK) {
            std::string why = res ? one_line(libpq().resultErrorMessage(res)) : pq_error(pg);
            if (why.empty()) why = pq_error(pg);
            if (res) libpq().clear(res);
            if (libpq().status(pg) != CONNECTION_OK && !fresh) {
                util::msg_warn("pgsql:{}: connection to {} lost: {}", path_, conn_->host, why);
                conn_.reset();
                continue;
            }
            if (status == PGRES_COMMAND_OK) why = "the query returned no rows (not a SELECT)";
            return fail(why);
        }
        std::vector<PgsqlRow> rows(static_cast<size_t>(libpq().ntuples(res)));
        const int fields = libpq().nfields(res);
        for (int i = 0; i < libpq().ntuples(res); ++i)
            for (int j = 0; j < fields; ++j)
                rows[static_cast<size_t>(i)].push_back(
                    libpq().getisnull(res, i, j) ? std::nullopt
                                           : std::optional<std::string>(std::string(
                                                 libpq().getvalue(res, i, j), static_cast<size_t>(libpq().getlength(res, i, j)))));
        libpq().clear(res);
        auto value = format_pgsql_result(rows, cf_.result_format, key, cf_.expansion_limit);
        if (!value) return fail(value.error().text);
        return value;
    }
    return fail("connection lost twice");
}

namespace {

util::Result<std::unique_ptr<PgsqlTable::Connection>> connect_any(const std::string& path, const PgsqlCf& cf) {
    std::string errors;
    const std::string timeout = std::to_string(cf.connect_timeout);
    for (const auto& h : cf.hosts) {
        std::vector<const char*> keys, values;
        auto add = [&](const char* k, const std::string& v) {
            if (v.empty()) return;
            keys.push_back(k);
            values.push_back(v.c_str());
        };
        // A URI first, so that the parameters after it override its parts.
        if (h.kind == PgsqlHost::Kind::uri) {
            add("dbname", h.host);
        } else {
            add("host", h.host);
            add("port", h.port);
        }
        add("dbname", cf.dbname);
        add("user", cf.user);
        add("password", cf.password);
        add("client_encoding", cf.encoding);
        if (cf.connect_timeout > 0) add("connect_timeout", timeout);
        keys.push_back(nullptr);
        values.push_back(nullptr);
        PGconn* conn = libpq().connectdbParams(keys.data(), values.data(), h.kind == PgsqlHost::Kind::uri ? 1 : 0);
        auto c = std::make_unique<PgsqlTable::Connection>();
        c->conn = conn;
        c->host = describe(h);
        if (conn && libpq().status(conn) == CONNECTION_OK) {
            libpq().setNoticeProcessor(conn, ignore_notice, nullptr);
            return c;
        }
        std::string why = conn ? pq_error(conn) : "out of memory";
        util::msg_warn("pgsql:{}: connect to {}: {}", path, c->host, why);
        if (!errors.empty()) errors += "; ";
        errors += "connect to " + c->host + ": " + why;
    }
    return util::fail(errors.empty() ? "no hosts" : errors);
}

}  // namespace

}  // namespace kurir::mail
