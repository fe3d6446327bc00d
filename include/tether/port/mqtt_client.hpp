// Copyright 2026 The Tether Authors. SPDX-License-Identifier: Apache-2.0
#pragma once

/// @file
/// MqttClient port: an MQTT 5 / 3.1.1 client session as the core needs it.
///
/// ## Threading and event delivery
/// All calls are made from the one thread that owns the core. Every outcome (connection changes,
/// inbound messages, publish and subscribe acknowledgements) is delivered to the MqttListener only
/// from inside `poll()`, on that same thread. Backends with their own threads (Paho) hand events over
/// through a bounded inbox; `wake()` is the only call that may come from another thread.
///
/// ## Lifetimes
/// Views passed into the client (topics, payloads, properties) need only live for the duration of
/// the call: the client copies what it keeps. Views handed to the listener are valid only for the
/// duration of the callback.
///
/// ## Endpoint and TLS
/// Where and how to connect (host, port, CA, certificate, key, ALPN) is configuration of the
/// implementation, given at its construction; the session-level options are in ConnectOptions.

#include <cstdint>
#include <optional>
#include <string_view>

#include "tether/port/clock.hpp"
#include "tether/result.hpp"
#include "tether/span.hpp"
#include "tether/status.hpp"

namespace tether {

enum class Qos : std::uint8_t { k0 = 0, k1 = 1 };
enum class MqttVersion : std::uint8_t { k3_1_1 = 4, k5 = 5 };

/// MQTT 5 user property (a key/value pair of UTF-8 strings).
struct UserProperty {
  std::string_view key;
  std::string_view value;
};

/// MQTT 5 PUBLISH properties. Under MQTT 3.1.1 they are not sent: a client returns
/// kInvalidArgument for a publish that sets any of them rather than dropping them silently.
struct PublishProperties {
  std::string_view content_type;                  ///< empty = absent
  std::optional<std::uint32_t> message_expiry_s;  ///< absent = never expires
  std::string_view response_topic;                ///< empty = absent
  Span<const std::uint8_t> correlation_data;      ///< empty = absent
  Span<const UserProperty> user_properties;       ///< at most kMaxUserProperties on receive

  bool empty() const {
    return content_type.empty() && !message_expiry_s && response_topic.empty() &&
           correlation_data.empty() && user_properties.empty();
  }
};

/// A message to publish.
struct OutgoingMessage {
  std::string_view topic;
  Span<const std::uint8_t> payload;
  Qos qos = Qos::k1;
  bool retain = false;
  PublishProperties properties;
};

/// A received message; every view is valid only during MqttListener::on_message.
struct InboundMessage {
  std::string_view topic;
  Span<const std::uint8_t> payload;
  Qos qos = Qos::k0;
  bool retain = false;
  bool duplicate = false;
  PublishProperties properties;
};

/// Last-will message, sent by the broker when the connection is lost without a DISCONNECT.
struct WillMessage {
  std::string_view topic;
  Span<const std::uint8_t> payload;
  Qos qos = Qos::k1;
  bool retain = false;
};

/// Session-level options of a connect attempt.
struct ConnectOptions {
  std::string_view client_id;                 ///< required, 1..128 bytes
  std::string_view username;                  ///< optional (AWS: the SDK metrics string)
  MqttVersion version = MqttVersion::k5;
  std::uint16_t keep_alive_s = 60;            ///< 0 disables keep-alive
  bool clean_start = true;                    ///< false = resume a persistent session
  std::uint32_t session_expiry_s = 0;         ///< MQTT 5: how long the broker keeps the session
  std::optional<WillMessage> will;
  Milliseconds connect_timeout{10000};        ///< TCP + TLS + CONNACK
};

enum class ConnectionState : std::uint8_t {
  kConnected,      ///< CONNACK success received
  kConnectFailed,  ///< an attempt started by connect() failed (reason says why)
  kDisconnected,   ///< an established connection ended (reason says why)
};

/// A connection change. `reason` is ok for kConnected and for a disconnect the client asked for;
/// otherwise it tells why, for example:
/// - kUnauthenticated/kMqtt/0x86|0x87|0x8C: CONNACK refused the identity or authorization
/// - kUnauthenticated/kTls/...: TLS handshake refused (bad or unknown certificate, wrong CA)
/// - kUnavailable/kSocket/errno: connection refused, host unreachable, timeout, connection lost
///   (errno 0 when the backend cannot tell)
/// - kAborted/kMqtt/0x8E: the broker disconnected us because another client took the client id
/// - kUnavailable/kMqtt/<reason>: any other server DISCONNECT
/// disconnect() during an attempt abandons it; the attempt may still report kConnectFailed or
/// kDisconnected afterwards, which a caller that has moved on must ignore.
struct ConnectionEvent {
  ConnectionState state = ConnectionState::kDisconnected;
  Status reason;
  bool session_present = false;
};

/// Opaque id the client assigns to a publish, subscribe or unsubscribe so that its completion can be
/// matched. Never 0 for an accepted request.
using PacketToken = std::uint32_t;

namespace port {

/// Receives the events of an MqttClient; called only from inside MqttClient::poll().
class MqttListener {
 public:
  virtual ~MqttListener() = default;
  virtual void on_connection(const ConnectionEvent& event) = 0;
  virtual void on_message(const InboundMessage& message) = 0;
  /// QoS 1: the PUBACK arrived (ok) or the broker refused it (e.g. kPermissionDenied/kMqtt/0x87) or
  /// the connection was lost before it (kUnavailable). QoS 0: the message was handed to the network.
  virtual void on_publish_complete(PacketToken token, Status result) = 0;
  /// SUBACK/UNSUBACK for the request `token`. For a subscribe, `granted` is the granted QoS.
  virtual void on_subscribe_complete(PacketToken token, Status result, Qos granted) = 0;
};

class MqttClient {
 public:
  virtual ~MqttClient() = default;

