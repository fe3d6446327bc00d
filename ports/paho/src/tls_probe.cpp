// Copyright 2026 The Tether Authors. SPDX-License-Identifier: Apache-2.0
#include "tls_probe.hpp"

#include <arpa/inet.h>
#include <netdb.h>
#include <netinet/in.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509_vfy.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <memory>

namespace tether::port::paho_detail {
namespace {

using Clock = std::chrono::steady_clock;
constexpr std::chrono::milliseconds kSlice{50};        // cancellation is checked this often
constexpr std::chrono::milliseconds kAlertWait{1000};  // TLS 1.3: the broker's verdict on our certificate
constexpr int kAlertReasonOffset = 1000;               // SSL_AD_REASON_OFFSET

std::uint16_t clamp16(long value) {
  return static_cast<std::uint16_t>(value < 0 ? 0 : (value > 0xFFFF ? 0xFFFF : value));
}

class Socket {
 public:
  Socket() = default;
  explicit Socket(int fd) : fd_(fd) {}
  ~Socket() { reset(); }
  Socket(const Socket&) = delete;
  Socket& operator=(const Socket&) = delete;
  Socket& operator=(Socket&& other) noexcept {
    if (this != &other) {
      reset();
      fd_ = other.fd_;
      other.fd_ = -1;
    }
    return *this;
  }
  int get() const { return fd_; }
  void reset() {
    if (fd_ >= 0) ::close(fd_);
    fd_ = -1;
  }

 private:
  int fd_ = -1;
};

enum class Wait { kReady, kTimeout, kCancelled, kError };

Wait wait_for(int fd, short events, Clock::time_point deadline, const std::atomic<bool>& cancel) {
  for (;;) {
    if (cancel.load()) return Wait::kCancelled;
    const auto now = Clock::now();
    if (now >= deadline) return Wait::kTimeout;
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - now);
    const int slice = static_cast<int>(std::max<long long>(1, std::min(left, kSlice).count()));
    pollfd p{fd, events, 0};
    const int rc = ::poll(&p, 1, slice);
    if (rc > 0) return Wait::kReady;
    if (rc < 0 && errno != EINTR) return Wait::kError;
  }
}

bool is_ip_literal(const std::string& host) {
  in6_addr v6{};
  in_addr v4{};
  return ::inet_pton(AF_INET, host.c_str(), &v4) == 1 || ::inet_pton(AF_INET6, host.c_str(), &v6) == 1;
}

std::string openssl_text(unsigned long error) {
  char buffer[256];
  ERR_error_string_n(error, buffer, sizeof buffer);
  return buffer;
}

TlsProbeResult explained(Status status, std::string explanation) {
  TlsProbeResult result;
  result.status = status;
  result.explained = true;
  result.explanation = std::move(explanation);
  return result;
}

TlsProbeResult unexplained(std::string explanation) {
  TlsProbeResult result;
  result.status = Status(StatusCode::kUnavailable, Origin::kSocket, 0);
  result.explanation = std::move(explanation);
  return result;
}

// Our own certificate, key or CA file cannot be used by OpenSSL.
TlsProbeResult material_problem(const char* what) {
  const unsigned long error = ERR_peek_last_error();
  return explained(Status(StatusCode::kInvalidArgument, Origin::kTls, clamp16(ERR_GET_REASON(error))),
                   std::string("TLS ") + what + ": " + openssl_text(error));
}

TlsProbeResult classify_tls_failure(SSL* ssl, int ssl_error, int saved_errno, const char* stage) {
  const long verify = SSL_get_verify_result(ssl);
  if (verify != X509_V_OK) {
    return explained(Status(StatusCode::kUnauthenticated, Origin::kTls, clamp16(verify)),
                     std::string("server certificate refused: ") + X509_verify_cert_error_string(verify));
  }
  const unsigned long error = ERR_peek_last_error();
  if (error != 0 && ERR_GET_LIB(error) == ERR_LIB_SSL) {
    const int reason = ERR_GET_REASON(error);
    if (reason >= kAlertReasonOffset) {
      return explained(status_from_tls_alert_reason(reason),
                       std::string("the broker refused the TLS session ") + stage + ": " + openssl_text(error));
    }
    return explained(Status(StatusCode::kUnavailable, Origin::kTls, clamp16(reason)),
                     std::string("TLS failed ") + stage + ": " + openssl_text(error));
  }
  if (ssl_error == SSL_ERROR_SYSCALL || ssl_error == SSL_ERROR_ZERO_RETURN) {
    const int err = saved_errno != 0 ? saved_errno : ECONNRESET;
    return explained(
        Status(StatusCode::kUnavailable, Origin::kSocket, clamp16(err)),
        std::string("the broker closed the connection ") + stage + " without a TLS alert (" + std::strerror(err) + ")");
  }
  return explained(Status(StatusCode::kUnavailable, Origin::kTls, 0), std::string("TLS failed ") + stage);
}

struct SslCtxFree {
  void operator()(SSL_CTX* ctx) const { SSL_CTX_free(ctx); }
};
struct SslFree {
  void operator()(SSL* ssl) const { SSL_free(ssl); }
};
struct AddrInfoFree {
  void operator()(addrinfo* list) const { ::freeaddrinfo(list); }
};

}  // namespace

