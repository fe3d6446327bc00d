// Copyright 2026 The Tether Authors. SPDX-License-Identifier: Apache-2.0
// The AWS IoT Commands and neutral cmd/<thing> adapter over the fakes: subscriptions, requests
// delivered to the inbox (deadline from the message expiry, duplicates, unknown operations,
// requests that do not decode), updates as published (status, statusReason, typed result) and the
// service's answers ending or continuing the retries. Topics and documents are written out here,
// not built with the codec under test.
#include <catch2/catch.hpp>

#include <algorithm>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "test_support.hpp"
#include "tether/agent.hpp"
#include "tether/commands/command_adapter.hpp"
#include "tether/commands/inbox.hpp"
#include "tether/json.hpp"
#include "tether/port/testing/capturing_log_sink.hpp"
#include "tether/port/testing/fake_mqtt_client.hpp"
#include "tether/port/testing/memory_kv_store.hpp"
#include "tether/port/testing/simulated_clock.hpp"
#include "tether/shadow/document.hpp"

using namespace tether;
using namespace tether::commands;
using std::chrono::milliseconds;
using std::chrono::seconds;

namespace {

// The topics of device-1 under one profile, written out.
struct Wire {
  TopicProfile profile;

  std::string prefix() const {
    return profile == TopicProfile::kAws ? "$aws/commands/things/device-1/executions" : "cmd/device-1";
  }
  std::string aws_suffix() const { return profile == TopicProfile::kAws ? "/json" : ""; }
  std::string request(const std::string& id) const { return prefix() + "/" + id + "/request" + aws_suffix(); }
  std::string response(const std::string& id) const { return prefix() + "/" + id + "/response" + aws_suffix(); }
  std::string accepted(const std::string& id) const {
    return prefix() + "/" + id + "/response/accepted" + aws_suffix();
  }
  std::string rejected(const std::string& id) const {
    return prefix() + "/" + id + "/response/rejected" + aws_suffix();
  }
  Source source() const { return profile == TopicProfile::kAws ? Source::kCommands : Source::kNeutral; }
};

// The compact JSON text of a value ("" when invalid).
std::string text_of(const json::Value& value) {
  if (!value.valid()) return {};
  char buffer[4096];
  json::Writer writer(Span<char>(buffer, sizeof buffer));
  shadow::write_value(writer, value);
  return std::string(writer.finish().value_or("<unwritable>"));
}

// JSON equality of two texts.
bool same_json(const std::string& a, const std::string& b) {
  bool same = false;
  const Status s = json::parse(a, kMaxJsonInput, [&](const json::Value& x) {
    return json::parse(b, kMaxJsonInput, [&](const json::Value& y) {
      same = shadow::equal(x, y);
      return Status();
    });
  });
  return s.ok() && same;
}

// One update as published (parsed).
struct Update {
  std::string status;
  std::string reason_code;         // "" when absent
  std::string reason_description;  // "" when absent
  std::string result;              // JSON text, "" when absent
  bool has_status_reason = false;
};

// One handler call.
struct Run {
  std::string id;
  std::string operation;
  std::string document;
  std::string content_type;
  Milliseconds deadline;
  Execution execution;
};

class Rig {
 public:
  testing::SimulatedClock clock;
  testing::FakeMqttClient mqtt{&clock};
  testing::CapturingLogSink log;
  testing::MemoryKvStore store;
  AgentConfig config;
  InboxSettings settings;
  CommandAdapterSettings adapter_settings;
  Wire wire;
  std::unique_ptr<Agent> agent;
  std::unique_ptr<CommandAdapter> adapter;
  std::unique_ptr<Inbox> inbox;
  std::vector<Run> runs;
  // What the "blink" handler does with a command besides recording it (nothing: it keeps running).
  std::function<void(const CommandContext&)> on_blink;

