// Copyright 2026 The Tether Authors. SPDX-License-Identifier: Apache-2.0
// The Agent over the real Paho port and a real mosquitto (TLS, client certificates, ACLs): what a
// device sees when the broker goes away, comes back, or refuses it.

#include <catch2/catch.hpp>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <unistd.h>
#include <fstream>
#include <functional>
#include <string>
#include <vector>

#include "broker_fixture.hpp"
#include "mqtt_harness.hpp"
#include "test_support.hpp"
#include "tether/agent.hpp"
#include "tether/port/posix/config_file.hpp"
#include "tether/port/posix/posix_clock.hpp"
#include "tether/port/testing/capturing_log_sink.hpp"

using namespace tether;
using std::chrono::milliseconds;
using std::chrono::seconds;

namespace {

AgentConfig device_config(const test::TestBroker& broker, const char* device) {
  AgentConfig config;
  REQUIRE(config.thing_name.assign("device-1").ok());
  REQUIRE(config.client_id.assign(device).ok());
  REQUIRE(config.broker.endpoint.assign("localhost").ok());
  config.broker.port = broker.port();
  REQUIRE(config.broker.ca_file.assign(broker.path("ca.crt")).ok());
  REQUIRE(config.broker.cert_file.assign(broker.path(std::string("devices/") + device + ".crt")).ok());
  REQUIRE(config.broker.key.assign(broker.path(std::string("devices/") + device + ".key")).ok());
  config.reconnect.initial = milliseconds(200);
  config.reconnect.max = milliseconds(2000);
  config.mqtt.connect_timeout = milliseconds(5000);
  return config;
}

// An agent on the real port, with its events recorded.
struct Device {
  port::PosixClock clock;
  testing::CapturingLogSink log;
  AgentConfig config;
  port::PahoMqttClient mqtt;
  Agent agent;
  std::vector<AgentEvent> events;

  Device(const test::TestBroker& broker, const char* device)
      : config(device_config(broker, device)),
        mqtt(port::PahoSettings::from_config(config.broker), &log),
        agent(mqtt, clock, config, &log, 99) {
    agent.set_event_handler([this](const AgentEvent& e) {
      AgentEvent copy = e;
      copy.topic = {};
      events.push_back(copy);
    });
  }

  // Runs the agent (and optionally other clients) until done() or the timeout; never sleeps.
  bool run_until(const std::function<bool()>& done, milliseconds timeout = milliseconds(20000),
                 port::MqttClient* other = nullptr) {
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    while (!done()) {
      if (std::chrono::steady_clock::now() >= deadline) return false;
      agent.run_once(milliseconds(20)).ignore();
      if (other != nullptr) other->poll(milliseconds(5)).ignore();
    }
    return true;
  }
  std::size_t count(AgentEventType type) const {
    std::size_t n = 0;
    for (const AgentEvent& e : events) n += e.type == type ? 1 : 0;
    return n;
  }
};

}  // namespace

TEST_CASE("the agent connects over mutual TLS, subscribes and receives its own messages", "[agent][integration]") {
  test::TestBroker broker;
  Device device(broker, "device-1");
  std::vector<std::string> received;
  REQUIRE(device.agent.subscribe("dt/device-1/echo", Qos::k1, [&](const InboundMessage& m) {
    received.emplace_back(as_text(m.payload));
  }).ok());
  REQUIRE(device.agent.start().ok());
  REQUIRE(device.run_until([&] { return device.agent.connected(); }));
  // The SUBACK may still be on its way: publish until the first echo comes back.
  int sent = 0;
  REQUIRE(device.run_until([&] {
    if (received.empty() && sent < 200) device.agent.publish("dt/device-1/echo", as_bytes("ping")).status().ignore(), ++sent;
    return !received.empty();
  }));
  CHECK(received.front() == "ping");
  CHECK(device.count(AgentEventType::kConnected) == 1);
}

