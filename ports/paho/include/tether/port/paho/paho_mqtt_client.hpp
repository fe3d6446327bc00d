// Copyright 2026 The Tether Authors. SPDX-License-Identifier: Apache-2.0
#pragma once

/// @file
/// PahoMqttClient: the Linux MqttClient port over Eclipse Paho MQTT C's asynchronous client (OpenSSL TLS).
///
/// ## What it does
/// - TLS only (`ssl://host:port`), mutual TLS with a client certificate and key file. The server
///   certificate is always verified against `ca_file` (and only against it) and its host name is
///   always checked. ALPN `x-amzn-mqtt-ca` on request (AWS IoT on port 443).
/// - MQTT 5 (default) or 3.1.1, keep-alive, clean or persistent session (session expiry under
///   MQTT 5), last will, connect timeout. Paho's automatic reconnect and offline buffering are off:
///   the agent owns reconnecting and the offline queue.
/// - MQTT 5 publish properties both ways; reason codes of CONNACK, PUBACK, SUBACK, UNSUBACK and a
///   server DISCONNECT surface as Status (table in mqtt_client.hpp and ports/paho/README.md).
///
/// ## Threads and memory
/// Paho runs its own threads. Its callbacks copy the event (a received message, or a small
/// completion record) into a bounded inbox (mutex + condition variable); `poll()` delivers the
/// inbox on the caller's thread. No Paho object is shared between threads. When `inbox_capacity` inbound messages are
/// waiting, further inbound messages are dropped and counted (`dropped_messages()`, and a warning
/// from the next poll()); acknowledgements and connection events are never dropped (there are at
/// most `max_inflight` publishes and a few subscriptions outstanding). Paho's threads never call
/// the LogSink. After an unexplained TCP/TLS failure a short-lived thread re-runs the handshake to
/// diagnose it (bounded by the connect timeout, at most 5 s, cancellable). This port allocates
/// (std::string, std::deque, std::map, a std::list node per request): it is a Linux port.
///
/// ## Statuses
/// Besides those listed in port/mqtt_client.hpp:
/// - connect() and set_tls_identity(): kInvalidArgument/kTls/errno when `ca_file` (connect() only),
///   `cert_file` or `key_file` is empty
///   (EINVAL), missing (ENOENT), unreadable (EACCES), a directory (EISDIR) or a PKCS#11 URI instead
///   of a PEM file (EINVAL); the log line names the file, never its content.
///   kInvalidArgument/kConfig for an empty host, port 0, `inbox_capacity` 0 or `max_inflight` 0.
///   kFailedPrecondition/kPaho while an attempt or a session is under way.
/// - publish(): kResourceExhausted/kPaho/0 when `max_inflight` publishes await completion, or when
///   as many QoS 1 publishes as the broker's MQTT 5 Receive Maximum await their PUBACK.
/// - Paho errors have origin kPaho and the negated Paho return code as detail (e.g. -12
///   MQTTASYNC_MAX_BUFFERED_MESSAGES -> kResourceExhausted/kPaho/12).
/// - kConnectFailed below MQTT: Paho reports TCP and TLS failures alike ("TCP/TLS connect
///   failure"). With `diagnose_tls_failures` (default) the port finds the cause (see the README):
///   kUnauthenticated/kTls/<X509 verify result> for a refused server certificate (20 unknown CA,
///   62 host-name mismatch, 64 IP mismatch, 10 expired), kUnauthenticated/kTls/<1000 + TLS alert>
///   when the broker refuses our certificate (1048 unknown CA), kUnavailable/kSocket/errno for TCP
///   (ECONNREFUSED, ETIMEDOUT, ...). Without it, or when a second try succeeds:
///   kUnavailable/kSocket/0.
/// - kDisconnected: a server DISCONNECT maps its reason code (kAborted/kMqtt/0x8E session taken
///   over, kPermissionDenied/kMqtt/0x87, kUnavailable/kMqtt/<other>); a connection that simply
///   ends (socket closed, keep-alive timeout, broker stopped) is kUnavailable/kSocket/0.
/// - Requests still awaiting an acknowledgement when the session ends complete with
///   kUnavailable/kPaho/3 (MQTTASYNC_DISCONNECTED) before the kDisconnected event.

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>