  explicit Rig(TopicProfile profile = TopicProfile::kAws) : wire{profile} {
    REQUIRE(config.thing_name.assign("device-1").ok());
    config.profile = profile;
    settings.heartbeat = milliseconds(0);
    settings.status_retry = seconds(10);
  }

  // A device boot: a new agent, adapter and inbox over the same store and broker.
  void boot() {
    if (agent) {  // the power goes: the broker sees the connection drop
      mqtt.drop_connection(Status(StatusCode::kUnavailable, Origin::kSocket));
      agent->run_once(milliseconds(0)).ignore();
    }
    inbox.reset();  // before the adapter it calls, the adapter before the agent
    adapter.reset();
    agent = std::make_unique<Agent>(mqtt, clock, config, &log, 3);
    adapter = std::make_unique<CommandAdapter>(wire.profile, adapter_settings);
    inbox = std::make_unique<Inbox>(*agent, &store, settings);
    REQUIRE(inbox->add_adapter(*adapter).ok());
    REQUIRE(inbox->on_command("blink", [this](const CommandContext& c) {
      runs.push_back({std::string(c.id), std::string(c.operation), text_of(c.document), std::string(c.content_type),
                      c.deadline, c.execution});
      if (on_blink) on_blink(c);
    }).ok());
    ErrorText why;
    const Status started = inbox->start(&why);
    INFO(why.c_str());
    REQUIRE(started.ok());
    REQUIRE(agent->start().ok());
    run(milliseconds(100));
    REQUIRE(adapter->ready());
  }

  void run(milliseconds d) {
    const milliseconds end = clock.now() + d;
    while (clock.now() < end) agent->run_once(milliseconds(50)).ignore();
  }

  // The service publishes a request for execution `id`; the device handles it.
  void request(const std::string& id, const std::string& payload, std::optional<std::uint32_t> expiry_s = 3600,
               const std::string& topic = {}, const std::string& content_type = "application/json") {
    testing::FakeMessage m;
    m.topic = topic.empty() ? wire.request(id) : topic;
    m.payload = payload;
    m.qos = Qos::k1;
    m.content_type = content_type;
    m.message_expiry_s = expiry_s;
    mqtt.inject_message(m);
    run(milliseconds(100));
  }
  void answer_accepted(const std::string& id) {
    mqtt.inject_message(wire.accepted(id), "{\"executionId\":\"" + id + "\"}");
    run(milliseconds(100));
  }
  void answer_rejected(const std::string& id, const std::string& error) {
    mqtt.inject_message(wire.rejected(id),
                        R"({"error":")" + error + R"(","errorMessage":"no","executionId":")" + id + "\"}");
    run(milliseconds(100));
  }

  // Every update published for `id`, parsed, in order.
  std::vector<Update> updates(const std::string& id) const {
    std::vector<Update> out;
    for (const testing::FakeMessage& m : mqtt.published()) {
      if (m.topic != wire.response(id)) continue;
      Update u;
      const Status parsed = json::parse(m.payload, kMaxJsonInput, [&](const json::Value& root) {
        u.status = std::string(root["status"].as_string().value_or("<none>"));
        u.has_status_reason = root["statusReason"].valid();
        u.reason_code = std::string(root["statusReason"]["reasonCode"].as_string().value_or(""));
        u.reason_description = std::string(root["statusReason"]["reasonDescription"].as_string().value_or(""));
        u.result = text_of(root["result"]);
        return Status();
      });
      INFO(m.payload);
      CHECK(parsed.ok());
      out.push_back(u);
    }
    return out;
  }
  std::vector<std::string> statuses(const std::string& id) const {
    std::vector<std::string> out;
    for (const Update& u : updates(id)) out.push_back(u.status);
    return out;
  }
};

}  // namespace

