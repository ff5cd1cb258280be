// NAME
//   tls-source - the benchmark's SMTP client with STARTTLS on every session
// DESCRIPTION
//   Postfix's smtp-source has no TLS, so the tls-N scenario of bench.py uses
//   this: SESSIONS threads, each opening one session per message until COUNT
//   messages are sent. Every session is EHLO, STARTTLS, a full handshake (no
//   resumption, no certificate check), EHLO again, MAIL, RCPT, DATA with a
//   message of SIZE bytes, QUIT. Exits 0 only when every message got a 250.
// USAGE
//   tls-source -s SESSIONS -m COUNT -l SIZE -f SENDER -t RECIPIENT HOST:PORT
// Not installed; bench.py runs it from the build directory.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <thread>
#include <vector>

namespace {

struct Options {
    int sessions = 1;
    long messages = 1;
    long size = 4096;
    std::string sender = "bench@client.test";
    std::string recipient;
    std::string host = "127.0.0.1";
    int port = 25;
};

// A line-oriented reader over either the plain socket or the TLS session.
class Conn {
public:
    explicit Conn(int fd) : fd_(fd) {}
    ~Conn() {
        if (ssl_) SSL_free(ssl_);
        ::close(fd_);
    }
    Conn(const Conn&) = delete;
    Conn& operator=(const Conn&) = delete;

    bool start_tls(SSL_CTX* ctx) {
        ssl_ = SSL_new(ctx);
        SSL_set_fd(ssl_, fd_);
        buffered_.clear();
        return SSL_connect(ssl_) == 1;
    }

    bool send(const std::string& bytes) {
        size_t off = 0;
        while (off < bytes.size()) {
            long n = ssl_ ? SSL_write(ssl_, bytes.data() + off, static_cast<int>(bytes.size() - off))
                          : ::send(fd_, bytes.data() + off, bytes.size() - off, MSG_NOSIGNAL);
            if (n <= 0) return false;
            off += static_cast<size_t>(n);
        }
        return true;
    }

    // The reply's code once its last line is in, or 0 on a broken connection.
    int reply() {
        for (;;) {
            size_t eol = buffered_.find("\r\n");
            while (eol != std::string::npos) {
                std::string line = buffered_.substr(0, eol);
                buffered_.erase(0, eol + 2);
                if (line.size() < 4) return 0;
                if (line[3] == ' ') return std::atoi(line.substr(0, 3).c_str());
                eol = buffered_.find("\r\n");
            }
            char buf[4096];
            long n = ssl_ ? SSL_read(ssl_, buf, sizeof buf) : ::recv(fd_, buf, sizeof buf, 0);
            if (n <= 0) return 0;
            buffered_.append(buf, static_cast<size_t>(n));
        }
    }

    bool command(const std::string& line, int want) { return send(line + "\r\n") && reply() == want; }

private:
    int fd_;
    SSL* ssl_ = nullptr;
    std::string buffered_;
};

int connect_to(const Options& o) {
    int fd = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in sa{};
    sa.sin_family = AF_INET;
    sa.sin_port = htons(static_cast<uint16_t>(o.port));
    if (fd < 0 || inet_pton(AF_INET, o.host.c_str(), &sa.sin_addr) != 1 ||
        ::connect(fd, reinterpret_cast<sockaddr*>(&sa), sizeof sa) != 0) {
        if (fd >= 0) ::close(fd);
        return -1;
    }
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    return fd;
}

std::string make_message(const Options& o) {
    std::string m = "From: <" + o.sender + ">\r\nTo: <" + o.recipient + ">\r\nSubject: tls-source\r\n\r\n";
    std::string line(72, 'x');
    while (static_cast<long>(m.size()) < o.size) m += line + "\r\n";
    return m + ".\r\n";
}

bool one_session(const Options& o, SSL_CTX* ctx, const std::string& message) {
    int fd = connect_to(o);
    if (fd < 0) return false;
    Conn c(fd);
    return c.reply() == 220 && c.command("EHLO tls-source.test", 250) && c.command("STARTTLS", 220) &&
           c.start_tls(ctx) && c.command("EHLO tls-source.test", 250) &&
           c.command("MAIL FROM:<" + o.sender + ">", 250) && c.command("RCPT TO:<" + o.recipient + ">", 250) &&
           c.command("DATA", 354) && c.send(message) && c.reply() == 250 && c.command("QUIT", 221);
}

bool parse(int argc, char** argv, Options& o) {
    int ch;
    while ((ch = getopt(argc, argv, "s:m:l:f:t:")) != -1) {
        switch (ch) {
            case 's': o.sessions = std::atoi(optarg); break;
            case 'm': o.messages = std::atol(optarg); break;
            case 'l': o.size = std::atol(optarg); break;
            case 'f': o.sender = optarg; break;
            case 't': o.recipient = optarg; break;
            default: return false;
        }
    }
    if (optind + 1 != argc || o.recipient.empty() || o.sessions < 1 || o.messages < 1) return false;
    std::string target = argv[optind];
    size_t colon = target.rfind(':');
    if (colon == std::string::npos) return false;
    o.host = target.substr(0, colon);
    o.port = std::atoi(target.c_str() + colon + 1);
    return o.port > 0;
}

}  // namespace

int main(int argc, char** argv) {
    Options o;
    if (!parse(argc, argv, o)) {
        std::fprintf(stderr, "usage: tls-source -s SESSIONS -m COUNT -l SIZE -f SENDER -t RECIPIENT HOST:PORT\n");
        return 64;
    }
    SSL_CTX* ctx = SSL_CTX_new(TLS_client_method());
    SSL_CTX_set_verify(ctx, SSL_VERIFY_NONE, nullptr);
    SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_OFF);
    const std::string message = make_message(o);
    std::atomic<long> next{0}, sent{0}, failed{0};
    std::vector<std::thread> threads;
    for (int i = 0; i < o.sessions; ++i)
        threads.emplace_back([&] {
            while (next.fetch_add(1) < o.messages) (one_session(o, ctx, message) ? sent : failed).fetch_add(1);
        });
    for (auto& t : threads) t.join();
    SSL_CTX_free(ctx);
    std::printf("tls-source: %ld sent, %ld failed\n", sent.load(), failed.load());
    return failed.load() == 0 ? 0 : 1;
}
