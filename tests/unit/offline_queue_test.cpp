// Copyright 2026 The Tether Authors. SPDX-License-Identifier: Apache-2.0
// OfflineQueue over the fakes: delivery, bounds and policies, ids. Recovery after crashes and
// power cuts is in offline_recovery_test.cpp and the power-loss suite.
#include <catch2/catch.hpp>

#include <string>
#include <vector>

#include "test_support.hpp"
#include "tether/agent.hpp"
#include "tether/offline/offline_queue.hpp"
#include "tether/offline/ram_log_store.hpp"
#include "tether/port/testing/capturing_log_sink.hpp"
#include "tether/port/testing/fake_mqtt_client.hpp"
#include "tether/port/testing/simulated_clock.hpp"

using namespace tether;
using std::chrono::milliseconds;
using std::chrono::seconds;

namespace {

AgentConfig make_config(MqttVersion version = MqttVersion::k5) {
  AgentConfig config;
  REQUIRE(config.thing_name.assign("device-1").ok());
  config.mqtt.version = version;
  config.reconnect.initial = milliseconds(1000);
  config.reconnect.max = milliseconds(1000);
  return config;
}

std::string message_id(const testing::FakeMessage& m) {
  for (const auto& [k, v] : m.user_properties) {
    if (k == kMessageIdProperty) return v;
  }
  return "";
}

// An agent over the fakes with a queue and RAM-backed streams.
struct Rig {
  testing::SimulatedClock clock;
  testing::FakeMqttClient mqtt{&clock};
  testing::CapturingLogSink log;
  AgentConfig config;
  Agent agent;
  QueueSettings qsettings;
  OfflineQueue queue;
  std::vector<std::vector<std::uint8_t>> buffers;
  std::vector<std::unique_ptr<offline::RamLogStore>> stores;
  std::vector<DropEvent> drops;

  explicit Rig(QueueSettings qs = QueueSettings{}, MqttVersion version = MqttVersion::k5)
      : config(make_config(version)),
        agent(mqtt, clock, config, &log, 7),
        qsettings(with_boot(qs)),
        queue(agent, qsettings) {
    clock.set_wall_time_ms(1795000000000);
    queue.set_drop_handler([this](const DropEvent& e) { drops.push_back(e); });
  }
  static QueueSettings with_boot(QueueSettings qs) {
    qs.boot_id = 0xB007;
    return qs;
  }
  StreamId add(StreamSettings settings, std::size_t bytes = 8 * 1024, std::size_t segments = 8) {
    buffers.emplace_back(bytes);
    stores.push_back(std::make_unique<offline::RamLogStore>(
        Span<std::uint8_t>(buffers.back().data(), buffers.back().size()), segments));
    Result<StreamId> id = queue.add_stream(settings, *stores.back());
    REQUIRE(id.ok());
    return *id;
  }
  void connect() {
    REQUIRE(agent.start().ok());
    run_for(milliseconds(10));
    REQUIRE(agent.connected());
  }
  void run_for(milliseconds duration, milliseconds step = milliseconds(10)) {
    const milliseconds end = clock.now() + duration;
    while (clock.now() < end) {
      const milliseconds left = end - clock.now();
      agent.run_once(left < step ? left : step).ignore();
    }
  }
  Result<std::uint64_t> send(StreamId stream, int i, std::string_view topic = "dt/device-1/t") {
    const std::string payload = "{\"i\":" + std::to_string(i) + "}";
    return queue.publish(stream, topic, as_bytes(payload));
  }
  std::vector<int> published_indices() const {
    std::vector<int> out;
    for (const testing::FakeMessage& m : mqtt.published()) {
      const std::size_t colon = m.payload.rfind(':');
      out.push_back(std::stoi(m.payload.substr(colon + 1)));
    }
    return out;
  }
};

std::vector<int> range(int from, int to) {
  std::vector<int> v;
  for (int i = from; i < to; ++i) v.push_back(i);
  return v;
}

}  // namespace

TEST_CASE("records published while connected are delivered in order and leave the queue on PUBACK") {
  Rig rig;
  const StreamId s = rig.add(StreamSettings{});
  rig.connect();
  for (int i = 0; i < 10; ++i) REQUIRE(rig.send(s, i).ok());
  rig.run_for(milliseconds(50));
  CHECK(rig.published_indices() == range(0, 10));
  CHECK(rig.queue.stats(s).delivered == 10);
  CHECK(rig.queue.stats(s).pending_records == 0);
  CHECK(rig.queue.drained());
}