TEST_CASE("command adapter: it subscribes the request and answer filters of its profile") {
  SECTION("AWS IoT Commands") {
    Rig rig(TopicProfile::kAws);
    rig.boot();
    CHECK(rig.adapter->source() == Source::kCommands);
    const std::string p = "$aws/commands/things/device-1/executions/+/";
    for (const std::string& f : {p + "request/json", p + "request/cbor", p + "request", p + "response/accepted/json",
                                 p + "response/rejected/json"}) {
      INFO(f);
      CHECK(rig.mqtt.subscriptions().count(f) == 1);
    }
    CHECK(rig.mqtt.subscriptions().size() == 5);
  }
  SECTION("neutral") {
    Rig rig(TopicProfile::kNeutral);
    rig.boot();
    CHECK(rig.adapter->source() == Source::kNeutral);
    for (const char* f : {"cmd/device-1/+/request", "cmd/device-1/+/response/accepted",
                                 "cmd/device-1/+/response/rejected"}) {
      INFO(f);
      CHECK(rig.mqtt.subscriptions().count(f) == 1);
    }
    CHECK(rig.mqtt.subscriptions().size() == 3);
  }
  SECTION("AWS IoT Commands addressed by client id") {
    Rig rig(TopicProfile::kAws);
    REQUIRE(rig.config.client_id.assign("client-7").ok());
    rig.adapter_settings.device_type = DeviceType::kClient;
    rig.boot();
    CHECK(rig.mqtt.subscriptions().count("$aws/commands/clients/client-7/executions/+/request/json") == 1);
  }
  SECTION("the neutral pattern has no client device type") {
    Rig rig(TopicProfile::kNeutral);
    Agent agent(rig.mqtt, rig.clock, rig.config, &rig.log);
    CommandAdapterSettings settings;
    settings.device_type = DeviceType::kClient;
    CommandAdapter adapter(TopicProfile::kNeutral, settings);
    Inbox inbox(agent, nullptr);
    REQUIRE(inbox.add_adapter(adapter).ok());
    ErrorText why;
    CHECK(inbox.start(&why).code() == StatusCode::kInvalidArgument);
    CHECK(!why.empty());
  }
}

TEST_CASE("command adapter: a request runs its operation and SUCCEEDED is sent with a typed result") {
  const TopicProfile profile = GENERATE(TopicProfile::kAws, TopicProfile::kNeutral);
  INFO(to_string(profile));
  Rig rig(profile);
  rig.boot();
  const std::string document = R"({"operation":"blink","times":3})";
  rig.request("exec-1", document);
  REQUIRE(rig.runs.size() == 1);
  CHECK(rig.runs[0].id == "exec-1");
  CHECK(rig.runs[0].operation == "blink");
  CHECK(same_json(rig.runs[0].document, document));
  CHECK(rig.runs[0].content_type == "application/json");
  CHECK(rig.statuses("exec-1") == std::vector<std::string>{"IN_PROGRESS"});
  rig.answer_accepted("exec-1");

  REQUIRE(rig.inbox->succeed(rig.runs[0].execution,
                             R"({"blinks":3,"ok":true,"color":"red","info":{"a":[1,2.5]},"none":null})")
              .ok());
  rig.run(milliseconds(100));
  const std::vector<Update> updates = rig.updates("exec-1");
  REQUIRE(updates.size() == 2);
  CHECK(updates[1].status == "SUCCEEDED");
  CHECK(!updates[1].has_status_reason);
  INFO(updates[1].result);
  CHECK(same_json(updates[1].result, R"({"blinks":{"s":"3"},"ok":{"b":true},"color":{"s":"red"},)"
                                     R"("info":{"s":"{\"a\":[1,2.5]}"},"none":{"s":"null"}})"));
  rig.answer_accepted("exec-1");
  CHECK(rig.adapter->stats().updates_accepted == 2);
  rig.run(seconds(30));
  CHECK(rig.updates("exec-1").size() == 2);  // accepted: never sent again
}

