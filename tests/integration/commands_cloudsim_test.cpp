// Copyright 2026 The Tether Authors. SPDX-License-Identifier: Apache-2.0
// commands::CommandAdapter end to end: an in-process device (Agent over the Paho port, the command
// journal in a PosixKvStore in a temporary directory, an Inbox with one "blink" operation) against
// tools/cloudsim on the TLS test broker. The operator sends commands through cloudsim's HTTP API
// and reads the executions back from it; every check parses the documents (never substrings).

#include <catch2/catch.hpp>

#include <algorithm>
#include <chrono>
#include <functional>
#include <memory>
#include <random>
#include <sstream>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "broker_fixture.hpp"
#include "cloudsim_fixture.hpp"
#include "device_loop.hpp"
#include "json_checks.hpp"
#include "mqtt_harness.hpp"
#include "process_util.hpp"
#include "test_support.hpp"
#include "tether/agent.hpp"
#include "tether/commands/command_adapter.hpp"
#include "tether/commands/inbox.hpp"
#include "tether/json.hpp"
#include "tether/port/paho/paho_mqtt_client.hpp"
#include "tether/port/posix/posix_clock.hpp"
#include "tether/port/posix/posix_kv_store.hpp"
#include "tether/port/testing/capturing_log_sink.hpp"
#include "tether/shadow/document.hpp"

using namespace tether;
using std::chrono::milliseconds;
using test::Cloudsim;
using test::TestBroker;
using test::value_at;
using test::value_at_is;

namespace {

constexpr std::string_view kThing = "device-1";
constexpr milliseconds kWaitTimeout{30000};

// ---- the device --------------------------------------------------------------------------------

// One call of the "blink" handler, over every boot of the device.
struct Run {
  std::string id;
  std::string content_type;
  bool has_deadline = false;
};

AgentConfig device_config(TopicProfile profile, bool persistent_session) {
  AgentConfig config;
  REQUIRE(config.thing_name.assign(kThing).ok());
  REQUIRE(config.client_id.assign(kThing).ok());
  config.profile = profile;
  config.reconnect.initial = milliseconds(200);
  config.reconnect.max = milliseconds(2000);
  config.mqtt.connect_timeout = milliseconds(5000);
  if (persistent_session) {
    config.mqtt.clean_session = false;
    config.mqtt.session_expiry_s = 600;  // the broker queues QoS 1 requests while the device is off
  }
  config.log_level = LogLevel::kDebug;  // deliveries, updates and answers, for failure messages
  return config;
}

// device-1 in this process: the real Paho port, its command journal in `store_dir` (kept by the
// caller, so a new Device over the same directory is a reboot). `runs` (the caller's) records
// every handler call. "blink" succeeds at once with a result unless `complete_at_once` is false;
// then the test completes it through `running`.
class Device {
 public:
  Device(const TestBroker& broker, const std::string& store_dir, TopicProfile profile, bool persistent_session,
         std::vector<Run>& runs)
      : config_(device_config(profile, persistent_session)),
        mqtt_(broker.client_settings(kThing), &log_),
        store_(port::PosixKvStoreSettings{store_dir, 65536}),
        agent_(mqtt_, clock_, config_, &log_, std::random_device{}()),
        adapter_(profile),
        inbox_(agent_, &store_, inbox_settings()),
        runs_(runs) {
    const Status opened = store_.open();
    INFO("PosixKvStore open " << store_dir << ": " << opened << " " << store_.last_error());
    REQUIRE(opened.ok());
    REQUIRE(inbox_.add_adapter(adapter_).ok());
    REQUIRE(inbox_.on_command("blink", [this](const commands::CommandContext& c) { on_blink(c); }).ok());
  }

  void start() {
    ErrorText why;
    const Status inbox = inbox_.start(&why);
    INFO("inbox start: " << inbox << " " << why.c_str());
    REQUIRE(inbox.ok());
    const Status agent = agent_.start();
    INFO("agent start: " << agent);
    REQUIRE(agent.ok());
  }

  void run_for(milliseconds duration) { test::run_agent_for(agent_, duration); }

  bool run_until(const std::function<bool()>& done, milliseconds timeout) {
    return test::run_agent_until(agent_, done, timeout);
  }

  // A graceful shutdown (DISCONNECT): destroyed afterwards, the device unsubscribes nothing at the
  // broker, so a persistent session keeps its subscriptions (a destroyed, still connected device
  // unsubscribes its handlers' filters).
  void stop() {
    REQUIRE(agent_.stop().ok());
    const bool stopped = run_until([&] { return agent_.state() == AgentState::kStopped; }, milliseconds(5000));
    INFO(describe());
    REQUIRE(stopped);
  }