#include "tether/config.hpp"
#include "tether/port/log_sink.hpp"
#include "tether/port/mqtt_client.hpp"

namespace tether::port {

/// Endpoint, TLS material and capacities of a PahoMqttClient.
struct PahoSettings {
  std::string host;  ///< DNS name or IP literal (IPv6 without brackets is fine)
  std::uint16_t port = 8883;
  std::string ca_file;                    ///< PEM CA bundle; the only trust anchors used
  std::string cert_file;                  ///< PEM client certificate (chain)
  std::string key_file;                   ///< PEM private key (a pkcs11-provider URI PEM works too)
  bool alpn = false;                      ///< send ALPN "x-amzn-mqtt-ca" (AWS IoT on port 443)
  std::size_t inbox_capacity = 1024;      ///< inbound messages waiting for poll() before drops
  std::size_t max_inflight = 100;         ///< publishes awaiting completion before kResourceExhausted
  Milliseconds disconnect_timeout{1000};  ///< destructor / disconnect(): wait for in-flight work
  /// After a failure Paho reports only as "TCP/TLS connect failure", repeat the TCP connect and
  /// TLS handshake once with OpenSSL (no MQTT) to report the real cause (see README).
  bool diagnose_tls_failures = true;
  LogLevel log_level = LogLevel::kInfo;  ///< lines below this level are not written

  /// Endpoint and TLS material from the agent configuration (capacities keep their defaults).
  static PahoSettings from_config(const BrokerSettings& broker);
};

class PahoMqttClient final : public MqttClient {
 public:
  /// Cannot fail: settings are validated by connect(). `log` (optional, not owned) must outlive
  /// the client; it is only called from the thread that calls connect()/poll().
  explicit PahoMqttClient(PahoSettings settings, LogSink* log = nullptr);
  /// Disconnects (waiting at most `disconnect_timeout`), never throws, never calls the listener.
  ~PahoMqttClient() override;

  PahoMqttClient(const PahoMqttClient&) = delete;
  PahoMqttClient& operator=(const PahoMqttClient&) = delete;

  /// Inbound messages dropped because the inbox was full, since construction. Thread-safe.
  std::size_t dropped_messages() const;

  /// The settings given at construction, with the TLS identity of the last successful
  /// set_tls_identity(). Call from the thread that calls connect()/poll().
  const PahoSettings& settings() const;

  /// Switches the client certificate and key files used from the next connect() on (certificate
  /// rotation: switch, reconnect, and switch back if the broker refuses the new identity). The
  /// connection or attempt under way keeps the files it started with, and so does the diagnosis of
  /// its failure; a later attempt's diagnosis (`diagnose_tls_failures`) uses the new files.
  /// Both files are checked as connect() checks them, before anything changes:
  /// - ok: both usable; settings().cert_file and settings().key_file now name them.
  /// - kInvalidArgument/kTls/errno: `cert_file` or `key_file` is empty (EINVAL), missing (ENOENT),
  ///   unreadable (EACCES), a directory (EISDIR) or a PKCS#11 URI instead of a PEM file (EINVAL;
  ///   for a key in a token pass the PEM file tether::port::enable_pkcs11_tls_key writes). The
  ///   previous identity stays in place; the log line names the file, never its content.
  /// Only opening is checked: a file that is not PEM, or a key that does not match the
  /// certificate, fails the next connect() (kConnectFailed, diagnosed as kInvalidArgument/kTls).
  /// Call from the thread that calls connect()/poll(), also from inside a listener callback.
  Status set_tls_identity(std::string cert_file, std::string key_file);

 private:
  void do_set_listener(MqttListener* listener) override;
  Status do_connect(const ConnectOptions& options) override;
  Status do_disconnect() override;
  Result<PacketToken> do_publish(const OutgoingMessage& message) override;
  Result<PacketToken> do_subscribe(std::string_view filter, Qos qos) override;
  Result<PacketToken> do_unsubscribe(std::string_view filter) override;
  Status do_poll(Milliseconds max_wait) override;
  void do_wake() override;
  bool do_connected() const override;

  class Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace tether::port