Status status_from_tls_alert_reason(int openssl_reason) {
  const std::uint16_t detail = clamp16(openssl_reason);
  switch (openssl_reason - kAlertReasonOffset) {
    case 42:   // bad_certificate
    case 43:   // unsupported_certificate
    case 44:   // certificate_revoked
    case 45:   // certificate_expired
    case 46:   // certificate_unknown
    case 48:   // unknown_ca
    case 49:   // access_denied
    case 116:  // certificate_required
      return Status(StatusCode::kUnauthenticated, Origin::kTls, detail);
    default:
      return Status(StatusCode::kUnavailable, Origin::kTls, detail);
  }
}

TlsProbeResult probe_tls(const TlsProbeSettings& settings, const std::atomic<bool>& cancel) {
  const auto deadline = Clock::now() + settings.budget;
  std::string host = settings.host;
  if (host.size() > 2 && host.front() == '[' && host.back() == ']') host = host.substr(1, host.size() - 2);
  const std::string where = host + ":" + std::to_string(settings.port);

  // 1. Name resolution (getaddrinfo has no deadline of its own; the resolver's timeouts apply).
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  hints.ai_flags = AI_NUMERICSERV;
  addrinfo* raw_list = nullptr;
  const std::string port = std::to_string(settings.port);
  const int gai = ::getaddrinfo(host.c_str(), port.c_str(), &hints, &raw_list);
  if (gai != 0) {
    return explained(Status(StatusCode::kUnavailable, Origin::kSocket, 0),
                     "cannot resolve '" + host + "': " + ::gai_strerror(gai));
  }
  const std::unique_ptr<addrinfo, AddrInfoFree> list(raw_list);

  // 2. TCP.
  Socket socket;
  int last_error = 0;
  for (const addrinfo* ai = list.get(); ai != nullptr && socket.get() < 0; ai = ai->ai_next) {
    Socket candidate(::socket(ai->ai_family, ai->ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC, ai->ai_protocol));
    if (candidate.get() < 0) {
      last_error = errno;
      continue;
    }
    if (::connect(candidate.get(), ai->ai_addr, ai->ai_addrlen) != 0) {
      if (errno != EINPROGRESS) {
        last_error = errno;
        continue;
      }
      const Wait waited = wait_for(candidate.get(), POLLOUT, deadline, cancel);
      if (waited == Wait::kCancelled) return unexplained("diagnosis cancelled");
      if (waited == Wait::kTimeout) {
        last_error = ETIMEDOUT;
        break;
      }
      int so_error = 0;
      socklen_t length = sizeof so_error;
      if (::getsockopt(candidate.get(), SOL_SOCKET, SO_ERROR, &so_error, &length) != 0) so_error = errno;
      if (so_error != 0) {
        last_error = so_error;
        continue;
      }
    }
    socket = std::move(candidate);
  }
  if (socket.get() < 0) {
    return explained(Status(StatusCode::kUnavailable, Origin::kSocket, clamp16(last_error)),
                     "TCP connect to " + where + " failed: " + std::strerror(last_error));
  }

  // 3. TLS, configured as Paho configures it.
  ERR_clear_error();
  const std::unique_ptr<SSL_CTX, SslCtxFree> ctx(SSL_CTX_new(TLS_client_method()));
  if (!ctx) return material_problem("context");
  SSL_CTX_set_min_proto_version(ctx.get(), TLS1_2_VERSION);
  SSL_CTX_set_security_level(ctx.get(), 1);  // what Paho sets
  if (SSL_CTX_load_verify_locations(ctx.get(), settings.ca_file.c_str(), nullptr) != 1) {
    return material_problem("CA file unusable");
  }
  if (SSL_CTX_use_certificate_chain_file(ctx.get(), settings.cert_file.c_str()) != 1) {
    return material_problem("certificate file unusable");
  }
  if (SSL_CTX_use_PrivateKey_file(ctx.get(), settings.key_file.c_str(), SSL_FILETYPE_PEM) != 1) {
    return material_problem("key file unusable");
  }
  if (SSL_CTX_check_private_key(ctx.get()) != 1) return material_problem("key does not match the certificate");
  SSL_CTX_set_verify(ctx.get(), SSL_VERIFY_PEER, nullptr);
  if (settings.alpn) {
    static const unsigned char kProtocols[] =
        "\x0e"
        "x-amzn-mqtt-ca";
    SSL_CTX_set_alpn_protos(ctx.get(), kProtocols, sizeof kProtocols - 1);
  }
  const std::unique_ptr<SSL, SslFree> ssl(SSL_new(ctx.get()));
  if (!ssl || SSL_set_fd(ssl.get(), socket.get()) != 1) return material_problem("session");
  X509_VERIFY_PARAM* param = SSL_get0_param(ssl.get());
  if (is_ip_literal(host)) {
    X509_VERIFY_PARAM_set1_ip_asc(param, host.c_str());
  } else {
    SSL_set_tlsext_host_name(ssl.get(), host.c_str());
    X509_VERIFY_PARAM_set1_host(param, host.c_str(), 0);
  }

  for (;;) {
    ERR_clear_error();
    errno = 0;
    const int rc = SSL_connect(ssl.get());
    if (rc == 1) break;
    const int saved_errno = errno;
    const int error = SSL_get_error(ssl.get(), rc);
    if (error != SSL_ERROR_WANT_READ && error != SSL_ERROR_WANT_WRITE) {
      return classify_tls_failure(ssl.get(), error, saved_errno, "during the handshake");
    }
    const Wait waited = wait_for(socket.get(), error == SSL_ERROR_WANT_READ ? POLLIN : POLLOUT, deadline, cancel);
    if (waited == Wait::kCancelled) return unexplained("diagnosis cancelled");
    if (waited != Wait::kReady) {
      return explained(Status(StatusCode::kUnavailable, Origin::kSocket, ETIMEDOUT),
                       "TLS handshake with " + where + " timed out");
    }
  }

  // 4. Under TLS 1.3 the broker checks our certificate after the handshake completed on our side
  // and answers with an alert: wait briefly for it.
  const auto alert_deadline = std::min(deadline, Clock::now() + kAlertWait);
  for (;;) {
    ERR_clear_error();
    errno = 0;
    char byte = 0;
    const int rc = SSL_read(ssl.get(), &byte, 1);
    if (rc > 0) break;  // the broker talked (it should not before CONNECT): nothing to report
    const int saved_errno = errno;
    const int error = SSL_get_error(ssl.get(), rc);
    if (error == SSL_ERROR_WANT_READ || error == SSL_ERROR_WANT_WRITE) {
      const Wait waited =
          wait_for(socket.get(), error == SSL_ERROR_WANT_READ ? POLLIN : POLLOUT, alert_deadline, cancel);
      if (waited == Wait::kReady) continue;
      if (waited == Wait::kCancelled) return unexplained("diagnosis cancelled");
      break;  // quiet: the broker accepted the session
    }
    TlsProbeResult result = classify_tls_failure(ssl.get(), error, saved_errno, "after the handshake");
    if (result.status.origin() == Origin::kSocket) {
      // A close without an alert says nothing about certificates.
      return unexplained("a new TLS handshake worked, then the broker closed the connection");
    }
    return result;
  }
  return unexplained("a new TCP connection and TLS handshake worked; the failure was probably transient");
}

}  // namespace tether::port::paho_detail