TEST_CASE("command adapter: FAILED carries a statusReason with the code in the service's alphabet") {
  Rig rig;
  rig.boot();
  rig.request("exec-1", R"({"operation":"blink"})");
  REQUIRE(rig.runs.size() == 1);
  REQUIRE(rig.inbox->fail(rig.runs[0].execution, "LED_BROKEN", "no current\non pin 4").ok());
  rig.run(milliseconds(100));
  Update last = rig.updates("exec-1").back();
  CHECK(last.status == "FAILED");
  CHECK(last.reason_code == "LED_BROKEN");
  CHECK(last.reason_description == "no current on pin 4");  // the control character made a space
  CHECK(last.result.empty());

  // Reports that do not come from the inbox's checks are mapped, not refused.
  StatusReport report;
  report.status = ExecStatus::kFailed;
  report.reason_code = "bad code!";
  report.reason = "text";
  REQUIRE(rig.adapter->send_status("exec-2", report).ok());
  last = rig.updates("exec-2").back();
  CHECK(last.reason_code == "BAD_CODE_");
  CHECK(last.reason_description == "text");
  report.status = ExecStatus::kQueued;
  CHECK(rig.adapter->send_status("exec-2", report).code() == StatusCode::kInvalidArgument);
  report.status = ExecStatus::kFailed;
  CHECK(rig.adapter->send_status("not/an id", report).code() == StatusCode::kInvalidArgument);
}

TEST_CASE("command adapter: result entries the service would refuse are left out, the status is sent") {
  Rig rig;
  rig.boot();
  rig.request("exec-1", R"({"operation":"blink"})");
  REQUIRE(rig.runs.size() == 1);
  REQUIRE(rig.inbox->succeed(rig.runs[0].execution, R"({"empty":"","ctl\u0001key":"x","kept":"yes"})").ok());
  rig.run(milliseconds(100));
  const Update last = rig.updates("exec-1").back();
  CHECK(last.status == "SUCCEEDED");
  INFO(last.result);
  CHECK(same_json(last.result, R"({"kept":{"s":"yes"}})"));
  CHECK(rig.adapter->stats().result_dropped == 2);
  CHECK(rig.log.count(LogLevel::kWarn, "left out") == 2);
}

TEST_CASE("command adapter: the deadline is the receipt time plus the message expiry") {
  const TopicProfile profile = GENERATE(TopicProfile::kAws, TopicProfile::kNeutral);
  INFO(to_string(profile));
  Rig rig(profile);
  rig.boot();
  SECTION("a request with 5 s left that runs longer is reported TIMED_OUT") {
    const Milliseconds received = rig.clock.now();
    rig.request("exec-1", R"({"operation":"blink"})", 5);
    REQUIRE(rig.runs.size() == 1);
    CHECK(rig.runs[0].deadline == received + seconds(5));
    rig.run(seconds(6));
    const Update last = rig.updates("exec-1").back();
    CHECK(last.status == "TIMED_OUT");
    CHECK(last.reason_code == "TIMEOUT");
    CHECK(rig.inbox->succeed(rig.runs[0].execution).code() == StatusCode::kDeadlineExceeded);
  }
  SECTION("a request with no time left is TIMED_OUT and never started") {
    rig.request("exec-1", R"({"operation":"blink"})", 0);
    CHECK(rig.runs.empty());
    const Update last = rig.updates("exec-1").back();
    CHECK(last.status == "TIMED_OUT");
    CHECK(last.reason_code == "EXPIRED");
    CHECK(rig.updates("exec-1").size() == 1);
  }
  SECTION("a request without a message expiry has no deadline") {
    rig.request("exec-1", R"({"operation":"blink"})", std::nullopt);
    REQUIRE(rig.runs.size() == 1);
    CHECK(rig.runs[0].deadline == Milliseconds::max());
  }
}

