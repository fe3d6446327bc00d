// Copyright 2026 The Tether Authors. SPDX-License-Identifier: Apache-2.0
#pragma once

/// @file
/// FakeMqttClient: an in-memory MqttClient with fault injection, for unit tests of the core and of
/// integrators' code. It follows the port contract (events only from poll(), tokens never 0) and
/// lets a test script the broker's side: connect outcomes, dropped connections, refused
/// subscriptions and publishes, inbound messages, and when acknowledgements arrive.
///
/// With a SimulatedClock attached, a poll() that has nothing to deliver advances the clock by
/// `max_wait`, as if the wait had really happened, so `agent.run_once(1s)` loops move simulated
/// time forward without sleeping.
///
/// Allocates (std::string, std::vector): it is a test double, not part of the core.

#include <cstdint>
#include <deque>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "tether/port/mqtt_client.hpp"
#include "tether/port/testing/simulated_clock.hpp"

namespace tether::testing {

/// An owned copy of a message (sent or to be received).
struct FakeMessage {
  std::string topic;
  std::string payload;
  Qos qos = Qos::k0;
  bool retain = false;
  std::string content_type;
  std::optional<std::uint32_t> message_expiry_s;
  std::string response_topic;
  std::string correlation_data;
  std::vector<std::pair<std::string, std::string>> user_properties;
  PacketToken token = 0;  ///< for sent messages: the token publish() returned
};

/// An owned copy of an OutgoingMessage or InboundMessage (token stays 0).
FakeMessage copy_message(const OutgoingMessage& message);
FakeMessage copy_message(const InboundMessage& message);

class FakeMqttClient final : public port::MqttClient {
 public:
  explicit FakeMqttClient(SimulatedClock* clock = nullptr) : clock_(clock) {}

  // --- scripting the broker -------------------------------------------------------------------
  /// Outcomes of the next connect attempts, in order (ok = CONNACK success). When the script is
  /// empty, attempts succeed.
  void script_connect(Status outcome, bool session_present = false);
  /// connect() itself returns `status` (the attempt cannot start) for the next call.
  void fail_next_connect_call(Status status) { connect_call_error_ = status; }
  /// Never answer the next connect attempt (a hung TCP/TLS handshake).
  void hang_next_connect() { hang_next_connect_ = true; }
  /// Ends the connection as the network or the broker would (kDisconnected with `reason`).
  void drop_connection(Status reason);
  /// While `reason` is not ok every connect attempt fails with it (the broker is unreachable);
  /// set_unreachable(Status()) makes it reachable again.
  void set_unreachable(Status reason) { unreachable_ = reason; }
  /// Queues an inbound message for delivery on the next poll().
  void inject_message(const FakeMessage& message);
  void inject_message(std::string_view topic, std::string_view payload, Qos qos = Qos::k1);
  /// The broker refuses subscriptions to `filter` with `reason` (SUBACK failure).
  void refuse_subscription(std::string_view filter, Status reason) { refused_subscriptions_[std::string(filter)] = reason; }
  /// The next publish() call returns `status` immediately.
  void fail_next_publish(Status status) { publish_call_error_ = status; }
  /// With auto-ack on (default) QoS 1 publishes are acknowledged (ok) on the next poll();
  /// off: they stay pending until ack() or a dropped connection (which fails them kUnavailable).
  void set_auto_ack(bool on) { auto_ack_ = on; }
  /// Completes a pending QoS 1 publish with `result` on the next poll().
  bool ack(PacketToken token, Status result = Status());
  /// Loopback: publishes matching an active subscription are delivered back, like a broker.
  void set_loopback(bool on) { loopback_ = on; }

  // --- observing what the client under test did ---------------------------------------------
  const std::vector<FakeMessage>& published() const { return published_; }
  void clear_published() { published_.clear(); }
  const std::vector<ConnectOptions>& connect_calls() const { return connect_calls_; }
  const std::vector<std::string>& connect_client_ids() const { return connect_client_ids_; }
  /// Filters subscribed on the current connection (cleared when it ends, as with a clean session).
  const std::map<std::string, Qos>& subscriptions() const { return subscriptions_; }
  /// Every SUBSCRIBE sent since construction, in order.
  const std::vector<std::string>& subscribe_calls() const { return subscribe_calls_; }
  std::size_t pending_acks() const { return pending_acks_.size(); }
  std::size_t disconnect_calls() const { return disconnect_calls_; }
  std::size_t poll_calls() const { return poll_calls_; }
  std::size_t wake_calls() const { return wake_calls_; }

 private:
  struct Event {
    enum class Kind { kConnection, kMessage, kPublishComplete, kSubscribeComplete } kind;
    ConnectionEvent connection;
    FakeMessage message;
    PacketToken token = 0;
    Status result;
    Qos granted = Qos::k0;
  };
  struct ScriptedConnect {
    Status outcome;
    bool session_present;
  };

  void do_set_listener(port::MqttListener* listener) override { listener_ = listener; }
  Status do_connect(const ConnectOptions& options) override;
  Status do_disconnect() override;
  Result<PacketToken> do_publish(const OutgoingMessage& message) override;
  Result<PacketToken> do_subscribe(std::string_view filter, Qos qos) override;
  Result<PacketToken> do_unsubscribe(std::string_view filter) override;
  Status do_poll(Milliseconds max_wait) override;
  void do_wake() override { ++wake_calls_; }
  bool do_connected() const override { return connected_; }

  void end_connection(Status reason);
  void deliver(const Event& event);
  PacketToken next_token();

  SimulatedClock* clock_;
  port::MqttListener* listener_ = nullptr;
  std::deque<ScriptedConnect> connect_script_;
  std::deque<Event> events_;
  std::vector<FakeMessage> published_;
  std::vector<ConnectOptions> connect_calls_;
  std::vector<std::string> connect_client_ids_;
  std::map<std::string, Qos> subscriptions_;
  std::vector<std::string> subscribe_calls_;
  std::map<std::string, Status> refused_subscriptions_;
  std::vector<PacketToken> pending_acks_;
  Status connect_call_error_;
  Status unreachable_;
  Status publish_call_error_;
  bool hang_next_connect_ = false;
  bool connecting_ = false;
  bool connected_ = false;  // as the listener has been told
  bool link_up_ = false;    // as the simulated broker sees it
  bool auto_ack_ = true;
  MqttVersion version_ = MqttVersion::k5;  // of the current connection
  bool loopback_ = false;
  PacketToken last_token_ = 0;
  std::size_t disconnect_calls_ = 0;
  std::size_t poll_calls_ = 0;
  std::size_t wake_calls_ = 0;
};

}  // namespace tether::testing