  // The journal's status of `id` (kQueued when it has none).
  commands::ExecStatus status_of(std::string_view id) const {
    return inbox_.status_of(adapter_.source(), id).value_or(commands::ExecStatus::kQueued);
  }
  bool knows(std::string_view id) const { return inbox_.status_of(adapter_.source(), id).ok(); }

  std::string describe() const {
    const commands::CommandAdapterStats& a = adapter_.stats();
    const commands::InboxStats& i = inbox_.stats();
    std::ostringstream out;
    out << "agent: " << to_string(agent_.state()) << ", connects=" << agent_.stats().connects
        << " messages=" << agent_.stats().messages_received << " unhandled=" << agent_.stats().messages_unhandled
        << "\nadapter " << to_string(adapter_.source()) << ": ready=" << adapter_.ready()
        << " requests=" << a.requests << " delivered=" << a.delivered << " invalid=" << a.invalid_requests
        << " sent=" << a.updates_sent << " accepted=" << a.updates_accepted << " retry=" << a.updates_retry
        << " final=" << a.updates_final << " unmatched=" << a.unmatched_answers << " malformed=" << a.malformed
        << "\ninbox: delivered=" << i.delivered << " started=" << i.started << " duplicates=" << i.duplicates
        << " rejected=" << i.rejected << " expired=" << i.expired << " succeeded=" << i.succeeded
        << " statuses_sent=" << i.statuses_sent << " final=" << i.statuses_final << "\nruns:";
    for (const Run& r : runs_) out << " " << r.id;
    out << "\n";
    test::write_log_tail(out, log_);
    return out.str();
  }

  commands::Inbox& inbox() { return inbox_; }
  const commands::CommandAdapter& adapter() const { return adapter_; }
  bool complete_at_once = true;
  commands::Execution running;

 private:
  static commands::InboxSettings inbox_settings() {
    commands::InboxSettings settings;
    settings.status_retry = milliseconds(2000);  // a status looping would show within seconds
    return settings;
  }

  void on_blink(const commands::CommandContext& c) {
    runs_.push_back({std::string(c.id), std::string(c.content_type), c.deadline != Milliseconds::max()});
    running = c.execution;
    if (!complete_at_once) return;
    const std::int64_t times = c.document["times"].as_int().value_or(1);
    const std::string result = R"({"blinks": )" + std::to_string(times) + R"(, "ok": true, "pattern": [1, 0, 1]})";
    const Status done = inbox_.succeed(c.execution, result);
    INFO("succeed: " << done);
    CHECK(done.ok());
  }

  port::PosixClock clock_;
  testing::CapturingLogSink log_;
  AgentConfig config_;
  port::PahoMqttClient mqtt_;
  port::PosixKvStore store_;
  Agent agent_;
  commands::CommandAdapter adapter_;
  commands::Inbox inbox_;  // destroyed before the adapter it calls, both before the agent
  std::vector<Run>& runs_;
};

// Publishes as the service would, with the privileged "cloudsim" identity: a request sent again.
class Replayer {
 public:
  explicit Replayer(const TestBroker& broker) : client_(broker.client_settings("cloudsim")) {
    client_.set_listener(&recorder_);
    ConnectOptions options;
    options.client_id = "tether-test-replay";
    options.connect_timeout = milliseconds(5000);
    const Status connected = test::connect_and_wait(client_, recorder_, options);
    INFO("replay client connect: " << connected);
    REQUIRE(connected.ok());
  }

  void publish(std::string_view topic, std::string_view payload, std::uint32_t expiry_s) {
    OutgoingMessage message;
    message.topic = topic;
    message.payload = Span<const std::uint8_t>(reinterpret_cast<const std::uint8_t*>(payload.data()), payload.size());
    message.properties.content_type = "application/json";
    message.properties.message_expiry_s = expiry_s;
    const Result<PacketToken> token = client_.publish(message);
    INFO("replay publish to " << topic << ": " << token.status());
    REQUIRE(token.ok());
    REQUIRE(test::poll_until({&client_}, [&] { return recorder_.publishes.count(*token) == 1; }));
    REQUIRE(recorder_.publishes[*token].ok());
  }

