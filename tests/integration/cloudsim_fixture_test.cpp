// Copyright 2026 The Tether Authors. SPDX-License-Identifier: Apache-2.0
// The Cloudsim fixture against the real broker: the emulator starts and answers, its HTTP helpers
// reach the shadow, jobs and commands services, a device sees what they publish, and the state
// survives a restart (or a kill -9) of the emulator.

#include <catch2/catch.hpp>

#include <cstdint>
#include <string>
#include <string_view>

#include "broker_fixture.hpp"
#include "cloudsim_fixture.hpp"
#include "mqtt_harness.hpp"
#include "test_support.hpp"
#include "tether/json.hpp"
#include "tether/port/paho/paho_mqtt_client.hpp"

using namespace tether;
using test::Cloudsim;
using test::HttpResponse;
using test::TestBroker;

namespace {

constexpr std::string_view kDeltaTopic = "$aws/things/device-1/shadow/update/delta";

// Parses `text` (the test fails if it is not JSON) and hands the root to `read`, which copies out
// what the test checks: a json::Value lives only during the parse.
template <typename Read>
void read_json(std::string_view text, Read read) {
  ErrorText why;
  const Status parsed = json::parse(
      text, 65536,
      [&read](const json::Value& root) {
        read(root);
        return Status();
      },
      &why);
  INFO("JSON: " << text << "\n" << why.c_str());
  REQUIRE(parsed.ok());
}

std::string string_at(const json::Value& value) { return std::string(value.as_string().value_or("<missing>")); }

// What the tests read from a shadow document (get/accepted or update/delta).
struct ShadowState {
  json::Type led_type = json::Type::kInvalid;
  bool led = false;
  std::int64_t level = -1;
  std::int64_t version = -1;
};

// `section` is "desired" or "delta" for get/accepted, "" for an update/delta message.
ShadowState read_shadow(std::string_view text, std::string_view section) {
  ShadowState out;
  read_json(text, [&](const json::Value& root) {
    const json::Value state = section.empty() ? root["state"] : root["state"][section];
    out.led_type = state["led"].type();
    out.led = state["led"].as_bool().value_or(false);
    out.level = state["level"].as_int().value_or(-1);
    out.version = root["version"].as_int().value_or(-1);
  });
  return out;
}

// device-1 as an MQTT 5 client of the test broker (its certificate; the ACL confines it to its own
// topics), every event recorded.
struct DeviceClient {
  explicit DeviceClient(const TestBroker& broker) : client(broker.client_settings("device-1")) {
    client.set_listener(&recorder);
    ConnectOptions options;
    options.client_id = "device-1-test";
    const Status connected = test::connect_and_wait(client, recorder, options);
    INFO("device-1 connect: " << connected);
    REQUIRE(connected.ok());
  }

  void subscribe(std::string_view filter) {
    const Result<PacketToken> token = client.subscribe(filter, Qos::k1);
    REQUIRE(token.ok());
    REQUIRE(test::poll_until({&client}, [&] { return recorder.subscriptions.count(*token) == 1; }));
    INFO("subscribe " << filter << ": " << recorder.subscriptions[*token].first);
    REQUIRE(recorder.subscriptions[*token].first.ok());
  }

  // The payload of the first message on `topic`, waiting for it (the test fails without one).
  std::string first_message(std::string_view topic) {
    INFO("waiting for a message on " << topic);
    REQUIRE(test::poll_until({&client}, [&] { return recorder.count_messages(topic) > 0; }));
    for (const test::ReceivedMessage& m : recorder.messages) {
      if (m.topic == topic) return m.payload;
    }
    return "";
  }

  test::Recorder recorder;
  port::PahoMqttClient client;
};

}  // namespace

TEST_CASE("cloudsim fixture: cloudsim starts against the test broker and answers on its HTTP API",
          "[cloudsim][integration]") {
  TestBroker broker;
  Cloudsim sim(broker);
  CHECK(sim.running());
  CHECK(sim.http_port() != 0);

  const HttpResponse health = sim.request("GET", "/health");
  CHECK(health.status == 200);
  bool ok = false;
  read_json(health.body, [&](const json::Value& root) { ok = root["ok"].as_bool().value_or(false); });
  CHECK(ok);

  const HttpResponse unknown = sim.request("GET", "/no-such-thing");
  CHECK(unknown.status == 404);
  std::int64_t code = 0;
  read_json(unknown.body, [&](const json::Value& root) { code = root["code"].as_int().value_or(0); });
  CHECK(code == 404);

  sim.stop();  // a clean exit on SIGTERM, or stop() fails the test
  CHECK_FALSE(sim.running());
  CHECK(sim.http_port() == 0);
}