TEST_CASE("command adapter: a redelivered execution runs once and its recorded status is sent again") {
  const TopicProfile profile = GENERATE(TopicProfile::kAws, TopicProfile::kNeutral);
  INFO(to_string(profile));
  Rig rig(profile);
  rig.boot();
  const std::string document = R"({"operation":"blink"})";
  rig.request("exec-1", document);
  rig.request("exec-1", document);  // while it runs (a QoS 1 redelivery)
  REQUIRE(rig.runs.size() == 1);
  CHECK(rig.statuses("exec-1") == std::vector<std::string>{"IN_PROGRESS", "IN_PROGRESS"});
  REQUIRE(rig.inbox->succeed(rig.runs[0].execution, R"({"blinks":3})").ok());
  rig.run(milliseconds(100));
  rig.answer_accepted("exec-1");
  rig.request("exec-1", document);  // after it ended
  CHECK(rig.runs.size() == 1);
  Update last = rig.updates("exec-1").back();
  CHECK(last.status == "SUCCEEDED");
  CHECK(same_json(last.result, R"({"blinks":{"s":"3"}})"));

  rig.boot();  // the device restarts over the same journal
  rig.mqtt.clear_published();
  rig.request("exec-1", document);
  CHECK(rig.runs.size() == 1);
  REQUIRE(rig.updates("exec-1").size() == 1);
  last = rig.updates("exec-1").back();
  CHECK(last.status == "SUCCEEDED");
  CHECK(same_json(last.result, R"({"blinks":{"s":"3"}})"));
  CHECK(rig.inbox->stats().duplicates == 1);
}

TEST_CASE("command adapter: a command running at a restart is reported FAILED and never run again") {
  Rig rig;
  rig.boot();
  rig.request("exec-1", R"({"operation":"blink"})");
  REQUIRE(rig.runs.size() == 1);
  rig.boot();
  CHECK(rig.statuses("exec-1").back() == "FAILED");
  CHECK(rig.updates("exec-1").back().reason_code == "INTERRUPTED");
  rig.request("exec-1", R"({"operation":"blink"})");  // the broker redelivers it
  CHECK(rig.runs.size() == 1);
  CHECK(rig.statuses("exec-1").back() == "FAILED");
}

TEST_CASE("command adapter: an unknown operation is REJECTED") {
  const TopicProfile profile = GENERATE(TopicProfile::kAws, TopicProfile::kNeutral);
  INFO(to_string(profile));
  Rig rig(profile);
  rig.boot();
  SECTION("an operation without a handler") {
    rig.request("exec-1", R"({"operation":"format-disk"})");
    CHECK(rig.runs.empty());
    const Update last = rig.updates("exec-1").back();
    CHECK(last.status == "REJECTED");
    CHECK(last.reason_code == "UNKNOWN_OPERATION");
    CHECK(last.reason_description.find("format-disk") != std::string::npos);
    CHECK(rig.inbox->status_of(rig.wire.source(), "exec-1").value_or(ExecStatus::kQueued) == ExecStatus::kRejected);
  }
  SECTION("a document without an operation") {
    rig.request("exec-1", R"({"times":3})");
    CHECK(rig.runs.empty());
    CHECK(rig.updates("exec-1").back().reason_code == "UNKNOWN_OPERATION");
  }
}

TEST_CASE("command adapter: a request on a topic naming no format is read by its content type, else as JSON") {
  Rig rig;
  rig.boot();
  const std::string generic = "$aws/commands/things/device-1/executions/";
  rig.on_blink = [&rig](const CommandContext& c) { rig.inbox->succeed(c.execution).ignore(); };
  rig.request("exec-1", R"({"operation":"blink"})", 3600, generic + "exec-1/request", "application/json; charset=utf-8");
  rig.request("exec-2", R"({"operation":"blink"})", 3600, generic + "exec-2/request", "");
  REQUIRE(rig.runs.size() == 2);
  CHECK(rig.statuses("exec-2").back() == "SUCCEEDED");
  rig.request("exec-3", R"({"operation":"blink"})", 3600, generic + "exec-3/request", "text/plain");
  CHECK(rig.runs.size() == 2);  // opaque bytes name no operation
  CHECK(rig.updates("exec-3").back().reason_code == "UNKNOWN_OPERATION");
}