 private:
  test::Recorder recorder_;
  port::PahoMqttClient client_;
};

// What every test runs on: the broker, cloudsim, a directory for the journal and device-1 (not
// started). Destroying the device and booting a new one over the same directory is a reboot.
class Rig {
 public:
  explicit Rig(TopicProfile profile = TopicProfile::kAws, bool persistent_session = false)
      : profile_(profile), persistent_session_(persistent_session) {
    boot();
  }

  Device& device() { return *device_; }
  void power_off() { device_.reset(); }
  void boot() {
    device_ = std::make_unique<Device>(broker, dir / "kv", profile_, persistent_session_, runs);
  }

  // Runs the device until `done()`; on timeout fails the test with what was awaited, the device's
  // adapter, inbox and log, and cloudsim's view of `execution` and its log.
  void require_eventually(std::string_view what, const std::function<bool()>& done, std::string_view execution = {}) {
    if (device_ && device_->run_until(done, kWaitTimeout)) return;
    if (!device_ && wait_offline(done)) return;
    fail(what, execution);
  }

  // Asks cloudsim until `execution` has `status` (the device is off: nothing to run).
  void require_cloud_status(std::string_view execution, std::string_view status) {
    const std::string expected = "\"" + std::string(status) + "\"";
    require_eventually(std::string("cloudsim shows ") + std::string(status),
                       [&] { return value_at_is(execution_doc(execution), "status", expected); }, execution);
  }

  // POST /commands/device-1; returns the execution's view (with "requestTopic").
  std::string send(std::string_view body) {
    const test::HttpResponse sent = sim.send_command(kThing, body);
    INFO("send_command " << body << ": " << sent.status << " " << sent.body);
    REQUIRE(sent.status == 201);
    return sent.body;
  }

  // GET /commands/device-1/<id>: the execution ("" unless 200).
  std::string execution_doc(std::string_view id) {
    const test::HttpResponse got = sim.request("GET", "/commands/" + std::string(kThing) + "/" + std::string(id));
    return got.status == 200 ? got.body : std::string();
  }

  std::vector<std::string> run_ids() const {
    std::vector<std::string> ids;
    for (const Run& r : runs) ids.push_back(r.id);
    return ids;
  }

  TestBroker broker;
  Cloudsim sim{broker};
  test::TempDir dir{"tether-commands"};
  std::vector<Run> runs;

 private:
  bool wait_offline(const std::function<bool()>& done) {
    const auto deadline = std::chrono::steady_clock::now() + kWaitTimeout;
    while (!done()) {
      if (std::chrono::steady_clock::now() >= deadline) return false;
      std::this_thread::sleep_for(milliseconds(200));
    }
    return true;
  }

  void fail(std::string_view what, std::string_view execution) {
    const std::string cloud = execution.empty() ? std::string("-")
                              : sim.running()   ? execution_doc(execution)
                                                : std::string("(cloudsim not running)");
    FAIL("timed out after " << kWaitTimeout.count() << " ms waiting for: " << what << "\n"
                            << (device_ ? device_->describe() : std::string("device off\n")) << "cloudsim execution "
                            << execution << ": " << cloud << "\ncloudsim log:\n"
                            << sim.log_tail() << "\nbroker log:\n"
                            << broker.log_tail());
  }

  TopicProfile profile_;
  bool persistent_session_;
  std::unique_ptr<Device> device_;
};

// The device is connected and every command filter is granted.
void start_ready(Rig& rig) {
  rig.device().start();
  rig.require_eventually("the command topics subscribed", [&] { return rig.device().adapter().ready(); });
}

// Tests 1 and 2: a command runs once and cloudsim records SUCCEEDED with the typed result.
void command_succeeds(TopicProfile profile, std::string_view profile_name) {
  Rig rig(profile);
  start_ready(rig);
  const std::string view = rig.send(R"({"executionId": "exec-1", "payload": {"operation": "blink", "times": 3},)"
                                    R"( "timeoutSeconds": 60, "profile": ")" +
                                    std::string(profile_name) + "\"}");
  INFO("request topic: " << value_at(view, "requestTopic"));
  Device& device = rig.device();
  rig.require_eventually("SUCCEEDED taken by cloudsim", [&] {
    return device.status_of("exec-1") == commands::ExecStatus::kSucceeded && device.adapter().stats().updates_accepted >= 2;
  }, "exec-1");
  const std::string doc = rig.execution_doc("exec-1");
  INFO("cloudsim: " << doc << "\n" << device.describe());
  CHECK(value_at_is(doc, "status", R"("SUCCEEDED")"));
  CHECK(value_at_is(doc, "result", R"({"blinks": {"s": "3"}, "ok": {"b": true}, "pattern": {"s": "[1,0,1]"}})"));
  CHECK(value_at(doc, "statusReason").empty());
  REQUIRE(rig.runs.size() == 1);
  CHECK(rig.runs[0].id == "exec-1");
  CHECK(rig.runs[0].content_type == "application/json");
  CHECK(rig.runs[0].has_deadline);  // from the request's message expiry
  CHECK(device.adapter().stats().updates_final == 0);
  CHECK(device.adapter().stats().updates_retry == 0);
}

}  // namespace