TEST_CASE("cloudsim fixture: a desired state set through set_desired is what get_shadow returns",
          "[cloudsim][integration]") {
  TestBroker broker;
  Cloudsim sim(broker);
  CHECK(sim.get_shadow("device-1").status == 404);

  const HttpResponse set = sim.set_desired("device-1", R"({"led": true, "level": 3})");
  INFO(set.body);
  REQUIRE(set.status == 200);

  const HttpResponse got = sim.get_shadow("device-1");
  INFO(got.body);
  REQUIRE(got.status == 200);
  const ShadowState desired = read_shadow(got.body, "desired");
  CHECK(desired.led_type == json::Type::kBool);
  CHECK(desired.led);
  CHECK(desired.level == 3);
  CHECK(desired.version == 1);
  // Nothing reported yet: the whole desired state is the delta.
  const ShadowState delta = read_shadow(got.body, "delta");
  CHECK(delta.led_type == json::Type::kBool);
  CHECK(delta.level == 3);

  // A named shadow is a separate document.
  REQUIRE(sim.set_desired("device-1", R"({"level": 7})", "cfg").status == 200);
  const HttpResponse named = sim.get_shadow("device-1", "cfg");
  REQUIRE(named.status == 200);
  const ShadowState cfg = read_shadow(named.body, "desired");
  CHECK(cfg.level == 7);
  CHECK(cfg.led_type == json::Type::kInvalid);
  CHECK(cfg.version == 1);
  CHECK(read_shadow(sim.get_shadow("device-1").body, "desired").level == 3);

  CHECK(sim.delete_shadow("device-1", "cfg").status == 200);
  CHECK(sim.get_shadow("device-1", "cfg").status == 404);
  CHECK(sim.delete_shadow("device-1", "cfg").status == 404);
  CHECK(sim.get_shadow("device-1").status == 200);
}

TEST_CASE("cloudsim fixture: a device subscribed to its delta topic receives the delta after set_desired",
          "[cloudsim][integration]") {
  TestBroker broker;
  Cloudsim sim(broker);
  DeviceClient device(broker);
  device.subscribe(kDeltaTopic);

  REQUIRE(sim.set_desired("device-1", R"({"led": true, "level": 5})").status == 200);

  const std::string payload = device.first_message(kDeltaTopic);
  INFO(payload);
  const ShadowState delta = read_shadow(payload, "");
  CHECK(delta.led_type == json::Type::kBool);
  CHECK(delta.led);
  CHECK(delta.level == 5);
  CHECK(delta.version == 1);
}

TEST_CASE("cloudsim fixture: a job and a command created through the fixture reach the device",
          "[cloudsim][integration]") {
  TestBroker broker;
  Cloudsim sim(broker);
  DeviceClient device(broker);
  const std::string notify_next = "$aws/things/device-1/jobs/notify-next";
  const std::string command_request = "$aws/commands/things/device-1/executions/exec-1/request/json";
  device.subscribe(notify_next);
  device.subscribe("$aws/commands/things/device-1/executions/+/request/json");

  const HttpResponse job = sim.create_job("device-1", R"({"jobId": "job-1", "document": {"operation": "reboot"}})");
  INFO(job.body);
  CHECK(job.status == 201);
  const HttpResponse command =
      sim.send_command("device-1", R"({"executionId": "exec-1", "payload": {"op": "blink"}})");
  INFO(command.body);
  CHECK(command.status == 201);

  std::string job_id;
  std::string operation;
  read_json(device.first_message(notify_next), [&](const json::Value& root) {
    job_id = string_at(root["execution"]["jobId"]);
    operation = string_at(root["execution"]["jobDocument"]["operation"]);
  });
  CHECK(job_id == "job-1");
  CHECK(operation == "reboot");

  std::string op;
  read_json(device.first_message(command_request), [&](const json::Value& root) { op = string_at(root["op"]); });
  CHECK(op == "blink");
}

TEST_CASE("cloudsim fixture: the shadow survives a restart and a kill -9 of cloudsim", "[cloudsim][integration]") {
  TestBroker broker;
  Cloudsim sim(broker);
  REQUIRE(sim.set_desired("device-1", R"({"led": true, "level": 4})").status == 200);

  SECTION("stopped with SIGTERM and started again") { sim.restart(); }
  SECTION("killed with SIGKILL and started again") {
    sim.kill9();
    CHECK_FALSE(sim.running());
    sim.restart();
  }
  REQUIRE(sim.running());

  const HttpResponse got = sim.get_shadow("device-1");
  INFO(got.body);
  REQUIRE(got.status == 200);
  const ShadowState desired = read_shadow(got.body, "desired");
  CHECK(desired.led);
  CHECK(desired.level == 4);
  CHECK(desired.version == 1);

  // The restarted emulator continues the same document: the next update is version 2.
  REQUIRE(sim.set_desired("device-1", R"({"level": 6})").status == 200);
  const ShadowState after = read_shadow(sim.get_shadow("device-1").body, "desired");
  CHECK(after.led);
  CHECK(after.level == 6);
  CHECK(after.version == 2);
}