  /// Sets the receiver of all events (not owned; must outlive the client's use). nullptr drops
  /// events (they are still counted by implementations that keep statistics).
  void set_listener(MqttListener* listener) { do_set_listener(listener); }

  /// Starts a connection attempt. The outcome arrives later as on_connection(kConnected or
  /// kConnectFailed) from poll(). Returns:
  /// - ok: the attempt was started
  /// - kInvalidArgument: bad options (empty or over-long client id, will topic with wildcards)
  /// - kFailedPrecondition: already connected or an attempt is under way
  /// - kUnauthenticated / kInvalidArgument (origin kTls): the TLS material cannot be loaded
  /// - kUnavailable: the attempt could not even start (backend out of resources)
  Status connect(const ConnectOptions& options) { return do_connect(options); }

  /// Sends DISCONNECT (normal disconnection) and closes. A kDisconnected event with an ok reason
  /// follows from poll(). ok when not connected.
  Status disconnect() { return do_disconnect(); }

  /// Queues a PUBLISH. Returns its token, or:
  /// - kFailedPrecondition: not connected (this port never buffers offline; the core does)
  /// - kInvalidArgument: bad topic (empty, wildcard), properties under MQTT 3.1.1
  /// - kResourceExhausted: too many publishes in flight; retry after a completion
  /// - kUnavailable: the backend refused it for a transient reason
  Result<PacketToken> publish(const OutgoingMessage& message) { return do_publish(message); }

  /// Sends SUBSCRIBE for one filter. Completion: on_subscribe_complete. Errors as publish.
  Result<PacketToken> subscribe(std::string_view filter, Qos qos) { return do_subscribe(filter, qos); }

  /// Sends UNSUBSCRIBE for one filter. Completion: on_subscribe_complete. Errors as publish.
  Result<PacketToken> unsubscribe(std::string_view filter) { return do_unsubscribe(filter); }

  /// Waits up to `max_wait` for events, then delivers every pending event to the listener.
  /// Returns ok, or kInternal if the backend broke (events may have been lost; the listener has
  /// been told with a kDisconnected event).
  Status poll(Milliseconds max_wait) { return do_poll(max_wait); }

  /// Makes a blocked or the next poll() return promptly. Thread-safe; the only call that may come
  /// from another thread.
  void wake() { do_wake(); }

  /// True between the kConnected event and the next kDisconnected event.
  bool connected() const { return do_connected(); }

 private:
  virtual void do_set_listener(MqttListener* listener) = 0;
  virtual Status do_connect(const ConnectOptions& options) = 0;
  virtual Status do_disconnect() = 0;
  virtual Result<PacketToken> do_publish(const OutgoingMessage& message) = 0;
  virtual Result<PacketToken> do_subscribe(std::string_view filter, Qos qos) = 0;
  virtual Result<PacketToken> do_unsubscribe(std::string_view filter) = 0;
  virtual Status do_poll(Milliseconds max_wait) = 0;
  virtual void do_wake() = 0;
  virtual bool do_connected() const = 0;
};

}  // namespace port

/// Views a string as payload bytes.
inline Span<const std::uint8_t> as_bytes(std::string_view text) {
  return Span<const std::uint8_t>(reinterpret_cast<const std::uint8_t*>(text.data()), text.size());
}
/// Views payload bytes as text (no validation).
inline std::string_view as_text(Span<const std::uint8_t> bytes) {
  return std::string_view(reinterpret_cast<const char*>(bytes.data()), bytes.size());
}

}  // namespace tether
