// Copyright 2026 The Tether Authors. SPDX-License-Identifier: Apache-2.0
#include <catch2/catch.hpp>

#include <map>
#include <set>
#include <string>
#include <vector>

#include "test_support.hpp"
#include "tether/agent.hpp"
#include "tether/port/testing/capturing_log_sink.hpp"
#include "tether/port/testing/fake_mqtt_client.hpp"
#include "tether/port/testing/simulated_clock.hpp"

using namespace tether;
using std::chrono::milliseconds;
using std::chrono::seconds;

namespace {

AgentConfig make_config() {
  AgentConfig config;
  REQUIRE(config.thing_name.assign("device-1").ok());
  config.reconnect.initial = milliseconds(1000);
  config.reconnect.max = milliseconds(60000);
  config.reconnect.fatal_initial = milliseconds(300000);
  config.reconnect.fatal_max = milliseconds(3600000);
  return config;
}

// One agent over the fakes, with every event recorded.
struct Rig {
  testing::SimulatedClock clock;
  testing::FakeMqttClient mqtt{&clock};
  testing::CapturingLogSink log;
  AgentConfig config = make_config();
  Agent agent{mqtt, clock, config, &log, 1234};
  std::vector<AgentEvent> events;

  Rig() {
    agent.set_event_handler([this](const AgentEvent& e) {
      AgentEvent copy = e;
      copy.topic = {};
      events.push_back(copy);
    });
  }
  // Runs the loop for `duration` of simulated time in steps of at most `step`.
  void run_for(milliseconds duration, milliseconds step = milliseconds(100)) {
    const milliseconds end = clock.now() + duration;
    while (clock.now() < end) {
      const milliseconds left = end - clock.now();
      const milliseconds wait = left < step ? left : step;
      // A stopped agent returns at once without polling: let time pass for it.
      if (agent.run_once(wait).code() == StatusCode::kCancelled) clock.advance(wait);
    }
  }
  std::size_t count(AgentEventType type) const {
    std::size_t n = 0;
    for (const AgentEvent& e : events) n += e.type == type ? 1 : 0;
    return n;
  }
};

}  // namespace

TEST_CASE("run_once before start is refused") {
  Rig rig;
  CHECK(rig.agent.run_once(milliseconds(10)).code() == StatusCode::kFailedPrecondition);
  CHECK(rig.mqtt.connect_calls().empty());
}

TEST_CASE("start refuses an invalid thing name with a log line naming it") {
  Rig rig;
  REQUIRE(rig.config.thing_name.assign("bad/name").ok());
  Status s = rig.agent.start();
  CHECK(s.code() == StatusCode::kInvalidArgument);
  CHECK(s.origin() == Origin::kTopic);
  CHECK(rig.log.count(LogLevel::kError, "bad/name") == 1);
  CHECK(rig.mqtt.connect_calls().empty());
}

TEST_CASE("start connects with the configured session options and the thing name as default client id") {
  Rig rig;
  rig.config.mqtt.keep_alive_s = 45;
  rig.config.mqtt.version = MqttVersion::k3_1_1;
  REQUIRE(rig.agent.start().ok());
  CHECK(rig.agent.start().code() == StatusCode::kFailedPrecondition);
  REQUIRE(rig.agent.run_once(milliseconds(0)).ok());
  CHECK(rig.agent.state() == AgentState::kConnected);
  REQUIRE(rig.mqtt.connect_calls().size() == 1);
  CHECK(rig.mqtt.connect_client_ids()[0] == "device-1");
  CHECK(rig.mqtt.connect_calls()[0].keep_alive_s == 45);
  CHECK(rig.mqtt.connect_calls()[0].version == MqttVersion::k3_1_1);
  CHECK(rig.count(AgentEventType::kConnected) == 1);
}

