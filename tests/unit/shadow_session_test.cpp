// Copyright 2026 The Tether Authors. SPDX-License-Identifier: Apache-2.0
// The shadow session over the fakes: sync on connect, handlers, reordering, duplicates, conflicts,
// throttling, offline coalescing, reboot restore, limits. Answers from the service are scripted
// here message by message, so every ordering can be produced.
#include <catch2/catch.hpp>

#include <memory>
#include <string>
#include <vector>

#include "test_support.hpp"
#include "tether/agent.hpp"
#include "tether/json.hpp"
#include "tether/port/testing/capturing_log_sink.hpp"
#include "tether/port/testing/fake_mqtt_client.hpp"
#include "tether/port/testing/memory_kv_store.hpp"
#include "tether/port/testing/simulated_clock.hpp"
#include "tether/shadow/document.hpp"
#include "tether/shadow/shadow.hpp"

using namespace tether;
using std::chrono::milliseconds;
using std::chrono::seconds;

namespace {

const std::string kPrefix = "$aws/things/device-1/shadow";

// JSON equality of two texts (through the codec under test's equal(), itself unit-tested).
bool same_json(const std::string& a, const std::string& b) {
  bool same = false;
  const Status s = json::parse(a, 65536, [&](const json::Value& x) {
    return json::parse(b, 65536, [&](const json::Value& y) {
      same = shadow::equal(x, y);
      return Status();
    });
  });
  return s.ok() && same;
}

std::string field_text(const std::string& doc, const char* path) {
  std::string out;
  json::parse(doc, 65536, [&](const json::Value& root) {
    json::Value v = root;
    std::string_view p(path);
    while (!p.empty()) {
      const std::size_t dot = p.find('.');
      v = v[p.substr(0, dot)];
      p = dot == std::string_view::npos ? std::string_view() : p.substr(dot + 1);
    }
    char buf[8192];
    json::Writer w(Span<char>(buf, sizeof buf));
    if (v.valid()) shadow::write_value(w, v);
    Result<std::string_view> text = w.finish();
    if (text.ok()) out.assign(text.value());
    return Status();
  }).ignore();
  return out;
}

struct Decided {
  std::string path;
  std::string value;
  std::int64_t version;
};

class Rig {
 public:
  testing::SimulatedClock clock;
  testing::FakeMqttClient mqtt{&clock};
  testing::CapturingLogSink log;
  testing::MemoryKvStore store;
  AgentConfig config;
  std::unique_ptr<Agent> agent;
  std::unique_ptr<shadow::Shadow> shadow;  // ~60 KB: never on the stack
  shadow::ShadowSettings settings;
  std::vector<Decided> calls;
  std::vector<shadow::ShadowEvent> events;
  shadow::Decision next_decision = shadow::Decision::kAccept;

  Rig() {
    REQUIRE(config.thing_name.assign("device-1").ok());
    settings.persist_interval = milliseconds(0);
    clock.set_wall_time_ms(1'800'000'000'000);
  }

  // A device boot: a new agent and shadow over the same store.
  void boot(bool connect = true) {
    if (agent) {  // the power goes: the broker sees the connection drop
      mqtt.drop_connection(Status(StatusCode::kUnavailable, Origin::kSocket));
      agent->run_once(milliseconds(0)).ignore();
    }
    shadow.reset();
    agent = std::make_unique<Agent>(mqtt, clock, config, &log, 7);
    shadow = std::make_unique<shadow::Shadow>(*agent, &store, settings, 99);
    REQUIRE(shadow->on_desired("led", [this](const shadow::DesiredChange& c) { return decide(c); }).ok());
    REQUIRE(shadow->on_desired("cfg.interval_s", [this](const shadow::DesiredChange& c) { return decide(c); }).ok());
    shadow->set_event_handler([this](const shadow::ShadowEvent& e) {
      shadow::ShadowEvent copy = e;
      copy.message = {};
      events.push_back(copy);
    });
    ErrorText why;
    REQUIRE(shadow->start(&why).ok());
    if (connect) {
      REQUIRE(agent->start().ok());
      run(milliseconds(300));
    }
  }

  shadow::DesiredResult decide(const shadow::DesiredChange& c) {
    char buf[512];
    json::Writer w(Span<char>(buf, sizeof buf));
    shadow::write_value(w, c.value);
    calls.push_back({std::string(c.path), std::string(w.finish().value_or("?")), c.version});
    if (next_decision == shadow::Decision::kReject) return shadow::DesiredResult::reject("out of range");
    if (next_decision == shadow::Decision::kDefer) return shadow::DesiredResult::defer();
    return shadow::DesiredResult::accept();
  }

