#include "server/libssl.hpp"

#include "util/dl_library.hpp"
#include "util/log.hpp"

// The forwarders below are this program's own: hidden, so that a library
// loaded with the program (libcrypto in the unit tests) never calls them
// in place of its own functions.
#pragma GCC visibility push(hidden)
#include <event2/bufferevent_ssl.h>
#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>

// Every OpenSSL and libevent_openssl function the TLS code calls, after
// the macros' expansion (SSL_CTX_set_min_proto_version is SSL_CTX_ctrl,
// sk_X509_INFO_num is OPENSSL_sk_num). One missing here is a link error.
#define KURIR_TLS_FUNCTIONS(X)                                                                                         \
    X(BIO_free)                                                                                                        \
    X(BIO_new_mem_buf)                                                                                                 \
    X(ERR_clear_error)                                                                                                 \
    X(ERR_error_string_n)                                                                                              \
    X(ERR_get_error)                                                                                                   \
    X(OPENSSL_sk_num)                                                                                                  \
    X(OPENSSL_sk_pop_free)                                                                                             \
    X(OPENSSL_sk_value)                                                                                                \
    X(PEM_X509_INFO_read_bio)                                                                                          \
    X(RAND_bytes)                                                                                                      \
    X(SSL_CIPHER_get_bits)                                                                                             \
    X(SSL_CIPHER_get_name)                                                                                             \
    X(SSL_CTX_check_private_key)                                                                                       \
    X(SSL_CTX_ctrl)                                                                                                    \
    X(SSL_CTX_free)                                                                                                    \
    X(SSL_CTX_load_verify_locations)                                                                                   \
    X(SSL_CTX_new)                                                                                                     \
    X(SSL_CTX_set_cipher_list)                                                                                         \
    X(SSL_CTX_set_default_verify_paths)                                                                                \
    X(SSL_CTX_set_options)                                                                                             \
    X(SSL_CTX_set_session_id_context)                                                                                  \
    X(SSL_CTX_set_verify)                                                                                              \
    X(SSL_CTX_use_PrivateKey)                                                                                          \
    X(SSL_CTX_use_certificate)                                                                                         \
    X(SSL_ctrl)                                                                                                        \
    X(SSL_free)                                                                                                        \
    X(SSL_get0_param)                                                                                                  \
    X(SSL_get1_peer_certificate)                                                                                       \
    X(SSL_get_current_cipher)                                                                                          \
    X(SSL_get_verify_result)                                                                                           \
    X(SSL_get_version)                                                                                                 \
    X(SSL_new)                                                                                                         \
    X(TLS_client_method)                                                                                               \
    X(TLS_server_method)                                                                                               \
    X(X509_INFO_free)                                                                                                  \
    X(X509_VERIFY_PARAM_set1_host)                                                                                     \
    X(X509_VERIFY_PARAM_set1_ip_asc)                                                                                   \
    X(X509_VERIFY_PARAM_set_hostflags)                                                                                 \
    X(X509_free)                                                                                                       \
    X(X509_verify_cert_error_string)                                                                                   \
    X(bufferevent_get_openssl_error)                                                                                   \
    X(bufferevent_openssl_filter_new)                                                                                  \
    X(bufferevent_openssl_get_ssl)                                                                                     \
    X(bufferevent_openssl_set_allow_dirty_shutdown)

namespace kurir::server {
namespace {

// libevent_openssl needs libssl and libcrypto: one dlopen maps all three,
// and a lookup through its handle searches them too.
constexpr const char* kLibrary = "libevent_openssl-2.1.so.7";

struct TlsLibrary {
#define KURIR_MEMBER(name) decltype(&::name) name = nullptr;
    KURIR_TLS_FUNCTIONS(KURIR_MEMBER)
#undef KURIR_MEMBER
};

using Loaded = util::LoadedLibrary<TlsLibrary>;

const Loaded& loaded() {
    // Never destroyed: an SSL_CTX a static holds is freed through it at exit.
    // (Looked up through the handle: never this program's forwarders below.)
    static const auto* once = new Loaded(util::load_library<TlsLibrary>(kLibrary, [](TlsLibrary& f, auto bind) {
#define KURIR_BIND(name) bind(f.name, #name);
        KURIR_TLS_FUNCTIONS(KURIR_BIND)
#undef KURIR_BIND
    }));
    return *once;
}

const TlsLibrary& tls() {
    const Loaded& l = loaded();
    if (!l.status) util::msg_fatal("TLS: {}", l.status.error().text);
    return l.functions;
}

}  // namespace

const util::Result<void>& load_tls_library() { return loaded().status; }

}  // namespace kurir::server

using kurir::server::tls;