TEST_CASE("commands cloudsim: a command runs and ends SUCCEEDED in cloudsim with its result",
          "[commands][cloudsim][integration]") {
  command_succeeds(TopicProfile::kAws, "aws");
}

TEST_CASE("commands cloudsim: on the neutral profile a command runs and ends SUCCEEDED with its result",
          "[commands][cloudsim][integration]") {
  command_succeeds(TopicProfile::kNeutral, "neutral");
}

TEST_CASE("commands cloudsim: an unknown operation ends REJECTED and nothing runs", "[commands][cloudsim][integration]") {
  Rig rig;
  start_ready(rig);
  rig.send(R"({"executionId": "exec-1", "payload": {"operation": "format-disk"}, "timeoutSeconds": 60})");
  Device& device = rig.device();
  rig.require_eventually("REJECTED taken by cloudsim", [&] {
    return device.status_of("exec-1") == commands::ExecStatus::kRejected && device.adapter().stats().updates_accepted >= 1;
  }, "exec-1");
  const std::string doc = rig.execution_doc("exec-1");
  INFO("cloudsim: " << doc << "\n" << device.describe());
  CHECK(value_at_is(doc, "status", R"("REJECTED")"));
  CHECK(value_at_is(doc, "statusReason.reasonCode", R"("UNKNOWN_OPERATION")"));
  CHECK(rig.runs.empty());
}

TEST_CASE("commands cloudsim: a request that is not JSON ends REJECTED with INVALID_REQUEST",
          "[commands][cloudsim][integration]") {
  Rig rig;
  start_ready(rig);
  // "not json" in base64, sent as application/json.
  rig.send(R"({"executionId": "exec-1", "payloadBase64": "bm90IGpzb24=", "timeoutSeconds": 60})");
  Device& device = rig.device();
  rig.require_eventually("the refusal taken by cloudsim", [&] {
    return device.adapter().stats().invalid_requests == 1 && device.adapter().stats().updates_accepted >= 1;
  }, "exec-1");
  const std::string doc = rig.execution_doc("exec-1");
  INFO("cloudsim: " << doc << "\n" << device.describe());
  CHECK(value_at_is(doc, "status", R"("REJECTED")"));
  CHECK(value_at_is(doc, "statusReason.reasonCode", R"("INVALID_REQUEST")"));
  CHECK(!value_at(doc, "statusReason.reasonDescription").empty());
  CHECK(rig.runs.empty());
}

TEST_CASE("commands cloudsim: a redelivered command is not executed twice, before or after a device restart",
          "[commands][cloudsim][integration]") {
  Rig rig;
  rig.device().complete_at_once = false;
  start_ready(rig);
  const std::string payload = R"({"operation":"blink","times":2})";
  const std::string view =
      rig.send(R"({"executionId": "exec-1", "payload": )" + payload + R"(, "timeoutSeconds": 120})");
  const std::string topic = value_at(view, "requestTopic");
  REQUIRE(topic == "\"$aws/commands/things/device-1/executions/exec-1/request/json\"");
  rig.require_eventually("the command started", [&] { return rig.runs.size() == 1; }, "exec-1");

  Replayer replay(rig.broker);
  const std::string request_topic = topic.substr(1, topic.size() - 2);
  // Delivered again while it runs: IN_PROGRESS again, not a second run.
  replay.publish(request_topic, payload, 100);
  rig.require_eventually("the redelivery seen", [&] { return rig.device().inbox().stats().duplicates == 1; }, "exec-1");
  REQUIRE(rig.device().inbox().succeed(rig.device().running, R"({"blinks": 2})").ok());
  rig.require_eventually("SUCCEEDED taken by cloudsim", [&] {
    return rig.device().adapter().stats().updates_accepted >= 3;  // IN_PROGRESS twice, SUCCEEDED
  }, "exec-1");
  CHECK(value_at_is(rig.execution_doc("exec-1"), "status", R"("SUCCEEDED")"));

  // The device restarts over its journal; the request comes again.
  rig.power_off();
  rig.boot();
  Device& device = rig.device();
  start_ready(rig);
  replay.publish(request_topic, payload, 100);
  rig.require_eventually("the redelivery after the restart answered", [&] {
    return device.inbox().stats().duplicates == 1 && device.adapter().stats().updates_final >= 1;
  }, "exec-1");
  // The recorded SUCCEEDED went out again; cloudsim refuses it for good (TerminalStateReached)
  // and the device does not send it in a loop.
  const std::uint32_t sent = device.adapter().stats().updates_sent;
  device.run_for(milliseconds(5000));  // status_retry is 2 s
  INFO(device.describe());
  CHECK(device.adapter().stats().updates_sent == sent);
  CHECK(rig.run_ids() == std::vector<std::string>{"exec-1"});
  const std::string doc = rig.execution_doc("exec-1");
  INFO("cloudsim: " << doc);
  CHECK(value_at_is(doc, "status", R"("SUCCEEDED")"));
  CHECK(value_at_is(doc, "result", R"({"blinks": {"s": "2"}})"));
}