  void run(milliseconds duration) {
    const milliseconds end = clock.now() + duration;
    while (clock.now() < end) agent->run_once(milliseconds(50)).ignore();
  }

  std::vector<testing::FakeMessage> sent(const std::string& suffix) const {
    std::vector<testing::FakeMessage> out;
    for (const auto& m : mqtt.published()) {
      if (m.topic == kPrefix + "/" + suffix) out.push_back(m);
    }
    return out;
  }
  std::string last_token(const std::string& suffix) const {
    auto list = sent(suffix);
    REQUIRE(!list.empty());
    return field_text(list.back().payload, "clientToken");  // a JSON string: "\"...\""
  }
  void inject(const std::string& suffix, const std::string& payload) {
    mqtt.inject_message(kPrefix + "/" + suffix, payload);
    run(milliseconds(100));
  }
  void answer_get(const std::string& desired, const std::string& reported, int version) {
    std::string state = "{";
    if (!desired.empty()) state += "\"desired\":" + desired;
    if (!reported.empty()) state += std::string(desired.empty() ? "" : ",") + "\"reported\":" + reported;
    state += "}";
    inject("get/accepted", "{\"state\":" + state + ",\"version\":" + std::to_string(version) +
                               ",\"timestamp\":1,\"clientToken\":" + last_token("get") + "}");
  }
  void answer_update(int version) {
    inject("update/accepted", "{\"state\":{},\"version\":" + std::to_string(version) +
                                  ",\"timestamp\":1,\"clientToken\":" + last_token("update") + "}");
  }
  void reject_update(int code, const std::string& message) {
    inject("update/rejected", "{\"code\":" + std::to_string(code) + ",\"message\":\"" + message +
                                  "\",\"timestamp\":1,\"clientToken\":" + last_token("update") + "}");
  }
  void delta(const std::string& state, int version) {
    inject("update/delta", "{\"state\":" + state + ",\"version\":" + std::to_string(version) + ",\"timestamp\":1}");
  }
  std::string last_reported() const {
    auto list = sent("update");
    REQUIRE(!list.empty());
    return field_text(list.back().payload, "state.reported");
  }
  std::size_t count(shadow::ShadowEventType type) const {
    std::size_t n = 0;
    for (const auto& e : events) n += e.type == type ? 1 : 0;
    return n;
  }
  // Connected, synced with an empty shadow at `version`.
  void synced(int version = 1) {
    boot();
    answer_get("{}", "{}", version);
    REQUIRE(shadow->synced());
  }
};

}  // namespace

TEST_CASE("shadow: the response topics are subscribed and acknowledged before the get") {
  Rig rig;
  rig.mqtt.refuse_subscription(kPrefix + "/update/delta", Status(StatusCode::kPermissionDenied, Origin::kMqtt, 0x87));
  rig.boot();
  CHECK(rig.mqtt.subscriptions().count(kPrefix + "/get/accepted") == 1);
  CHECK(rig.mqtt.subscriptions().count(kPrefix + "/update/accepted") == 1);
  CHECK(rig.sent("get").empty());  // one subscription refused: never synced blind
  CHECK_FALSE(rig.shadow->synced());

  Rig ok;
  ok.boot();
  REQUIRE(ok.sent("get").size() == 1);
  CHECK(ok.mqtt.subscribe_calls().size() == 5);
  CHECK(ok.last_token("get").size() > 4);
}

TEST_CASE("shadow: desired at sync goes to its handler and is reported back") {
  Rig rig;
  rig.boot();
  rig.answer_get(R"({"led":true,"cfg":{"interval_s":30},"other":1})", R"({"led":false})", 12);
  REQUIRE(rig.calls.size() == 2);
  CHECK(rig.calls[0].path == "led");
  CHECK(rig.calls[0].value == "true");
  CHECK(rig.calls[0].version == 12);
  CHECK(rig.calls[1].path == "cfg.interval_s");
  CHECK(rig.calls[1].value == "30");
  REQUIRE(rig.sent("update").size() == 1);
  CHECK(same_json(rig.last_reported(), R"({"led":true,"cfg":{"interval_s":30}})"));
  CHECK(rig.shadow->synced());
  rig.answer_update(13);
  CHECK(rig.shadow->version() == 13);
  CHECK(rig.shadow->unsent() == "{}");
  CHECK(same_json(std::string(rig.shadow->reported()), R"({"led":true,"cfg":{"interval_s":30}})"));
  CHECK(rig.count(shadow::ShadowEventType::kSynced) == 1);
  CHECK(rig.count(shadow::ShadowEventType::kUpdateAccepted) == 1);
}