TEST_CASE("command adapter: a CBOR request names no operation the device can read: REJECTED") {
  Rig rig;
  rig.boot();
  rig.request("exec-1", std::string("\xa1\x69" "operation" "\x65" "blink", 17), 3600,
              "$aws/commands/things/device-1/executions/exec-1/request/cbor", "application/cbor");
  CHECK(rig.runs.empty());
  CHECK(rig.updates("exec-1").back().status == "REJECTED");
  CHECK(rig.updates("exec-1").back().reason_code == "UNKNOWN_OPERATION");
}

TEST_CASE("command adapter: a request that does not decode is REJECTED with INVALID_REQUEST") {
  const TopicProfile profile = GENERATE(TopicProfile::kAws, TopicProfile::kNeutral);
  INFO(to_string(profile));
  Rig rig(profile);
  rig.boot();
  SECTION("not JSON") {
    rig.request("exec-1", R"({"operation":"blink")");
    CHECK(rig.runs.empty());
    const std::vector<Update> updates = rig.updates("exec-1");
    REQUIRE(updates.size() == 1);
    CHECK(updates[0].status == "REJECTED");
    CHECK(updates[0].reason_code == "INVALID_REQUEST");
    CHECK(!updates[0].reason_description.empty());
    CHECK(rig.adapter->stats().invalid_requests == 1);
    CHECK(rig.inbox->status_of(rig.wire.source(), "exec-1").status().code() == StatusCode::kNotFound);
    rig.answer_rejected("exec-1", "TerminalStateReached");  // not journaled: nothing to end
    rig.run(seconds(30));
    CHECK(rig.updates("exec-1").size() == 1);
  }
  SECTION("an operation that is not a string") {
    rig.request("exec-1", R"({"operation":7})");
    CHECK(rig.runs.empty());
    CHECK(rig.updates("exec-1").back().reason_code == "INVALID_REQUEST");
  }
  SECTION("an unreadable redelivery of a known execution gets its recorded status") {
    rig.request("exec-1", R"({"operation":"blink"})");
    REQUIRE(rig.runs.size() == 1);
    REQUIRE(rig.inbox->succeed(rig.runs[0].execution).ok());
    rig.request("exec-1", "garbage");
    CHECK(rig.runs.size() == 1);
    CHECK(rig.statuses("exec-1").back() == "SUCCEEDED");
    CHECK(rig.adapter->stats().invalid_requests == 0);
  }
}

TEST_CASE("command adapter: a request on a topic without a valid execution id is dropped loudly") {
  Rig rig(TopicProfile::kNeutral);
  rig.boot();
  rig.request("jobs", R"({"operation":"blink"})");  // cmd/<thing>/jobs/... belongs to Jobs
  CHECK(rig.runs.empty());
  CHECK(rig.adapter->stats().malformed == 1);
  CHECK(rig.log.count(LogLevel::kWarn, "ignored a message") == 1);
  CHECK(rig.mqtt.published().empty());
}