TEST_CASE("records published offline are held and replayed in order after connect with stable ids") {
  Rig rig;
  const StreamId s = rig.add(StreamSettings{});
  for (int i = 0; i < 30; ++i) REQUIRE(rig.send(s, i).ok());
  CHECK(rig.queue.stats(s).pending_records == 30);
  CHECK(rig.mqtt.published().empty());
  rig.connect();
  rig.run_for(milliseconds(100));
  CHECK(rig.published_indices() == range(0, 30));
  CHECK(message_id(rig.mqtt.published()[0]) == "0000b007-telemetry-1");
  CHECK(message_id(rig.mqtt.published()[29]) == "0000b007-telemetry-30");
  CHECK(rig.queue.drained());
}

TEST_CASE("replay keeps at most max_inflight publishes outstanding") {
  QueueSettings qs;
  qs.max_inflight = 5;
  Rig rig(qs);
  const StreamId s = rig.add(StreamSettings{});
  for (int i = 0; i < 20; ++i) REQUIRE(rig.send(s, i).ok());
  rig.mqtt.set_auto_ack(false);
  rig.connect();
  rig.run_for(milliseconds(20));
  CHECK(rig.mqtt.published().size() == 5);
  CHECK(rig.queue.inflight() == 5);
  // Acknowledge two: two more go out, never more than five outstanding.
  REQUIRE(rig.mqtt.ack(rig.mqtt.published()[0].token));
  REQUIRE(rig.mqtt.ack(rig.mqtt.published()[1].token));
  rig.run_for(milliseconds(20));
  CHECK(rig.mqtt.published().size() == 7);
  CHECK(rig.queue.inflight() == 5);
  CHECK(rig.queue.stats(s).delivered == 2);
}

TEST_CASE("records not acknowledged before a disconnect are sent again with the same ids") {
  Rig rig;
  const StreamId s = rig.add(StreamSettings{});
  rig.connect();
  rig.mqtt.set_auto_ack(false);
  for (int i = 0; i < 4; ++i) REQUIRE(rig.send(s, i).ok());
  rig.run_for(milliseconds(20));
  REQUIRE(rig.mqtt.published().size() == 4);
  REQUIRE(rig.mqtt.ack(rig.mqtt.published()[0].token));  // only the first is acknowledged
  rig.run_for(milliseconds(20));
  const std::string id1 = message_id(rig.mqtt.published()[1]);
  rig.mqtt.drop_connection(Status(StatusCode::kUnavailable, Origin::kSocket, 104));
  rig.mqtt.set_auto_ack(true);
  rig.mqtt.clear_published();
  rig.run_for(seconds(3));
  REQUIRE(rig.agent.connected());
  CHECK(rig.published_indices() == range(1, 4));
  CHECK(message_id(rig.mqtt.published()[0]) == id1);
  CHECK(rig.queue.stats(s).resent == 3);
  CHECK(rig.queue.stats(s).delivered == 4);
  CHECK(rig.queue.drained());
}

TEST_CASE("drop-oldest deletes the oldest segment when the store is full and counts every record") {
  Rig rig;
  StreamSettings st;
  st.overflow = OverflowPolicy::kDropOldest;
  const StreamId s = rig.add(st, 4 * 1024, 4);  // 4 segments of 1 KiB
  int accepted = 0;
  for (int i = 0; i < 200; ++i) {
    REQUIRE(rig.send(s, i).ok());
    ++accepted;
  }
  const StreamStats& stats = rig.queue.stats(s);
  CHECK(stats.dropped_overflow > 0);
  CHECK(stats.dropped_overflow + stats.pending_records == 200);
  REQUIRE(!rig.drops.empty());
  CHECK(rig.drops[0].reason == DropReason::kOverflow);
  // What is left is the newest records, in order.
  rig.connect();
  rig.run_for(milliseconds(200));
  const std::vector<int> got = rig.published_indices();
  REQUIRE(!got.empty());
  CHECK(got.back() == 199);
  CHECK(got == range(200 - static_cast<int>(got.size()), 200));
  CHECK(got.size() == 200 - stats.dropped_overflow);
}