TEST_CASE("shadow: a rejected desired value is reported in the status field, not applied, not retried") {
  Rig rig;
  rig.synced(3);
  rig.next_decision = shadow::Decision::kReject;
  rig.delta(R"({"led":"purple"})", 4);
  REQUIRE(rig.calls.size() == 1);
  const std::string reported = rig.last_reported();
  CHECK(field_text(reported, "led").empty());
  CHECK(field_text(reported, "tether.rejected.led.reason") == "\"out of range\"");
  CHECK(field_text(reported, "tether.rejected.led.version") == "4");
  CHECK(rig.shadow->stats().rejected_values == 1);
  rig.answer_update(5);
  // The same desired value again (a later version, e.g. another key changed): decided already.
  rig.delta(R"({"led":"purple"})", 6);
  CHECK(rig.calls.size() == 1);
  // A new value is accepted and clears the rejection.
  rig.next_decision = shadow::Decision::kAccept;
  rig.delta(R"({"led":"red"})", 7);
  REQUIRE(rig.calls.size() == 2);
  CHECK(same_json(rig.last_reported(), R"({"led":"red","tether":{"rejected":{"led":null}}})"));
  CHECK(field_text(std::string(rig.shadow->reported()), "tether").empty());
}

TEST_CASE("shadow: stale and duplicate deltas are ignored") {
  Rig rig;
  rig.synced(3);
  rig.delta(R"({"led":1})", 5);
  rig.answer_update(6);
  rig.delta(R"({"led":0})", 4);  // older than the desired state processed
  rig.delta(R"({"led":1})", 5);  // duplicate
  rig.delta(R"({"led":2})", 3);  // as old as the sync
  REQUIRE(rig.calls.size() == 1);
  CHECK(rig.calls[0].value == "1");
  CHECK(rig.shadow->stats().stale_deltas == 3);
  CHECK(rig.sent("update").size() == 1);
  CHECK(field_text(std::string(rig.shadow->reported()), "led") == "1");
}

TEST_CASE("shadow: a get answer older than a processed delta does not roll desired back") {
  Rig rig;
  rig.boot();
  rig.delta(R"({"led":"new"})", 8);  // arrives before the answer to the get
  rig.answer_get(R"({"led":"old"})", "{}", 7);
  REQUIRE(rig.calls.size() == 1);
  CHECK(rig.calls[0].value == "\"new\"");
  CHECK(field_text(std::string(rig.shadow->desired()), "led") == "\"new\"");
  CHECK(rig.shadow->synced());
}

TEST_CASE("shadow: reports made offline are coalesced per key and sent once after the sync") {
  Rig rig;
  rig.synced(2);
  rig.mqtt.drop_connection(Status(StatusCode::kUnavailable, Origin::kSocket));
  rig.run(milliseconds(50));
  CHECK_FALSE(rig.shadow->synced());
  rig.mqtt.script_connect(Status(StatusCode::kUnavailable, Origin::kSocket));  // stays offline a while
  for (int i = 0; i < 50; ++i) REQUIRE(rig.shadow->report_int("temp", i).ok());
  REQUIRE(rig.shadow->report_bool("door", true).ok());
  REQUIRE(rig.shadow->report("{\"door\":null,\"fan\":{\"rpm\":900}}").ok());
  CHECK(rig.sent("update").empty());
  rig.run(seconds(5));  // reconnects (backoff), subscribes, gets
  REQUIRE(rig.sent("get").size() == 2);
  CHECK(rig.sent("update").empty());  // not before the get is answered
  rig.answer_get("{}", R"({"door":false})", 2);
  REQUIRE(rig.sent("update").size() == 1);
  CHECK(same_json(rig.last_reported(), R"({"temp":49,"door":null,"fan":{"rpm":900}})"));
}

TEST_CASE("shadow: local state that differs from the service's is reported at sync") {
  Rig rig;
  rig.synced(2);
  REQUIRE(rig.shadow->report(R"({"a":1,"b":{"c":2,"d":3}})").ok());
  rig.answer_update(3);
  CHECK(rig.shadow->unsent() == "{}");
  // The service lost part of it (or someone else wrote reported): the next sync repairs it.
  rig.shadow->resync();
  rig.run(milliseconds(100));
  rig.answer_get("{}", R"({"a":1,"b":{"c":5}})", 4);
  CHECK(same_json(rig.last_reported(), R"({"b":{"c":2,"d":3}})"));
}