TEST_CASE("subscriptions are restored after every reconnect and messages reach their handler") {
  Rig rig;
  std::vector<std::string> received;
  REQUIRE(rig.agent.subscribe("things/device-1/cmd/#", Qos::k1, [&](const InboundMessage& m) {
    received.emplace_back(as_text(m.payload));
  }).ok());
  REQUIRE(rig.agent.start().ok());
  rig.run_for(milliseconds(200));
  REQUIRE(rig.agent.connected());
  CHECK(rig.mqtt.subscriptions().count("things/device-1/cmd/#") == 1);

  rig.mqtt.drop_connection(Status(StatusCode::kUnavailable, Origin::kSocket, 104));
  rig.run_for(seconds(5));
  REQUIRE(rig.agent.connected());
  CHECK(rig.mqtt.connect_calls().size() == 2);
  CHECK(rig.mqtt.subscribe_calls() == std::vector<std::string>{"things/device-1/cmd/#", "things/device-1/cmd/#"});
  CHECK(rig.mqtt.subscriptions().count("things/device-1/cmd/#") == 1);
  CHECK(rig.count(AgentEventType::kDisconnected) == 1);

  rig.mqtt.inject_message("things/device-1/cmd/reboot", "now");
  rig.mqtt.inject_message("things/device-1/other", "ignored");
  rig.run_for(milliseconds(100));
  CHECK(received == std::vector<std::string>{"now"});
  CHECK(rig.agent.stats().messages_received == 2);
  CHECK(rig.agent.stats().messages_unhandled == 1);
}

TEST_CASE("an unreachable broker is retried with growing jittered delays, not in a busy loop") {
  Rig rig;
  for (int i = 0; i < 100; ++i) rig.mqtt.script_connect(Status(StatusCode::kUnavailable, Origin::kSocket, 111));
  REQUIRE(rig.agent.start().ok());
  rig.run_for(seconds(120), seconds(1));
  const auto attempts = rig.mqtt.connect_calls().size();
  // Ceilings 1,2,4,8,16,32,60,60 s: expected ~9 attempts in two minutes; a busy loop would do
  // hundreds. A failed attempt is never followed by an immediate one every time.
  CHECK(attempts >= 3);
  CHECK(attempts <= 20);
  CHECK(rig.count(AgentEventType::kConnectFailed) == attempts);
  CHECK(rig.count(AgentEventType::kNeedsAttention) == 0);
  CHECK(rig.agent.state() == AgentState::kWaitingToReconnect);
  CHECK(rig.log.count(LogLevel::kWarn, "connect failed") == attempts);
}

TEST_CASE("a refused identity backs off for minutes and raises a needs-attention event") {
  Rig rig;
  for (int i = 0; i < 10; ++i) rig.mqtt.script_connect(Status(StatusCode::kUnauthenticated, Origin::kTls));
  REQUIRE(rig.agent.start().ok());
  rig.run_for(milliseconds(100));
  REQUIRE(rig.count(AgentEventType::kNeedsAttention) == 1);
  const AgentEvent& attention = rig.events.back();
  CHECK(attention.reason.code() == StatusCode::kUnauthenticated);
  CHECK(attention.retry_in >= milliseconds(150000));
  CHECK(rig.agent.reconnect_in() >= milliseconds(149000));
  CHECK(rig.log.count(LogLevel::kError, "identity was refused") == 1);

  rig.run_for(seconds(140), seconds(1));
  CHECK(rig.mqtt.connect_calls().size() == 1);  // nothing within the first 150 s
  rig.run_for(seconds(600), seconds(5));
  CHECK(rig.mqtt.connect_calls().size() <= 4);
}

TEST_CASE("a broker refusing authorization at CONNACK is a needs-attention failure") {
  Rig rig;
  rig.mqtt.script_connect(Status(StatusCode::kUnauthenticated, Origin::kMqtt, 0x87));
  REQUIRE(rig.agent.start().ok());
  rig.run_for(milliseconds(100));
  CHECK(rig.count(AgentEventType::kNeedsAttention) == 1);
  CHECK(rig.log.contains("not authorized"));
}

TEST_CASE("being kicked off by another client with our id backs off long and says why") {
  Rig rig;
  REQUIRE(rig.agent.start().ok());
  rig.run_for(milliseconds(100));
  REQUIRE(rig.agent.connected());
  rig.mqtt.drop_connection(Status(StatusCode::kAborted, Origin::kMqtt, 0x8E));
  rig.run_for(milliseconds(100));
  CHECK(rig.count(AgentEventType::kDisconnected) == 1);
  REQUIRE(rig.count(AgentEventType::kNeedsAttention) == 1);
  CHECK(rig.agent.reconnect_in() >= milliseconds(140000));
  CHECK(rig.log.contains("another client connected with this client id"));
}

