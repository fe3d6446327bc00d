// Copyright 2026 The Tether Authors. SPDX-License-Identifier: Apache-2.0
#pragma once
// Helpers for driving real MqttClients in tests: a listener that records owned copies of every
// event, and bounded poll loops (no sleeps: poll() itself waits for events).

#include <chrono>
#include <cstdint>
#include <functional>
#include <initializer_list>
#include <map>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "tether/port/mqtt_client.hpp"
#include "tether/port/testing/fake_mqtt_client.hpp"

namespace tether::test {

/// An owned copy of an InboundMessage.
using ReceivedMessage = testing::FakeMessage;

class Recorder final : public port::MqttListener {
 public:
  std::vector<ConnectionEvent> connections;
  std::vector<ReceivedMessage> messages;
  std::map<PacketToken, Status> publishes;                      // completions by token
  std::map<PacketToken, std::pair<Status, Qos>> subscriptions;  // completions by token

  bool connected_event() const {
    return !connections.empty() && connections.back().state == ConnectionState::kConnected;
  }
  std::size_t count_messages(std::string_view topic) const {
    std::size_t n = 0;
    for (const auto& m : messages) n += m.topic == topic ? 1 : 0;
    return n;
  }

  void on_connection(const ConnectionEvent& event) override { connections.push_back(event); }
  void on_message(const InboundMessage& message) override {
    ReceivedMessage copy = testing::copy_message(message);
    messages.push_back(std::move(copy));
  }
  void on_publish_complete(PacketToken token, Status result) override { publishes[token] = result; }
  void on_subscribe_complete(PacketToken token, Status result, Qos granted) override {
    subscriptions[token] = {result, granted};
  }
};

using Clock = std::chrono::steady_clock;
constexpr std::chrono::milliseconds kDefaultTimeout{15000};

/// Polls every client (in turn, 20 ms each at most) until `done()` or the timeout.
inline bool poll_until(std::initializer_list<port::MqttClient*> clients, const std::function<bool()>& done,
                       std::chrono::milliseconds timeout = kDefaultTimeout) {
  const auto deadline = Clock::now() + timeout;
  while (!done()) {
    if (Clock::now() >= deadline) return false;
    for (port::MqttClient* client : clients) {
      const Status status = client->poll(std::chrono::milliseconds(20));
      if (!status.ok()) return false;
    }
  }
  return true;
}

/// Starts a connect attempt and polls until its outcome. Returns the event's reason (ok when
/// connected), or kDeadlineExceeded if no outcome arrived in time.
inline Status connect_and_wait(port::MqttClient& client, Recorder& recorder, const ConnectOptions& options,
                               std::chrono::milliseconds timeout = kDefaultTimeout) {
  const std::size_t before = recorder.connections.size();
  const Status started = client.connect(options);
  if (!started.ok()) return started;
  if (!poll_until(
          {&client}, [&] { return recorder.connections.size() > before; }, timeout)) {
    return Status(StatusCode::kDeadlineExceeded, Origin::kNone, 0);
  }
  return recorder.connections.back().reason;
}

}  // namespace tether::test