TEST_CASE("shadow: a shadow that does not exist is created from the replica") {
  Rig rig;
  rig.boot();
  REQUIRE(rig.shadow->report_string("fw", "1.2.3").ok());
  rig.inject("get/rejected", "{\"code\":404,\"message\":\"Thing not found\",\"clientToken\":" + rig.last_token("get") + "}");
  CHECK(rig.shadow->synced());
  CHECK(same_json(rig.last_reported(), R"({"fw":"1.2.3"})"));
}

TEST_CASE("shadow: a version conflict makes a get and a reconcile before the report is sent again") {
  Rig rig;
  rig.synced(2);
  REQUIRE(rig.shadow->report_int("x", 1).ok());
  REQUIRE(rig.sent("update").size() == 1);
  rig.reject_update(409, "Version conflict");
  CHECK(rig.shadow->stats().conflicts == 1);
  REQUIRE(rig.sent("get").size() == 2);
  CHECK(rig.sent("update").size() == 1);
  rig.answer_get(R"({"led":true})", "{}", 9);
  REQUIRE(rig.calls.size() == 1);
  REQUIRE(rig.sent("update").size() == 2);
  CHECK(same_json(rig.last_reported(), R"({"x":1,"led":true})"));
}

TEST_CASE("shadow: throttling and timeouts back off and send the same report again") {
  Rig rig;
  rig.synced(2);
  REQUIRE(rig.shadow->report_int("x", 1).ok());
  rig.mqtt.inject_message(kPrefix + "/update/rejected", "{\"code\":429,\"message\":\"Too many requests\",\"clientToken\":" +
                                                       rig.last_token("update") + "}");
  rig.agent->run_once(milliseconds(0)).ignore();
  CHECK(rig.shadow->stats().throttled == 1);
  CHECK(rig.sent("update").size() == 1);  // not at once
  REQUIRE(rig.shadow->report_int("y", 2).ok());  // coalesced with the throttled one
  rig.run(seconds(2));
  REQUIRE(rig.sent("update").size() == 2);
  CHECK(same_json(rig.last_reported(), R"({"x":1,"y":2})"));
  // No answer at all: retried after request_timeout plus backoff.
  rig.run(seconds(12));
  CHECK(rig.shadow->stats().timeouts == 1);
  CHECK(rig.count(shadow::ShadowEventType::kRequestTimedOut) == 1);
  rig.run(seconds(3));
  REQUIRE(rig.sent("update").size() == 3);
  CHECK(same_json(rig.last_reported(), R"({"x":1,"y":2})"));
  rig.answer_update(3);
  CHECK(rig.shadow->unsent() == "{}");
}

TEST_CASE("shadow: an update refused for good is dropped and reported as an event") {
  Rig rig;
  rig.synced(2);
  REQUIRE(rig.shadow->report_int("x", 1).ok());
  rig.reject_update(400, "State contains an invalid node");
  CHECK(rig.count(shadow::ShadowEventType::kUpdateRejected) == 1);
  CHECK(rig.shadow->unsent() == "{}");
  rig.run(seconds(5));
  CHECK(rig.sent("update").size() == 1);
}

TEST_CASE("shadow: answers with another clientToken are ignored") {
  Rig rig;
  rig.boot();
  rig.inject("get/accepted", R"({"state":{"desired":{"led":true}},"version":5,"clientToken":"someone-else"})");
  rig.inject("get/accepted", R"({"state":{"desired":{"led":true}},"version":5})");
  CHECK(rig.calls.empty());
  CHECK_FALSE(rig.shadow->synced());
  CHECK(rig.shadow->stats().foreign_answers == 2);
  rig.answer_get("{}", "{}", 5);
  CHECK(rig.shadow->synced());
  // A second copy of the same answer (redelivery) is foreign by then.
  rig.inject("get/accepted", "{\"state\":{\"desired\":{\"led\":true}},\"version\":5,\"clientToken\":" +
                                 rig.last_token("get") + "}");
  CHECK(rig.calls.empty());
}