TEST_CASE("a connection that keeps dropping right after connect escalates to the long backoff") {
  Rig rig;
  REQUIRE(rig.agent.start().ok());
  for (int i = 0; i < 3; ++i) {
    // Wait until connected, then drop at once (MQTT 3.1.1 brokers just close on a duplicate id).
    for (int k = 0; k < 1000 && !rig.agent.connected(); ++k) rig.agent.run_once(milliseconds(100)).ignore();
    REQUIRE(rig.agent.connected());
    rig.mqtt.drop_connection(Status(StatusCode::kUnavailable, Origin::kSocket, 104));
    rig.agent.run_once(milliseconds(0)).ignore();
  }
  CHECK(rig.count(AgentEventType::kNeedsAttention) == 1);
  CHECK(rig.agent.reconnect_in() >= milliseconds(140000));
  CHECK(rig.log.contains("keeps dropping"));
}

TEST_CASE("a long-lived connection that drops reconnects quickly again") {
  Rig rig;
  REQUIRE(rig.agent.start().ok());
  for (int i = 0; i < 5; ++i) {
    for (int k = 0; k < 1000 && !rig.agent.connected(); ++k) rig.agent.run_once(milliseconds(100)).ignore();
    REQUIRE(rig.agent.connected());
    rig.run_for(seconds(60), seconds(1));  // stable for longer than kStableConnection
    rig.mqtt.drop_connection(Status(StatusCode::kUnavailable, Origin::kSocket, 104));
    rig.agent.run_once(milliseconds(0)).ignore();
    CHECK(rig.agent.reconnect_in() <= milliseconds(1000));
  }
  CHECK(rig.count(AgentEventType::kNeedsAttention) == 0);
}

TEST_CASE("a connect attempt that never answers is abandoned by the watchdog and retried") {
  Rig rig;
  rig.config.mqtt.connect_timeout = milliseconds(2000);
  rig.mqtt.hang_next_connect();
  REQUIRE(rig.agent.start().ok());
  rig.run_for(seconds(6), milliseconds(500));
  CHECK(rig.agent.state() == AgentState::kConnecting);
  rig.run_for(seconds(3), milliseconds(500));
  CHECK(rig.mqtt.disconnect_calls() == 1);
  CHECK(rig.log.contains("gave no answer"));
  // The abandoned attempt's late answer (the fake reports one) is not a second failure.
  CHECK(rig.agent.stats().connect_failures == 1);
  CHECK(rig.count(AgentEventType::kConnectFailed) == 1);
  for (const AgentEvent& e : rig.events) {
    if (e.type == AgentEventType::kConnectFailed) CHECK(e.reason.code() == StatusCode::kDeadlineExceeded);
  }
  rig.run_for(seconds(5), milliseconds(500));
  CHECK(rig.agent.connected());
  CHECK(rig.mqtt.connect_calls().size() == 2);
}

TEST_CASE("publish checks the topic and refuses while offline") {
  Rig rig;
  CHECK(rig.agent.publish("dt/device-1/temp", as_bytes("1")).status().code() == StatusCode::kUnavailable);
  Result<PacketToken> bad = rig.agent.publish("dt/+/temp", as_bytes("1"));
  CHECK(bad.status().code() == StatusCode::kInvalidArgument);
  CHECK(bad.status().origin() == Origin::kTopic);
  REQUIRE(rig.agent.start().ok());
  rig.run_for(milliseconds(100));
  UserProperty props[] = {{"msg-id", "42"}};
  PublishProperties properties;
  properties.content_type = "application/json";
  properties.user_properties = Span<const UserProperty>(props, 1);
  Result<PacketToken> token = rig.agent.publish("dt/device-1/temp", as_bytes("{\"t\":21}"), Qos::k1, properties);
  REQUIRE(token.ok());
  REQUIRE(rig.mqtt.published().size() == 1);
  const auto& sent = rig.mqtt.published()[0];
  CHECK(sent.topic == "dt/device-1/temp");
  CHECK(sent.payload == "{\"t\":21}");
  CHECK(sent.content_type == "application/json");
  REQUIRE(sent.user_properties.size() == 1);
  CHECK(sent.user_properties[0].second == "42");
}