TEST_CASE("after the broker is killed and restarted the agent reconnects and resubscribes on its own",
          "[agent][integration]") {
  test::TestBroker broker;
  Device device(broker, "device-1");
  std::vector<std::string> received;
  REQUIRE(device.agent.subscribe("dt/device-1/inbox", Qos::k1, [&](const InboundMessage& m) {
    received.emplace_back(as_text(m.payload));
  }).ok());
  REQUIRE(device.agent.start().ok());
  REQUIRE(device.run_until([&] { return device.agent.connected(); }));

  // The cloud side: a privileged client that sends to the device's inbox.
  test::Recorder cloud_events;
  port::PahoMqttClient cloud(broker.client_settings("cloudsim"));
  cloud.set_listener(&cloud_events);
  ConnectOptions cloud_options;
  cloud_options.client_id = "cloud";
  auto connect_cloud = [&] {
    // After a broker restart, first let the cloud client notice that its old connection is gone.
    REQUIRE(device.run_until([&] { return !cloud.connected(); }, milliseconds(20000), &cloud));
    cloud_events.connections.clear();
    REQUIRE(cloud.connect(cloud_options).ok());
    REQUIRE(device.run_until([&] { return cloud_events.connected_event(); }, milliseconds(20000), &cloud));
  };
  auto deliver = [&](const char* text) {
    // Sends until the device has it: the device's SUBSCRIBE may still be in flight.
    const std::size_t before = received.size();
    int tries = 0;
    return device.run_until([&] {
      if (received.size() == before && ++tries % 25 == 1) {
        OutgoingMessage m;
        m.topic = "dt/device-1/inbox";
        m.payload = as_bytes(text);
        cloud.publish(m).status().ignore();
      }
      return received.size() > before;
    }, milliseconds(20000), &cloud);
  };
  connect_cloud();
  REQUIRE(deliver("before"));

  // Mid-stream: telemetry flows while the broker dies.
  int published = 0;
  REQUIRE(device.agent.start_timer(milliseconds(50), [&] {
    if (device.agent.connected() && device.agent.publish("dt/device-1/telemetry", as_bytes("x")).ok()) ++published;
  }).ok());
  REQUIRE(device.run_until([&] { return published >= 5; }));
  broker.stop();
  REQUIRE(device.run_until([&] { return device.count(AgentEventType::kDisconnected) == 1; }));
  CHECK_FALSE(device.agent.connected());
  // While the broker is down the agent retries with backoff (no busy loop).
  device.run_until([] { return false; }, milliseconds(3000));
  const auto attempts_while_down = device.agent.stats().connect_attempts;
  CHECK(attempts_while_down >= 2);
  CHECK(attempts_while_down <= 15);

  broker.restart();
  REQUIRE(device.run_until([&] { return device.agent.connected(); }, milliseconds(30000)));
  const int published_before = published;
  REQUIRE(device.run_until([&] { return published >= published_before + 5; }));

  connect_cloud();
  REQUIRE(deliver("after"));
  CHECK(received.back() == "after");
  CHECK(device.count(AgentEventType::kConnected) == 2);
  CHECK(device.count(AgentEventType::kNeedsAttention) == 0);
  CHECK(device.log.contains("restoring 1 subscription"));
}

TEST_CASE("a device whose certificate the broker refuses backs off long and needs attention",
          "[agent][integration]") {
  test::TestBroker broker;
  Device device(broker, "rogue");  // CN=device-1, but issued by another CA
  REQUIRE(device.agent.start().ok());
  REQUIRE(device.run_until([&] { return device.count(AgentEventType::kConnectFailed) >= 1; }));
  device.run_until([] { return false; }, milliseconds(3000));
  CHECK(device.agent.stats().connect_attempts == 1);
  REQUIRE(device.count(AgentEventType::kNeedsAttention) == 1);
  CHECK(device.events.back().reason.code() == StatusCode::kUnauthenticated);
  CHECK(device.agent.reconnect_in() >= seconds(100));
}

TEST_CASE("a device that trusts the wrong CA refuses the server and needs attention", "[agent][integration]") {
  test::TestBroker broker(test::TestBroker::ServerCert::kOtherCa);
  Device device(broker, "device-1");
  REQUIRE(device.agent.start().ok());
  REQUIRE(device.run_until([&] { return device.count(AgentEventType::kNeedsAttention) == 1; }));
  CHECK(device.agent.stats().connect_attempts == 1);
  CHECK(device.events.back().reason.code() == StatusCode::kUnauthenticated);
  CHECK(device.events.back().reason.origin() == Origin::kTls);
}

TEST_CASE("a malformed configuration file gives the documented error naming file and key",
          "[config][integration]") {
  char path[] = "/tmp/tether-config-XXXXXX";
  const int fd = mkstemp(path);
  REQUIRE(fd >= 0);
  close(fd);
  {
    std::ofstream out(path);
    out << R"({"thing_name": "device-1", "endpoint": "localhost", "port": 8883,
      "tls": {"ca_file": "ca.crt", "cert_file": "d.crt", "key": "d.key"},
      "mqtt": {"keep_alive_s": 70000}})";
  }
  AgentConfig config;
  ErrorText error;
  Status status = port::load_config_file(path, config, &error);
  CHECK(status.code() == StatusCode::kOutOfRange);
  CHECK(std::string(error.c_str()).rfind(std::string(path) + ": mqtt.keep_alive_s: ", 0) == 0);

  {
    std::ofstream out(path);
    out << "{\"thing_name\": \"device-1\",\n  \"endpoint\": }";
  }
  status = port::load_config_file(path, config, &error);
  CHECK(status.code() == StatusCode::kInvalidArgument);
  CHECK(std::string(error.c_str()).find("invalid JSON at line 2") != std::string::npos);
  std::remove(path);

  status = port::load_config_file("/nonexistent/agent.json", config, &error);
  CHECK(status.code() == StatusCode::kNotFound);
  CHECK(std::string(error.c_str()) == "/nonexistent/agent.json: cannot open: No such file or directory");
}