TEST_CASE("shadow: malformed messages are counted and ignored") {
  Rig rig;
  rig.synced(2);
  rig.inject("update/delta", "not json");
  rig.inject("update/delta", R"({"state":{"led":1}})");              // no version
  rig.inject("update/delta", R"({"state":[1],"version":9})");        // state not an object
  rig.inject("update/delta", R"({"state":{"led":1},"version":-4})");  // negative version
  CHECK(rig.shadow->stats().malformed == 4);
  CHECK(rig.calls.empty());
}

TEST_CASE("shadow: the replica survives a reboot and decided values are not decided again") {
  Rig rig;
  rig.synced(2);
  rig.delta(R"({"led":true})", 3);
  rig.answer_update(4);
  REQUIRE(rig.shadow->report_int("temp", 21).ok());  // sent, but no answer before the reboot
  rig.run(milliseconds(100));
  REQUIRE(rig.sent("update").size() == 2);
  REQUIRE(rig.calls.size() == 1);
  rig.boot();
  CHECK(rig.shadow->version() == 4);
  CHECK(same_json(std::string(rig.shadow->reported()), R"({"led":true,"temp":21})"));
  CHECK(same_json(std::string(rig.shadow->desired()), R"({"led":true})"));
  rig.answer_get(R"({"led":true})", R"({"led":true})", 4);
  CHECK(rig.calls.size() == 1);
  // The report that was in flight at the reboot is sent again.
  CHECK(same_json(rig.last_reported(), R"({"temp":21})"));
}

TEST_CASE("shadow: a deferred decision is resolved later and survives a reboot") {
  Rig rig;
  rig.synced(2);
  rig.next_decision = shadow::Decision::kDefer;
  rig.delta(R"({"led":"blue"})", 3);
  CHECK(rig.sent("update").empty());
  rig.run(milliseconds(100));
  rig.boot();  // not resolved before the reboot: the handler is asked again
  rig.answer_get(R"({"led":"blue"})", "{}", 3);
  REQUIRE(rig.calls.size() == 2);
  REQUIRE(rig.shadow->resolve("led", shadow::DesiredResult::accept()).ok());
  CHECK(same_json(rig.last_reported(), R"({"led":"blue"})"));
  CHECK(rig.shadow->resolve("led", shadow::DesiredResult::accept()).code() == StatusCode::kNotFound);
}

TEST_CASE("shadow: limits are checked before anything is sent or changed") {
  Rig rig;
  rig.synced(2);
  ErrorText why;
  const std::string big(9000, 'x');
  Status s = rig.shadow->report_string("blob", big, &why);
  CHECK(s.code() == StatusCode::kOutOfRange);
  CHECK(std::string(why.c_str()).find("8192") != std::string::npos);
  s = rig.shadow->report(R"({"a":{"b":{"c":{"d":{"e":{"f":{"g":1}}}}}}})", &why);
  CHECK(s.code() == StatusCode::kOutOfRange);
  CHECK(s.detail() == 7);
  CHECK(rig.shadow->report(R"({"a":[1,null]})", &why).code() == StatusCode::kInvalidArgument);
  CHECK(rig.shadow->report("[1]", &why).code() == StatusCode::kInvalidArgument);
  CHECK(rig.shadow->report("{\"a\":", &why).code() == StatusCode::kInvalidArgument);
  CHECK(rig.shadow->report_int("tether.x", 1, &why).code() == StatusCode::kInvalidArgument);
  CHECK(rig.shadow->report_int("a..b", 1, &why).code() == StatusCode::kInvalidArgument);
  CHECK(rig.shadow->reported() == "{}");
  CHECK(rig.sent("update").empty());
  // Six levels are allowed.
  CHECK(rig.shadow->report(R"({"a":{"b":{"c":{"d":{"e":{"f":1}}}}}})").ok());
}

TEST_CASE("shadow: a damaged stored replica is discarded and rebuilt by the sync") {
  Rig rig;
  rig.synced(2);
  REQUIRE(rig.shadow->report_int("x", 1).ok());
  rig.answer_update(3);
  REQUIRE(rig.shadow->flush().ok());
  REQUIRE(rig.store.corrupt("shadow", 60, 0x5A));
  rig.boot();
  CHECK(rig.count(shadow::ShadowEventType::kReplicaDiscarded) == 1);
  CHECK(rig.shadow->reported() == "{}");
  CHECK(rig.shadow->version() == -1);
  rig.answer_get(R"({"led":false})", R"({"x":1})", 5);
  CHECK(rig.calls.size() == 1);
}