TEST_CASE("publish completions reach the application and refusals raise an event") {
  Rig rig;
  std::vector<std::pair<PacketToken, Status>> completions;
  rig.agent.set_publish_complete_handler([&](PacketToken t, Status s) { completions.emplace_back(t, s); });
  rig.mqtt.set_auto_ack(false);
  REQUIRE(rig.agent.start().ok());
  rig.run_for(milliseconds(100));
  Result<PacketToken> a = rig.agent.publish("dt/device-1/a", as_bytes("1"));
  Result<PacketToken> b = rig.agent.publish("dt/device-1/b", as_bytes("2"));
  REQUIRE(a.ok());
  REQUIRE(b.ok());
  REQUIRE(rig.mqtt.ack(*a));
  REQUIRE(rig.mqtt.ack(*b, Status(StatusCode::kPermissionDenied, Origin::kMqtt, 0x87)));
  rig.run_for(milliseconds(100));
  REQUIRE(completions.size() == 2);
  CHECK(completions[0].first == *a);
  CHECK(completions[0].second.ok());
  CHECK(completions[1].second.code() == StatusCode::kPermissionDenied);
  CHECK(rig.count(AgentEventType::kPublishFailed) == 1);
  CHECK(rig.agent.stats().publish_failures == 1);
}

TEST_CASE("a refused subscription raises an event and is logged as an error") {
  Rig rig;
  rig.mqtt.refuse_subscription("things/device-2/#", Status(StatusCode::kPermissionDenied, Origin::kMqtt, 0x87));
  REQUIRE(rig.agent.subscribe("things/device-2/#", Qos::k1, [](const InboundMessage&) {}).ok());
  REQUIRE(rig.agent.start().ok());
  rig.run_for(milliseconds(300));
  CHECK(rig.count(AgentEventType::kSubscribeFailed) == 1);
  CHECK(rig.log.count(LogLevel::kError, "things/device-2/#") == 1);
  CHECK(rig.agent.stats().subscribe_failures == 1);
}

TEST_CASE("subscribe validates filters, refuses duplicates and respects the capacity") {
  Rig rig;
  auto noop = [](const InboundMessage&) {};
  CHECK(rig.agent.subscribe("a/#/b", Qos::k1, noop).code() == StatusCode::kInvalidArgument);
  CHECK(rig.agent.subscribe("a/b", Qos::k1, MessageHandler()).code() == StatusCode::kInvalidArgument);
  REQUIRE(rig.agent.subscribe("a/b", Qos::k1, noop).ok());
  CHECK(rig.agent.subscribe("a/b", Qos::k0, noop).code() == StatusCode::kAlreadyExists);
  for (std::size_t i = 1; i < kMaxSubscriptions; ++i) {
    REQUIRE(rig.agent.subscribe("f/" + std::to_string(i), Qos::k1, noop).ok());
  }
  CHECK(rig.agent.subscribe("one/more", Qos::k1, noop).code() == StatusCode::kResourceExhausted);
  CHECK(rig.agent.unsubscribe("a/b").ok());
  CHECK(rig.agent.unsubscribe("a/b").code() == StatusCode::kNotFound);
  CHECK(rig.agent.subscribe("one/more", Qos::k1, noop).ok());
}

