// Copyright 2026 The Tether Authors. SPDX-License-Identifier: Apache-2.0
#pragma once

/// @file
/// TLS probe: explains a connect failure that Paho reports only as "TCP/TLS connect failure".
///
/// Paho C 1.3.12 gives the same return code (-1) for a refused TCP connection, an untrusted server
/// certificate, a host-name mismatch and a client certificate the broker refuses, and keeps errno
/// and the OpenSSL error to itself (its error callback gives OpenSSL's text only, see README). After such a failure the port repeats the TCP connect and the TLS handshake once, with
/// OpenSSL and the same settings Paho used (CA file only, server certificate and host name
/// verified, client certificate and key, SNI, ALPN, TLS >= 1.2), and classifies what it sees. It
/// sends no MQTT packet. Bounded by a deadline and cancellable (checked every 50 ms).

#include <atomic>
#include <chrono>
#include <cstdint>
#include <string>

#include "tether/status.hpp"

namespace tether::port::paho_detail {

struct TlsProbeSettings {
  std::string host;
  std::uint16_t port = 0;
  std::string ca_file;
  std::string cert_file;
  std::string key_file;
  bool alpn = false;
  std::chrono::milliseconds budget{3000};  ///< whole probe, TCP + TLS + waiting for an alert
};

struct TlsProbeResult {
  /// The cause, when the probe found one:
  /// - kUnavailable/kSocket/errno: name not resolved (detail 0), TCP refused (ECONNREFUSED),
  ///   unreachable, timed out (ETIMEDOUT)
  /// - kUnauthenticated/kTls/<X509 verify result>: server certificate refused (20 unknown issuer,
  ///   62 host-name mismatch, 64 IP-address mismatch, 10 expired, 9 not yet valid, ...)
  /// - kUnauthenticated/kTls/<1000 + TLS alert>: the broker refused our certificate (1048 unknown
  ///   CA, 1042 bad certificate, 1116 certificate required, ...)
  /// - kInvalidArgument/kTls/<OpenSSL reason>: our certificate or key cannot be loaded or do not match
  /// - kUnavailable/kTls/<OpenSSL reason>: any other TLS failure (e.g. 267 wrong version number:
  ///   not a TLS port)
  Status status;
  bool explained = false;   ///< false: the handshake worked this time (or the probe was cancelled)
  std::string explanation;  ///< one line for the log (never key material)
};

/// Runs the probe on the calling thread (blocking, at most `settings.budget`).
TlsProbeResult probe_tls(const TlsProbeSettings& settings, const std::atomic<bool>& cancel);

/// Status for a TLS alert received from the peer (OpenSSL reason = 1000 + alert number).
Status status_from_tls_alert_reason(int openssl_reason);

}  // namespace tether::port::paho_detail