// The forwarders, with OpenSSL's and libevent's own declarations: a
// signature that differs from the header's does not compile.
extern "C" {
int BIO_free(BIO* a) { return tls().BIO_free(a); }
BIO* BIO_new_mem_buf(const void* buf, int len) { return tls().BIO_new_mem_buf(buf, len); }
void ERR_clear_error(void) { tls().ERR_clear_error(); }
void ERR_error_string_n(unsigned long e, char* buf, size_t len) { tls().ERR_error_string_n(e, buf, len); }
unsigned long ERR_get_error(void) { return tls().ERR_get_error(); }
int OPENSSL_sk_num(const OPENSSL_STACK* st) { return tls().OPENSSL_sk_num(st); }
void OPENSSL_sk_pop_free(OPENSSL_STACK* st, void (*func)(void*)) { tls().OPENSSL_sk_pop_free(st, func); }
void* OPENSSL_sk_value(const OPENSSL_STACK* st, int i) { return tls().OPENSSL_sk_value(st, i); }
STACK_OF(X509_INFO) * PEM_X509_INFO_read_bio(BIO* bp, STACK_OF(X509_INFO) * sk, pem_password_cb* cb, void* u) {
    return tls().PEM_X509_INFO_read_bio(bp, sk, cb, u);
}
int RAND_bytes(unsigned char* buf, int num) { return tls().RAND_bytes(buf, num); }
int SSL_CIPHER_get_bits(const SSL_CIPHER* c, int* alg_bits) { return tls().SSL_CIPHER_get_bits(c, alg_bits); }
const char* SSL_CIPHER_get_name(const SSL_CIPHER* c) { return tls().SSL_CIPHER_get_name(c); }
int SSL_CTX_check_private_key(const SSL_CTX* ctx) { return tls().SSL_CTX_check_private_key(ctx); }
long SSL_CTX_ctrl(SSL_CTX* ctx, int cmd, long larg, void* parg) { return tls().SSL_CTX_ctrl(ctx, cmd, larg, parg); }
void SSL_CTX_free(SSL_CTX* ctx) { tls().SSL_CTX_free(ctx); }
int SSL_CTX_load_verify_locations(SSL_CTX* ctx, const char* file, const char* path) {
    return tls().SSL_CTX_load_verify_locations(ctx, file, path);
}
SSL_CTX* SSL_CTX_new(const SSL_METHOD* meth) { return tls().SSL_CTX_new(meth); }
int SSL_CTX_set_cipher_list(SSL_CTX* ctx, const char* str) { return tls().SSL_CTX_set_cipher_list(ctx, str); }
int SSL_CTX_set_default_verify_paths(SSL_CTX* ctx) { return tls().SSL_CTX_set_default_verify_paths(ctx); }
uint64_t SSL_CTX_set_options(SSL_CTX* ctx, uint64_t op) { return tls().SSL_CTX_set_options(ctx, op); }
int SSL_CTX_set_session_id_context(SSL_CTX* ctx, const unsigned char* sid, unsigned int len) {
    return tls().SSL_CTX_set_session_id_context(ctx, sid, len);
}
void SSL_CTX_set_verify(SSL_CTX* ctx, int mode, SSL_verify_cb cb) { tls().SSL_CTX_set_verify(ctx, mode, cb); }
int SSL_CTX_use_PrivateKey(SSL_CTX* ctx, EVP_PKEY* pkey) { return tls().SSL_CTX_use_PrivateKey(ctx, pkey); }
int SSL_CTX_use_certificate(SSL_CTX* ctx, X509* x) { return tls().SSL_CTX_use_certificate(ctx, x); }
long SSL_ctrl(SSL* ssl, int cmd, long larg, void* parg) { return tls().SSL_ctrl(ssl, cmd, larg, parg); }
void SSL_free(SSL* ssl) { tls().SSL_free(ssl); }
X509_VERIFY_PARAM* SSL_get0_param(SSL* ssl) { return tls().SSL_get0_param(ssl); }
X509* SSL_get1_peer_certificate(const SSL* s) { return tls().SSL_get1_peer_certificate(s); }
const SSL_CIPHER* SSL_get_current_cipher(const SSL* s) { return tls().SSL_get_current_cipher(s); }
long SSL_get_verify_result(const SSL* ssl) { return tls().SSL_get_verify_result(ssl); }
const char* SSL_get_version(const SSL* s) { return tls().SSL_get_version(s); }
SSL* SSL_new(SSL_CTX* ctx) { return tls().SSL_new(ctx); }
const SSL_METHOD* TLS_client_method(void) { return tls().TLS_client_method(); }
const SSL_METHOD* TLS_server_method(void) { return tls().TLS_server_method(); }
void X509_INFO_free(X509_INFO* a) { tls().X509_INFO_free(a); }
int X509_VERIFY_PARAM_set1_host(X509_VERIFY_PARAM* param, const char* name, size_t namelen) {
    return tls().X509_VERIFY_PARAM_set1_host(param, name, namelen);
}
int X509_VERIFY_PARAM_set1_ip_asc(X509_VERIFY_PARAM* param, const char* ipasc) {
    return tls().X509_VERIFY_PARAM_set1_ip_asc(param, ipasc);
}
void X509_VERIFY_PARAM_set_hostflags(X509_VERIFY_PARAM* param, unsigned int flags) {
    tls().X509_VERIFY_PARAM_set_hostflags(param, flags);
}
void X509_free(X509* a) { tls().X509_free(a); }
const char* X509_verify_cert_error_string(long n) { return tls().X509_verify_cert_error_string(n); }
unsigned long bufferevent_get_openssl_error(struct bufferevent* bev) { return tls().bufferevent_get_openssl_error(bev); }
struct bufferevent* bufferevent_openssl_filter_new(struct event_base* base, struct bufferevent* underlying,
                                                   struct ssl_st* ssl, enum bufferevent_ssl_state state,
                                                   int options) {
    return tls().bufferevent_openssl_filter_new(base, underlying, ssl, state, options);
}
struct ssl_st* bufferevent_openssl_get_ssl(struct bufferevent* bufev) {
    return tls().bufferevent_openssl_get_ssl(bufev);
}
void bufferevent_openssl_set_allow_dirty_shutdown(struct bufferevent* bev, int allow_dirty_shutdown) {
    tls().bufferevent_openssl_set_allow_dirty_shutdown(bev, allow_dirty_shutdown);
}
}
#pragma GCC visibility pop