TEST_CASE("subscription filters share one pool: long filters fill it, and after an unsubscribe in the middle the others still match and are restored exactly") {
  Rig rig;
  // 200-byte filters, each a different topic name: "p/<i>/xxx...".
  auto long_filter = [](std::size_t i) {
    std::string f = "p/" + std::to_string(i) + "/";
    f.append(200 - f.size(), 'x');
    return f;
  };
  std::map<std::string, int> hits;
  auto count_hits = [&hits](const InboundMessage& m) { ++hits[std::string(m.topic)]; };
  const std::size_t fit = kSubscriptionFilterBytes / 201;  // each filter takes its bytes and a NUL
  REQUIRE(fit < kMaxSubscriptions);                        // the pool, not the slots, is the limit here
  std::size_t added = 0;
  tether::Status refused;
  for (std::size_t i = 0; i < kMaxSubscriptions; ++i) {
    refused = rig.agent.subscribe(long_filter(i), Qos::k1, count_hits);
    if (!refused.ok()) break;
    ++added;
  }
  CHECK(added == fit);
  CHECK(refused.code() == StatusCode::kResourceExhausted);
  CHECK(refused.detail() == kSubscriptionFilterBytes);
  CHECK(rig.log.count(LogLevel::kWarn, "TETHER_SUBSCRIPTION_FILTER_BYTES") == 1);

  // Freeing one in the middle makes room for exactly one more; the later filters moved down.
  REQUIRE(rig.agent.unsubscribe(long_filter(1)).ok());
  REQUIRE(rig.agent.subscribe(long_filter(fit), Qos::k1, count_hits).ok());
  CHECK(rig.agent.subscribe(long_filter(fit + 1), Qos::k1, count_hits).code() == StatusCode::kResourceExhausted);

  REQUIRE(rig.agent.start().ok());
  rig.run_for(milliseconds(100));
  std::set<std::string> expected;
  for (std::size_t i = 0; i <= fit; ++i) {
    if (i != 1) expected.insert(long_filter(i));
  }
  std::set<std::string> sent;
  for (const auto& [filter, qos] : rig.mqtt.subscriptions()) sent.insert(filter);
  CHECK(sent == expected);
  for (const std::string& topic : expected) rig.mqtt.inject_message(topic, "x");
  rig.mqtt.inject_message(long_filter(1), "x");  // unsubscribed: nobody gets it
  rig.run_for(milliseconds(100));
  CHECK(hits.size() == expected.size());
  for (const std::string& topic : expected) CHECK(hits[topic] == 1);
  CHECK(hits.count(long_filter(1)) == 0);
}

TEST_CASE("unsubscribe while connected sends UNSUBSCRIBE and the filter is not restored later") {
  Rig rig;
  REQUIRE(rig.agent.subscribe("a/b", Qos::k1, [](const InboundMessage&) {}).ok());
  REQUIRE(rig.agent.start().ok());
  rig.run_for(milliseconds(100));
  CHECK(rig.mqtt.subscriptions().count("a/b") == 1);
  REQUIRE(rig.agent.unsubscribe("a/b").ok());
  CHECK(rig.mqtt.subscriptions().count("a/b") == 0);
  rig.mqtt.drop_connection(Status(StatusCode::kUnavailable, Origin::kSocket, 104));
  rig.run_for(seconds(3));
  REQUIRE(rig.agent.connected());
  CHECK(rig.mqtt.subscribe_calls().size() == 1);
}

TEST_CASE("a repeating timer fires once per period in simulated time and can cancel itself") {
  Rig rig;
  int ticks = 0;
  TimerId id = 0;
  Result<TimerId> timer = rig.agent.start_timer(seconds(10), [&] {
    if (++ticks == 3) rig.agent.cancel_timer(id).ignore();
  });
  REQUIRE(timer.ok());
  id = *timer;
  REQUIRE(rig.agent.start().ok());
  rig.run_for(seconds(25), seconds(1));
  CHECK(ticks == 2);
  rig.run_for(seconds(60), seconds(1));
  CHECK(ticks == 3);
  CHECK(rig.agent.cancel_timer(id).code() == StatusCode::kNotFound);
}

TEST_CASE("run_once never waits past the next timer") {
  Rig rig;
  int ticks = 0;
  REQUIRE(rig.agent.start_timer(milliseconds(250), [&] { ++ticks; }, false).ok());
  REQUIRE(rig.agent.start().ok());
  rig.agent.run_once(milliseconds(0)).ignore();  // connect
  const milliseconds before = rig.clock.now();
  rig.agent.run_once(seconds(10)).ignore();      // the fake advances the clock by the wait it is given
  CHECK(rig.clock.now() - before == milliseconds(250));
  CHECK(ticks == 1);
}

TEST_CASE("a timer that fell far behind skips missed ticks instead of bursting") {
  Rig rig;
  int ticks = 0;
  REQUIRE(rig.agent.start_timer(seconds(1), [&] { ++ticks; }).ok());
  REQUIRE(rig.agent.start().ok());
  rig.agent.run_once(milliseconds(0)).ignore();
  rig.clock.advance(seconds(30));  // e.g. the device was suspended
  rig.agent.run_once(milliseconds(0)).ignore();
  CHECK(ticks == 1);
}