TEST_CASE("reject refuses new records when full and keeps the old ones") {
  Rig rig;
  StreamSettings st;
  st.overflow = OverflowPolicy::kReject;
  st.max_records = 10;
  const StreamId s = rig.add(st);
  for (int i = 0; i < 10; ++i) REQUIRE(rig.send(s, i).ok());
  Result<std::uint64_t> r = rig.send(s, 10);
  CHECK(r.status().code() == StatusCode::kResourceExhausted);
  CHECK(r.status().detail() == 0);
  CHECK(rig.queue.stats(s).rejected == 1);
  CHECK(rig.queue.stats(s).pending_records == 10);
  rig.connect();
  rig.run_for(milliseconds(50));
  CHECK(rig.published_indices() == range(0, 10));
  // Delivered: room again.
  CHECK(rig.send(s, 11).ok());
}

TEST_CASE("drop-newest discards the incoming record, says so and counts it") {
  Rig rig;
  StreamSettings st;
  st.overflow = OverflowPolicy::kDropNewest;
  st.max_records = 3;
  const StreamId s = rig.add(st);
  for (int i = 0; i < 3; ++i) REQUIRE(rig.send(s, i).ok());
  Result<std::uint64_t> r = rig.send(s, 3);
  CHECK(r.status().code() == StatusCode::kResourceExhausted);
  CHECK(r.status().detail() == 1);
  CHECK(rig.queue.stats(s).dropped_overflow == 1);
  CHECK(rig.queue.stats(s).pending_records == 3);
  REQUIRE(rig.drops.size() == 1);
  CHECK(rig.drops[0].records == 1);
}

TEST_CASE("records older than the ttl are dropped, counted and never sent") {
  Rig rig;
  StreamSettings st;
  st.ttl = seconds(60);
  const StreamId s = rig.add(st);
  for (int i = 0; i < 5; ++i) REQUIRE(rig.send(s, i).ok());
  rig.clock.advance(seconds(61));
  for (int i = 5; i < 8; ++i) REQUIRE(rig.send(s, i).ok());
  rig.connect();
  rig.run_for(milliseconds(50));
  CHECK(rig.published_indices() == range(5, 8));
  CHECK(rig.queue.stats(s).dropped_expired == 5);
  CHECK(rig.queue.drained());
  // The broker is told when the survivors go stale.
  REQUIRE(rig.mqtt.published()[0].message_expiry_s);
  CHECK(*rig.mqtt.published()[0].message_expiry_s <= 60u);
}

TEST_CASE("under a shared byte budget the low-priority stream gives way to alarms") {
  QueueSettings qs;
  qs.max_total_bytes = 6 * 1024;
  Rig rig(qs);
  StreamSettings bulk;
  bulk.name = "bulk";
  bulk.priority = 0;
  StreamSettings alarms;
  alarms.name = "alarms";
  alarms.priority = 9;
  alarms.overflow = OverflowPolicy::kReject;
  const StreamId b = rig.add(bulk, 8 * 1024, 8);
  const StreamId a = rig.add(alarms, 8 * 1024, 8);
  for (int i = 0; i < 120; ++i) REQUIRE(rig.send(b, i).ok());
  for (int i = 0; i < 60; ++i) REQUIRE(rig.send(a, 1000 + i).ok());
  CHECK(rig.queue.stats(a).pending_records == 60);
  CHECK(rig.queue.stats(a).rejected == 0);
  CHECK(rig.queue.stats(b).dropped_pressure > 0);
  CHECK(rig.queue.stats(b).dropped_pressure + rig.queue.stats(b).pending_records +
            rig.queue.stats(b).dropped_overflow == 120);
  // Alarms go first when the connection comes back.
  rig.connect();
  rig.run_for(milliseconds(200));
  const std::vector<int> got = rig.published_indices();
  REQUIRE(got.size() >= 60);
  CHECK(std::vector<int>(got.begin(), got.begin() + 60) == range(1000, 1060));
}

TEST_CASE("MQTT 3.1.1 carries the message id as the first member of the JSON object") {
  Rig rig(QueueSettings{}, MqttVersion::k3_1_1);
  const StreamId s = rig.add(StreamSettings{});
  REQUIRE(rig.queue.publish(s, "dt/device-1/t", as_bytes("{\"v\":1}")).ok());
  REQUIRE(rig.queue.publish(s, "dt/device-1/t", as_bytes(" { } ")).ok());
  Result<std::uint64_t> refused = rig.queue.publish(s, "dt/device-1/t", as_bytes("[1,2]"));
  CHECK(refused.status().code() == StatusCode::kInvalidArgument);
  CHECK(rig.log.count(LogLevel::kWarn, "JSON object") == 1);
  rig.connect();
  rig.run_for(milliseconds(50));
  REQUIRE(rig.mqtt.published().size() == 2);
  CHECK(rig.mqtt.published()[0].payload == "{\"tether_msg_id\":\"0000b007-telemetry-1\",\"v\":1}");
  CHECK(rig.mqtt.published()[1].payload == "{\"tether_msg_id\":\"0000b007-telemetry-2\"} ");
  CHECK(rig.mqtt.published()[0].user_properties.empty());
}