TEST_CASE("command adapter: answers end or continue the status retries") {
  const TopicProfile profile = GENERATE(TopicProfile::kAws, TopicProfile::kNeutral);
  INFO(to_string(profile));
  Rig rig(profile);
  rig.boot();
  rig.request("exec-1", R"({"operation":"blink"})");
  REQUIRE(rig.runs.size() == 1);
  rig.answer_accepted("exec-1");
  REQUIRE(rig.inbox->succeed(rig.runs[0].execution).ok());
  rig.run(milliseconds(100));
  REQUIRE(rig.statuses("exec-1").size() == 2);
  SECTION("a refusal retrying cannot fix ends them at once") {
    rig.answer_rejected("exec-1", "TerminalStateReached");
    rig.run(seconds(60));
    CHECK(rig.statuses("exec-1").size() == 2);
    CHECK(rig.inbox->stats().statuses_final == 1);
    CHECK(rig.adapter->stats().updates_final == 1);
  }
  SECTION("an unknown error code ends them too") {
    rig.answer_rejected("exec-1", "SomethingNew");
    rig.run(seconds(60));
    CHECK(rig.statuses("exec-1").size() == 2);
  }
  SECTION("throttled: sent again after the status retry, until accepted") {
    rig.answer_rejected("exec-1", "RequestThrottled");
    CHECK(rig.adapter->stats().updates_retry == 1);
    rig.run(seconds(11));
    REQUIRE(rig.statuses("exec-1").size() == 3);
    CHECK(rig.statuses("exec-1").back() == "SUCCEEDED");
    rig.answer_accepted("exec-1");
    rig.run(seconds(60));
    CHECK(rig.statuses("exec-1").size() == 3);
  }
  SECTION("no answer: sent again, and an answer no update awaits is ignored") {
    rig.run(seconds(11));
    CHECK(rig.statuses("exec-1").size() == 3);
    CHECK(rig.adapter->stats().updates_retry == 1);  // the answer timeout
    rig.answer_accepted("exec-1");
    rig.answer_accepted("exec-1");
    CHECK(rig.adapter->stats().unmatched_answers == 1);
    rig.run(seconds(60));
    CHECK(rig.statuses("exec-1").size() == 3);
  }
}

TEST_CASE("command adapter: statuses made while offline are sent after the reconnect") {
  Rig rig;
  rig.boot();
  rig.request("exec-1", R"({"operation":"blink"})");
  REQUIRE(rig.runs.size() == 1);
  rig.mqtt.drop_connection(Status(StatusCode::kUnavailable, Origin::kSocket));
  rig.run(milliseconds(10));
  REQUIRE(rig.inbox->succeed(rig.runs[0].execution).ok());
  CHECK(rig.statuses("exec-1").size() == 1);
  rig.run(seconds(5));
  CHECK(rig.statuses("exec-1").back() == "SUCCEEDED");
}

TEST_CASE("command adapter: the AWS and neutral adapters share one inbox, each with its own ids") {
  Rig rig(TopicProfile::kAws);
  Agent agent(rig.mqtt, rig.clock, rig.config, &rig.log, 5);
  CommandAdapter aws(TopicProfile::kAws);
  CommandAdapter neutral(TopicProfile::kNeutral);
  std::vector<std::string> runs;
  {
    Inbox inbox(agent, &rig.store);
    REQUIRE(inbox.add_adapter(aws).ok());
    REQUIRE(inbox.add_adapter(neutral).ok());
    REQUIRE(inbox.on_command("blink", [&](const CommandContext& c) {
      runs.push_back(std::string(to_string(c.source)) + ":" + std::string(c.id));
      inbox.succeed(c.execution).ignore();
    }).ok());
    REQUIRE(inbox.start().ok());
    REQUIRE(agent.start().ok());
    for (int i = 0; i < 4; ++i) agent.run_once(milliseconds(50)).ignore();
    CHECK((aws.ready() && neutral.ready()));
    rig.mqtt.inject_message("$aws/commands/things/device-1/executions/x-1/request/json", R"({"operation":"blink"})");
    rig.mqtt.inject_message("cmd/device-1/x-1/request", R"({"operation":"blink"})");  // no content type: JSON
    for (int i = 0; i < 4; ++i) agent.run_once(milliseconds(50)).ignore();
  }
  CHECK(runs == std::vector<std::string>{"commands:x-1", "neutral:x-1"});
  std::vector<std::string> topics;
  for (const testing::FakeMessage& m : rig.mqtt.published()) topics.push_back(m.topic);
  CHECK(std::count(topics.begin(), topics.end(), "$aws/commands/things/device-1/executions/x-1/response/json") == 2);
  CHECK(std::count(topics.begin(), topics.end(), "cmd/device-1/x-1/response") == 2);
}