TEST_CASE("timer arguments and capacity are checked") {
  Rig rig;
  auto noop = [] {};
  CHECK(rig.agent.start_timer(milliseconds(0), noop).status().code() == StatusCode::kInvalidArgument);
  CHECK(rig.agent.start_timer(milliseconds(5), TimerHandler()).status().code() == StatusCode::kInvalidArgument);
  for (std::size_t i = 0; i < kMaxTimers; ++i) REQUIRE(rig.agent.start_timer(seconds(1), noop).ok());
  CHECK(rig.agent.start_timer(seconds(1), noop).status().code() == StatusCode::kResourceExhausted);
}

TEST_CASE("stop disconnects gracefully and the loop then reports cancelled") {
  Rig rig;
  int ticks = 0;
  REQUIRE(rig.agent.start_timer(milliseconds(100), [&] { ++ticks; }).ok());
  REQUIRE(rig.agent.start().ok());
  rig.run_for(milliseconds(150));
  REQUIRE(rig.agent.connected());
  const int before = ticks;
  REQUIRE(rig.agent.stop().ok());
  CHECK(rig.agent.state() == AgentState::kStopping);
  CHECK(rig.mqtt.disconnect_calls() == 1);
  CHECK(rig.agent.run_once(milliseconds(100)).code() == StatusCode::kCancelled);
  CHECK(rig.agent.state() == AgentState::kStopped);
  CHECK(rig.agent.run_once(milliseconds(100)).code() == StatusCode::kCancelled);
  CHECK(ticks == before);
  CHECK(rig.count(AgentEventType::kDisconnected) == 0);  // a requested stop is not a failure
}

TEST_CASE("stop while waiting to reconnect stops at once") {
  Rig rig;
  rig.mqtt.script_connect(Status(StatusCode::kUnavailable, Origin::kSocket, 111));
  REQUIRE(rig.agent.start().ok());
  rig.agent.run_once(milliseconds(0)).ignore();
  REQUIRE(rig.agent.state() == AgentState::kWaitingToReconnect);
  REQUIRE(rig.agent.stop().ok());
  CHECK(rig.agent.state() == AgentState::kStopped);
  rig.run_for(seconds(10));
  CHECK(rig.mqtt.connect_calls().size() == 1);
}

TEST_CASE("a connect call that cannot start counts as a failed attempt and is retried") {
  Rig rig;
  rig.mqtt.fail_next_connect_call(Status(StatusCode::kUnavailable, Origin::kPaho, 1));
  REQUIRE(rig.agent.start().ok());
  CHECK(rig.agent.state() == AgentState::kWaitingToReconnect);
  rig.run_for(seconds(3));
  CHECK(rig.agent.connected());
  CHECK(rig.agent.stats().connect_failures == 1);
}

TEST_CASE("a handler may unsubscribe itself while a message is dispatched") {
  Rig rig;
  int calls = 0;
  REQUIRE(rig.agent.subscribe("a/+", Qos::k1, [&](const InboundMessage&) {
    ++calls;
    rig.agent.unsubscribe("a/+").ignore();
  }).ok());
  REQUIRE(rig.agent.subscribe("a/b", Qos::k1, [&](const InboundMessage&) { ++calls; }).ok());
  REQUIRE(rig.agent.start().ok());
  rig.run_for(milliseconds(100));
  rig.mqtt.inject_message("a/b", "x");
  rig.mqtt.inject_message("a/b", "y");
  rig.run_for(milliseconds(100));
  CHECK(calls == 3);  // first message: both handlers; second: only the remaining one
}

TEST_CASE("an agent with the default capacities fits in 8 KiB of RAM") {
  // docs/memory.md budgets the agent's fixed tables; this keeps the budget honest.
  INFO("sizeof(Agent) = " << sizeof(Agent));
  CHECK(sizeof(Agent) <= 8192);
}

TEST_CASE("under MQTT 3.1.1 a publish with MQTT 5 properties is refused, not sent without them") {
  Rig rig;
  rig.config.mqtt.version = MqttVersion::k3_1_1;
  REQUIRE(rig.agent.start().ok());
  rig.run_for(milliseconds(100));
  PublishProperties properties;
  properties.content_type = "application/json";
  Result<PacketToken> token = rig.agent.publish("dt/device-1/t", as_bytes("{}"), Qos::k1, properties);
  CHECK(token.status().code() == StatusCode::kInvalidArgument);
  CHECK(rig.mqtt.published().empty());
  CHECK(rig.agent.publish("dt/device-1/t", as_bytes("{}")).ok());
  CHECK(rig.mqtt.published().size() == 1);
}