TEST_CASE("a publish the broker refuses for good is dropped as refused and the rest continue") {
  Rig rig;
  const StreamId s = rig.add(StreamSettings{});
  rig.connect();
  rig.mqtt.set_auto_ack(false);
  for (int i = 0; i < 3; ++i) REQUIRE(rig.send(s, i).ok());
  rig.run_for(milliseconds(20));
  REQUIRE(rig.mqtt.published().size() == 3);
  REQUIRE(rig.mqtt.ack(rig.mqtt.published()[0].token, Status(StatusCode::kPermissionDenied, Origin::kMqtt, 0x87)));
  REQUIRE(rig.mqtt.ack(rig.mqtt.published()[1].token));
  REQUIRE(rig.mqtt.ack(rig.mqtt.published()[2].token));
  rig.run_for(milliseconds(20));
  CHECK(rig.queue.stats(s).dropped_refused == 1);
  CHECK(rig.queue.stats(s).delivered == 2);
  CHECK(rig.queue.drained());
  CHECK(rig.mqtt.published().size() == 3);
}

TEST_CASE("a transient PUBACK failure sends the stream again from the acknowledged position") {
  Rig rig;
  const StreamId s = rig.add(StreamSettings{});
  rig.connect();
  rig.mqtt.set_auto_ack(false);
  for (int i = 0; i < 3; ++i) REQUIRE(rig.send(s, i).ok());
  rig.run_for(milliseconds(20));
  REQUIRE(rig.mqtt.ack(rig.mqtt.published()[0].token));
  REQUIRE(rig.mqtt.ack(rig.mqtt.published()[1].token, Status(StatusCode::kResourceExhausted, Origin::kMqtt, 0x97)));
  rig.run_for(milliseconds(20));
  rig.mqtt.set_auto_ack(true);
  for (std::size_t i = 2; i < rig.mqtt.published().size(); ++i) rig.mqtt.ack(rig.mqtt.published()[i].token);
  rig.run_for(milliseconds(50));
  const std::vector<int> got = rig.published_indices();
  // 0, 1, 2 first; then 1 and 2 again (2's first copy was voided with the rewind).
  REQUIRE(got.size() >= 5);
  CHECK(std::vector<int>(got.begin(), got.begin() + 3) == range(0, 3));
  CHECK(std::vector<int>(got.end() - 2, got.end()) == range(1, 3));
  CHECK(rig.queue.drained());
}

TEST_CASE("batch durability syncs every batch_records records or after batch_interval") {
  Rig rig;
  StreamSettings st;
  st.durability = Durability::kBatch;
  st.batch_records = 4;
  st.batch_interval = milliseconds(100);
  const StreamId s = rig.add(st);
  REQUIRE(rig.agent.start().ok());
  for (int i = 0; i < 8; ++i) REQUIRE(rig.send(s, i).ok());
  CHECK(rig.queue.stats(s).syncs == 2);
  REQUIRE(rig.send(s, 8).ok());
  CHECK(rig.queue.stats(s).syncs == 2);
  rig.run_for(milliseconds(150));
  CHECK(rig.queue.stats(s).syncs >= 3);
}

TEST_CASE("always durability syncs before publish returns and memory durability never syncs") {
  Rig rig;
  StreamSettings always;
  always.name = "always";
  always.durability = Durability::kAlways;
  StreamSettings memory;
  memory.name = "memory";
  memory.durability = Durability::kMemory;
  const StreamId a = rig.add(always);
  const StreamId m = rig.add(memory);
  for (int i = 0; i < 3; ++i) {
    REQUIRE(rig.send(a, i).ok());
    REQUIRE(rig.send(m, i).ok());
  }
  CHECK(rig.queue.stats(a).syncs == 3);
  CHECK(rig.queue.stats(m).syncs == 0);
}

