// Copyright 2026 The Tether Authors. SPDX-License-Identifier: Apache-2.0
//
// bare-metal-agent: the shape of a Tether firmware, running on an emulated Cortex-M4 (QEMU
// mps2-an386). The board gives the agent its Clock (SysTick) and LogSink (semihosting); the network
// is tether::testing's in-memory MQTT client with loopback, standing where a modem or an RTOS MQTT
// client would sit (docs/porting.md). It subscribes to its inbox, publishes a heartbeat to that inbox
// every 100 ms of board time from an agent timer, logs what comes back, stops after five heartbeats
// and exits 0 (non-zero when something did not happen).
//
//   qemu-system-arm -machine mps2-an386 -nographic -semihosting-config enable=on,target=native
//                   -kernel bare-metal-agent.elf      (or: scripts/run-qemu-m4.sh bare-metal-agent.elf)

#include <cstdio>

#include "board.hpp"
#include "tether/agent.hpp"
#include "tether/json.hpp"
#include "tether/port/testing/fake_mqtt_client.hpp"

namespace {

constexpr int kHeartbeats = 5;

struct Demo {
  tether::Agent* agent;
  std::string_view topic;
  int sent = 0;
  int received = 0;

  void beat() {
    if (sent == kHeartbeats) return;
    char buf[96];
    tether::json::Writer w(buf);
    w.begin_object().key("seq").number(static_cast<std::int64_t>(++sent));
    w.key("uptime_ms").number(static_cast<std::int64_t>(agent->clock().now().count())).end_object();
    const auto doc = w.finish();
    if (!doc.ok()) return;
    const auto token = agent->publish(topic, tether::as_bytes(*doc), tether::Qos::k1);
    if (!token.ok()) TETHER_LOG_ERROR(agent->logger(), tether::Origin::kApp, token.status(), "heartbeat %d not sent", sent);
  }
};

int run() {
  mps2::SemihostingLogSink log;
  mps2::BoardClock clock;
  tether::testing::FakeMqttClient mqtt;  // your modem / RTOS MqttClient goes here
  mqtt.set_loopback(true);               // messages to our own subscriptions come back

  tether::AgentConfig config;
  if (!config.thing_name.assign("mps2-an386").ok()) return 1;
  // Endpoint and TLS files are the MqttClient's business (the fake needs none); a firmware fills
  // them in, or parses its configuration with tether::parse_config().
  tether::Agent agent(mqtt, clock, config, &log, /*jitter_seed=*/0x4d505332);

  char inbox[tether::kMaxTopic];
  const auto topic = agent.topics().build(inbox, tether::TopicFamily::kTelemetry, "inbox");
  if (!topic.ok()) return 1;
  Demo demo{&agent, *topic};
  tether::Status status = agent.subscribe(*topic, tether::Qos::k1, [&demo](const tether::InboundMessage& m) {
    ++demo.received;
    TETHER_LOG_INFO(demo.agent->logger(), tether::Origin::kApp, "inbox: %.*s", static_cast<int>(m.payload.size()),
                    reinterpret_cast<const char*>(m.payload.data()));
  });
  if (status.ok()) status = agent.start_timer(tether::Milliseconds(100), [&demo] { demo.beat(); }).status();
  if (status.ok()) status = agent.start();
  if (!status.ok()) return 2;

  // The main loop of the firmware: run the agent until the demo is over (or 5 s of board time).
  const tether::Milliseconds deadline = clock.now() + tether::Milliseconds(5000);
  while (demo.received < kHeartbeats && clock.now() < deadline) {
    status = agent.run_once(tether::Milliseconds(10));
    if (!status.ok()) break;
  }
  (void)agent.stop();  // the outcome shows in the state below
  while (agent.state() != tether::AgentState::kStopped && agent.run_once(tether::Milliseconds(10)).ok()) {
  }

  const tether::AgentStats& stats = agent.stats();
  std::printf("bare-metal-agent: %d heartbeats sent, %d received, %lu publishes, %lu connects, %lu ms\n",
              demo.sent, demo.received, static_cast<unsigned long>(stats.publishes),
              static_cast<unsigned long>(stats.connects), static_cast<unsigned long>(mps2::uptime_ms()));
  return demo.received == kHeartbeats && agent.state() == tether::AgentState::kStopped ? 0 : 3;
}

}  // namespace

int main() { return run(); }