TEST_CASE("commands cloudsim: an expired command is reported TIMED_OUT by cloudsim and never reaches the device",
          "[commands][cloudsim][integration]") {
  Rig rig(TopicProfile::kAws, true);
  start_ready(rig);  // the persistent session holds the subscriptions while the device is off
  rig.device().stop();
  rig.power_off();

  rig.send(R"({"executionId": "short", "payload": {"operation": "blink"}, "timeoutSeconds": 1})");
  rig.send(R"({"executionId": "long", "payload": {"operation": "blink"}, "timeoutSeconds": 120})");
  rig.require_cloud_status("short", "TIMED_OUT");
  // The request's message expiry (1 s) has passed too: the broker counts whole seconds.
  std::this_thread::sleep_for(milliseconds(2000));

  rig.boot();
  Device& device = rig.device();
  device.start();
  // The broker kept the live request for the device (so it would have kept "short" too) ...
  rig.require_eventually("the long command delivered from the session and run", [&] {
    return rig.runs.size() == 1 && device.adapter().stats().updates_accepted >= 2;
  }, "long");
  device.run_for(milliseconds(1000));
  INFO(device.describe());
  CHECK(rig.run_ids() == std::vector<std::string>{"long"});
  // ... but dropped the expired one: the device never saw it.
  CHECK_FALSE(device.knows("short"));
  CHECK(device.adapter().stats().requests == 1);
  const std::string doc = rig.execution_doc("short");
  INFO("cloudsim: " << doc);
  CHECK(value_at_is(doc, "status", R"("TIMED_OUT")"));
  CHECK(value_at_is(doc, "statusReason.reasonCode", R"("$NO_RESPONSE_FROM_DEVICE")"));
  CHECK(value_at_is(rig.execution_doc("long"), "status", R"("SUCCEEDED")"));
}

TEST_CASE("commands cloudsim: a command that outlives its timeout is TIMED_OUT on both sides without a status loop",
          "[commands][cloudsim][integration]") {
  Rig rig;
  rig.device().complete_at_once = false;
  start_ready(rig);
  rig.send(R"({"executionId": "exec-1", "payload": {"operation": "blink"}, "timeoutSeconds": 2})");
  Device& device = rig.device();
  rig.require_eventually("the command started", [&] { return rig.runs.size() == 1; }, "exec-1");
  CHECK(rig.runs[0].has_deadline);
  // The device's deadline is the request's message expiry: it gives up when cloudsim does.
  rig.require_eventually("TIMED_OUT on the device and answered", [&] {
    const commands::CommandAdapterStats& s = device.adapter().stats();
    return device.status_of("exec-1") == commands::ExecStatus::kTimedOut && s.updates_accepted + s.updates_final >= 2;
  }, "exec-1");
  CHECK(device.inbox().succeed(device.running).code() == StatusCode::kDeadlineExceeded);
  const std::uint32_t sent = device.adapter().stats().updates_sent;
  device.run_for(milliseconds(5000));
  INFO(device.describe());
  CHECK(device.adapter().stats().updates_sent == sent);
  CHECK(value_at_is(rig.execution_doc("exec-1"), "status", R"("TIMED_OUT")"));
}