TEST_CASE("add_stream refuses bad names, duplicates and stores this build cannot track") {
  Rig rig;
  StreamSettings bad;
  bad.name = "has space";
  std::vector<std::uint8_t> buf(8 * 1024);
  offline::RamLogStore store(Span<std::uint8_t>(buf.data(), buf.size()), 4);
  CHECK(rig.queue.add_stream(bad, store).status().code() == StatusCode::kInvalidArgument);
  rig.add(StreamSettings{});
  std::vector<std::uint8_t> buf2(8 * 1024);
  offline::RamLogStore store2(Span<std::uint8_t>(buf2.data(), buf2.size()), 4);
  CHECK(rig.queue.add_stream(StreamSettings{}, store2).status().code() == StatusCode::kInvalidArgument);
  std::vector<std::uint8_t> buf3((kMaxQueueSegments + 1) * 128);
  offline::RamLogStore store3(Span<std::uint8_t>(buf3.data(), buf3.size()), kMaxQueueSegments + 1);
  StreamSettings many;
  many.name = "many";
  CHECK(rig.queue.add_stream(many, store3).status().code() == StatusCode::kInvalidArgument);
  CHECK(rig.queue.stream_count() == 1);
}

TEST_CASE("a message larger than a segment is refused with kOutOfRange naming the queue") {
  Rig rig;
  const StreamId s = rig.add(StreamSettings{}, 2 * 1024, 4);  // 512-byte segments
  std::string big(600, 'x');
  Result<std::uint64_t> r = rig.queue.publish(s, "dt/device-1/t", as_bytes(big));
  CHECK(r.status().code() == StatusCode::kOutOfRange);
  CHECK(r.status().origin() == Origin::kQueue);
  CHECK(rig.queue.stats(s).pending_records == 0);
}

TEST_CASE("a topic not valid for the profile is refused at publish, not at delivery") {
  Rig rig;
  const StreamId s = rig.add(StreamSettings{});
  CHECK(rig.queue.publish(s, "dt/+/t", as_bytes("{}")).status().code() == StatusCode::kInvalidArgument);
  CHECK(rig.queue.stats(s).pending_records == 0);
}

TEST_CASE("acknowledged segments are deleted so a long stream fits a small store") {
  Rig rig;
  const StreamId s = rig.add(StreamSettings{}, 4 * 1024, 4);
  rig.connect();
  for (int i = 0; i < 2000; ++i) {
    REQUIRE(rig.send(s, i).ok());
    if (i % 10 == 0) rig.run_for(milliseconds(10));
  }
  rig.run_for(milliseconds(50));
  CHECK(rig.queue.stats(s).delivered == 2000);
  CHECK(rig.queue.stats(s).dropped_overflow == 0);
  CHECK(rig.queue.stats(s).segments <= 4);
  CHECK(rig.published_indices() == range(0, 2000));
}

TEST_CASE("bundling packs consecutive records into one JSON array with each record's id") {
  Rig rig;
  StreamSettings st;
  st.bundle_max_bytes = 200;
  const StreamId s = rig.add(st);
  for (int i = 0; i < 10; ++i) REQUIRE(rig.send(s, i).ok());
  REQUIRE(rig.queue.publish(s, "dt/device-1/other", as_bytes("{\"x\":1}")).ok());
  CHECK(rig.queue.publish(s, "dt/device-1/t", as_bytes("17")).status().code() == StatusCode::kInvalidArgument);
  rig.connect();
  rig.run_for(milliseconds(50));
  const auto& sent = rig.mqtt.published();
  REQUIRE(sent.size() >= 2);
  CHECK(sent[0].payload.rfind("[{\"tether_msg_id\":\"0000b007-telemetry-1\",\"i\":0},"
                              "{\"tether_msg_id\":\"0000b007-telemetry-2\",\"i\":1},",
                              0) == 0);
  std::size_t records = 0;
  for (const testing::FakeMessage& m : sent) {
    CHECK(m.payload.size() <= 200);
    if (m.topic == "dt/device-1/t") {
      CHECK(m.payload.front() == '[');
      CHECK(m.payload.back() == ']');
      for (std::size_t at = m.payload.find("tether_msg_id"); at != std::string::npos;
           at = m.payload.find("tether_msg_id", at + 1)) {
        ++records;
      }
    }
  }
  CHECK(records == 10);
  // A different topic is not bundled with the others; a lone record goes unwrapped.
  CHECK(sent.back().topic == "dt/device-1/other");
  CHECK(sent.back().payload == "{\"x\":1}");
  CHECK(rig.queue.stats(s).delivered == 11);
  CHECK(rig.queue.stats(s).bundles == sent.size() - 1);
  CHECK(rig.queue.drained());
}