TEST_CASE("shadow: a failing store is retried and reported") {
  Rig rig;
  rig.settings.persist_interval = milliseconds(1000);
  rig.synced(2);
  rig.run(seconds(2));
  const auto puts = rig.store.put_count();
  rig.store.fail_next(testing::MemoryKvStore::Op::kPut, Status(StatusCode::kResourceExhausted, Origin::kStore, 28));
  REQUIRE(rig.shadow->report_int("x", 1).ok());
  rig.run(milliseconds(1500));
  CHECK(rig.count(shadow::ShadowEventType::kStoreFailed) == 1);
  rig.run(seconds(2));
  CHECK(rig.store.put_count() == puts + 1);
  // Many reports within one interval cost one write.
  for (int i = 0; i < 100; ++i) REQUIRE(rig.shadow->report_int("x", i).ok());
  rig.run(milliseconds(1100));
  CHECK(rig.store.put_count() <= puts + 3);
}

TEST_CASE("shadow: max_inflight 1 never has a get and an update outstanding together") {
  Rig rig;
  rig.settings.max_inflight = 1;
  rig.synced(2);
  REQUIRE(rig.shadow->report_int("x", 1).ok());
  REQUIRE(rig.sent("update").size() == 1);
  rig.shadow->resync();
  rig.run(milliseconds(100));
  CHECK(rig.sent("get").size() == 1);  // waits for the update's answer
  rig.answer_update(3);
  CHECK(rig.sent("get").size() == 2);
}

TEST_CASE("shadow: named shadows use their own topics and store key") {
  Rig rig;
  rig.settings.name = "Config_1";
  rig.boot();
  CHECK(rig.mqtt.subscriptions().count(kPrefix + "/name/Config_1/get/accepted") == 1);
  CHECK(rig.shadow->topics().prefix() == kPrefix + "/name/Config_1");
  REQUIRE(rig.shadow->report_int("x", 1).ok());
  REQUIRE(rig.shadow->flush().ok());
  CHECK(rig.store.key_count() == 1);
  std::uint8_t buf[8];
  CHECK(rig.store.get("shadow", Span<std::uint8_t>(buf, sizeof buf)).status().code() == StatusCode::kNotFound);
}

TEST_CASE("shadow: deltas delivered in any order leave the newest value and never go back") {
  Rig rig;
  rig.synced(1);
  const int order[] = {4, 2, 9, 3, 7, 8, 5, 6, 10, 1};
  for (int v : order) rig.delta("{\"led\":" + std::to_string(v * 100) + "}", v + 1);
  std::int64_t last = 0;
  for (const Decided& d : rig.calls) {
    CHECK(d.version > last);
    last = d.version;
  }
  CHECK(rig.calls.back().value == "1000");
  CHECK(field_text(std::string(rig.shadow->reported()), "led") == "1000");
  CHECK(field_text(std::string(rig.shadow->desired()), "led") == "1000");
}

TEST_CASE("shadow: the neutral profile uses state/<thing> topics") {
  Rig rig;
  rig.config.profile = TopicProfile::kNeutral;
  rig.boot();
  CHECK(rig.shadow->topics().prefix() == "state/device-1");
  CHECK(rig.mqtt.subscriptions().count("state/device-1/update/delta") == 1);
  bool sent_get = false;
  for (const auto& m : rig.mqtt.published()) sent_get = sent_get || m.topic == "state/device-1/get";
  CHECK(sent_get);
}

TEST_CASE("shadow: a request the broker refuses is retried later, not waited for") {
  Rig rig;
  rig.synced(2);
  rig.mqtt.set_auto_ack(false);
  REQUIRE(rig.shadow->report_int("x", 1).ok());
  REQUIRE(rig.sent("update").size() == 1);
  REQUIRE(rig.mqtt.ack(rig.sent("update").back().token, Status(StatusCode::kPermissionDenied, Origin::kMqtt, 0x87)));
  rig.run(milliseconds(100));
  CHECK(rig.shadow->unsent() == "{\"x\":1}");
  CHECK(rig.shadow->stats().timeouts == 0);
  CHECK(rig.agent->stats().publish_failures == 1);
  // Refused as not authorized: the long backoff (at least half of a minute), then sent again.
  rig.run(seconds(20));
  CHECK(rig.sent("update").size() == 1);
  rig.mqtt.set_auto_ack(true);
  for (int i = 0; i < 60 && rig.sent("update").size() < 2; ++i) rig.run(seconds(1));
  REQUIRE(rig.sent("update").size() == 2);
  rig.answer_update(3);
  CHECK(rig.shadow->unsent() == "{}");
}
