// Copyright 2026 The Tether Authors. SPDX-License-Identifier: Apache-2.0
// OfflineQueue recovery over MemoryLogStore: restarts, torn tails, corrupted records, disk full,
// failing syncs. Every write point of a scenario is interrupted in tests/power_loss.
#include <catch2/catch.hpp>

#include <memory>
#include <string>
#include <vector>

#include "test_support.hpp"
#include "tether/agent.hpp"
#include "tether/offline/offline_queue.hpp"
#include "tether/port/testing/capturing_log_sink.hpp"
#include "tether/port/testing/fake_mqtt_client.hpp"
#include "tether/port/testing/memory_log_store.hpp"
#include "tether/port/testing/simulated_clock.hpp"

using namespace tether;
using std::chrono::milliseconds;
using testing::MemoryLogStore;

namespace {

// One process lifetime: agent + queue over a store that outlives it.
struct Process {
  testing::SimulatedClock clock;
  testing::FakeMqttClient mqtt{&clock};
  testing::CapturingLogSink log;
  AgentConfig config;
  std::unique_ptr<Agent> agent;
  std::unique_ptr<OfflineQueue> queue;
  StreamId stream = 0;
  Status add_status;

  Process(MemoryLogStore& store, StreamSettings settings, std::uint32_t boot_id) {
    REQUIRE(config.thing_name.assign("device-1").ok());
    config.reconnect.initial = milliseconds(1000);
    config.reconnect.max = milliseconds(1000);
    clock.set_wall_time_ms(1795000000000);
    agent = std::make_unique<Agent>(mqtt, clock, config, &log, 1);
    QueueSettings qs;
    qs.boot_id = boot_id;
    queue = std::make_unique<OfflineQueue>(*agent, qs);
    Result<StreamId> id = queue->add_stream(settings, store);
    add_status = id.status();
    if (id.ok()) stream = *id;
  }
  Result<std::uint64_t> send(int i) {
    const std::string payload = "{\"i\":" + std::to_string(i) + "}";
    return queue->publish(stream, "dt/device-1/t", as_bytes(payload));
  }
  void connect_and_drain() {
    REQUIRE(agent->start().ok());
    for (int k = 0; k < 200 && !queue->drained(); ++k) agent->run_once(milliseconds(10)).ignore();
  }
  std::vector<int> delivered() const {
    std::vector<int> out;
    for (const testing::FakeMessage& m : mqtt.published()) out.push_back(std::stoi(m.payload.substr(5)));
    return out;
  }
};

std::vector<int> range(int from, int to) {
  std::vector<int> v;
  for (int i = from; i < to; ++i) v.push_back(i);
  return v;
}

StreamSettings batch_settings() {
  StreamSettings s;
  s.durability = Durability::kBatch;
  s.batch_records = 4;
  return s;
}

}  // namespace

TEST_CASE("after a process crash every accepted record is recovered and delivered in order") {
  MemoryLogStore store(1024, 16);
  {
    Process p(store, batch_settings(), 1);
    REQUIRE(p.add_status.ok());
    for (int i = 0; i < 50; ++i) REQUIRE(p.send(i).ok());
  }
  store.crash_process();
  store.reboot();
  Process q(store, batch_settings(), 2);
  REQUIRE(q.add_status.ok());
  CHECK(q.queue->stats(q.stream).recovered_records == 50);
  q.connect_and_drain();
  CHECK(q.delivered() == range(0, 50));
  // Ids keep the boot id of the process that created the record.
  CHECK(q.mqtt.published()[0].user_properties.back().second == "00000001-telemetry-1");
}

TEST_CASE("records delivered before a restart are not sent again once progress was written") {
  MemoryLogStore store(1024, 16);
  {
    Process p(store, batch_settings(), 1);
    for (int i = 0; i < 20; ++i) REQUIRE(p.send(i).ok());
    p.connect_and_drain();
    REQUIRE(p.delivered() == range(0, 20));
    // Sent but their PUBACKs are never processed: this process ends first.
    for (int i = 20; i < 25; ++i) REQUIRE(p.send(i).ok());
    REQUIRE(p.queue->close().ok());
  }
  store.reboot();
  Process q(store, batch_settings(), 2);
  REQUIRE(q.add_status.ok());
  q.connect_and_drain();
  // Everything up to the progress marker is known delivered; the rest is sent again.
  CHECK(q.delivered() == range(20, 25));
  CHECK(q.queue->stats(q.stream).recovered_records == 5);
}

TEST_CASE("sequence numbers continue after a restart and never repeat") {
  MemoryLogStore store(1024, 16);
  std::uint64_t last = 0;
  {
    Process p(store, batch_settings(), 1);
    for (int i = 0; i < 7; ++i) last = p.send(i).value();
    REQUIRE(p.queue->flush().ok());
  }
  store.reboot();
  Process q(store, batch_settings(), 2);
  CHECK(q.send(7).value() == last + 1);
}

TEST_CASE("a torn tail is cut off and reported and the records before it are kept") {
  MemoryLogStore store(4096, 8);
  {
    Process p(store, batch_settings(), 1);
    for (int i = 0; i < 8; ++i) REQUIRE(p.send(i).ok());  // two syncs: 0..7 durable
    for (int i = 8; i < 11; ++i) REQUIRE(p.send(i).ok());  // not synced
  }
  store.power_cut_now(MemoryLogStore::TornWrite::kPrefixGarbage, 7);
  store.reboot();
  Process q(store, batch_settings(), 2);
  REQUIRE(q.add_status.ok());
  const StreamStats& st = q.queue->stats(q.stream);
  CHECK(st.recovered_records >= 8);
  CHECK(st.torn_bytes > 0);
  CHECK(q.log.count(LogLevel::kWarn, "torn tail") == 1);
  q.connect_and_drain();
  const std::vector<int> got = q.delivered();
  REQUIRE(got.size() >= 8);
  CHECK(std::vector<int>(got.begin(), got.begin() + 8) == range(0, 8));
  CHECK(got == range(0, static_cast<int>(got.size())));
  // New records go after the cut, not after the garbage.
  Process* qp = &q;
  CHECK(qp->send(100).ok());
}

TEST_CASE("a corrupted record is skipped and the intact records before and after it are kept") {
  MemoryLogStore store(4096, 8, 0xFF);
  std::uint32_t third_offset = 0;
  {
    Process p(store, batch_settings(), 1);
    for (int i = 0; i < 6; ++i) REQUIRE(p.send(i).ok());
    REQUIRE(p.queue->flush().ok());
    // Records are the same size: the third starts at 2 * size.
    third_offset = static_cast<std::uint32_t>(2 * (store.write_position() / 6));
  }
  store.reboot();
  REQUIRE(store.corrupt(1, third_offset + 45, 0x10));
  store.reboot();
  Process q(store, batch_settings(), 2);
  REQUIRE(q.add_status.ok());
  CHECK(q.queue->stats(q.stream).corrupt_regions == 1);
  CHECK(q.queue->stats(q.stream).torn_bytes == 0);
  q.connect_and_drain();
  CHECK(q.delivered() == std::vector<int>{0, 1, 3, 4, 5});
}

TEST_CASE("disk full: the overflow policy applies and the agent keeps running") {
  MemoryLogStore store(512, 16);
  StreamSettings reject = batch_settings();
  reject.overflow = OverflowPolicy::kReject;
  Process p(store, reject, 1);
  REQUIRE(p.add_status.ok());
  store.set_medium_full(true);
  Status last;
  int accepted = 0;
  for (int i = 0; i < 40; ++i) {
    Result<std::uint64_t> r = p.send(i);
    if (r.ok()) {
      ++accepted;
    } else {
      last = r.status();
    }
  }
  CHECK(accepted > 0);
  CHECK(accepted < 40);
  CHECK(last.code() == StatusCode::kResourceExhausted);
  CHECK(last.origin() == Origin::kStore);
  CHECK(last.detail() == 28);
  CHECK(p.log.count(LogLevel::kWarn, "storage full") >= 1);
  // Space comes back: the queue looks again a second later (or as soon as a segment is deleted),
  // goes on, and what was accepted is delivered.
  store.set_medium_full(false);
  p.clock.advance(std::chrono::milliseconds(1100));
  CHECK(p.send(1000).ok());
  p.connect_and_drain();
  std::vector<int> expected = range(0, accepted);
  expected.push_back(1000);
  CHECK(p.delivered() == expected);
}

// A medium with room for `segments` segment files: deleting one makes room for another, as on a
// real file system (MemoryLogStore's medium-full switch stays full whatever is deleted).
class SmallMedium final : public port::LogStore {
 public:
  SmallMedium(MemoryLogStore& inner, std::size_t segments) : inner_(inner), segments_(segments) {}

 private:
  Status do_open() override { return inner_.open(); }
  std::size_t do_segment_count() const override { return inner_.segment_count(); }
  SegmentId do_segment_id(std::size_t index) const override { return inner_.segment_id(index); }
  std::uint32_t do_segment_capacity() const override { return inner_.segment_capacity(); }
  std::size_t do_max_segments() const override { return inner_.max_segments(); }
  std::uint32_t do_write_position() const override { return inner_.write_position(); }
  Result<std::size_t> do_read(SegmentId id, std::uint32_t offset, Span<std::uint8_t> out) const override {
    return inner_.read(id, offset, out);
  }
  Result<std::uint32_t> do_append(Span<const std::uint8_t> bytes) override { return inner_.append(bytes); }
  Status do_sync() override { return inner_.sync(); }
  Result<SegmentId> do_roll() override {
    if (inner_.segment_count() >= segments_) return Status(StatusCode::kResourceExhausted, Origin::kStore, 28);
    return inner_.roll();
  }
  Status do_drop_head() override { return inner_.drop_head(); }
  Status do_set_write_position(std::uint32_t offset) override { return inner_.set_write_position(offset); }
  Result<std::uint64_t> do_free_space() const override { return inner_.free_space(); }

  MemoryLogStore& inner_;
  std::size_t segments_;
};

TEST_CASE("disk full with drop-oldest deletes old segments to make room") {
  MemoryLogStore inner(512, 16);
  SmallMedium store(inner, 4);
  testing::SimulatedClock clock;
  testing::FakeMqttClient mqtt{&clock};
  testing::CapturingLogSink log;
  AgentConfig config;
  REQUIRE(config.thing_name.assign("device-1").ok());
  Agent agent(mqtt, clock, config, &log, 1);
  QueueSettings qs;
  qs.boot_id = 1;
  OfflineQueue queue(agent, qs);
  const StreamId stream = queue.add_stream(batch_settings(), store).value();
  for (int i = 0; i < 60; ++i) {
    const std::string payload = "{\"i\":" + std::to_string(i) + "}";
    REQUIRE(queue.publish(stream, "dt/device-1/t", as_bytes(payload)).ok());
  }
  const StreamStats& st = queue.stats(stream);
  CHECK(st.dropped_pressure > 0);
  CHECK(st.dropped_pressure + st.pending_records == 60);
  REQUIRE(agent.start().ok());
  for (int k = 0; k < 50 && !queue.drained(); ++k) agent.run_once(milliseconds(10)).ignore();
  std::vector<int> got;
  for (const testing::FakeMessage& m : mqtt.published()) got.push_back(std::stoi(m.payload.substr(5)));
  REQUIRE(!got.empty());
  CHECK(got.back() == 59);
  CHECK(got == range(60 - static_cast<int>(got.size()), 60));
}

TEST_CASE("a medium that stays full: every record is stored, counted as dropped, or refused with ENOSPC") {
  MemoryLogStore store(512, 16);
  Process p(store, batch_settings(), 1);
  for (int i = 0; i < 20; ++i) REQUIRE(p.send(i).ok());
  store.set_medium_full(true);
  const std::uint64_t writes_before = store.write_ops();
  std::uint64_t refused = 0;
  for (int i = 20; i < 60; ++i) {
    Result<std::uint64_t> r = p.send(i);
    if (!r.ok()) {
      CHECK(r.status() == Status(StatusCode::kResourceExhausted, Origin::kStore, 28));
      ++refused;
    }
  }
  const StreamStats& st = p.queue->stats(p.stream);
  CHECK(refused > 0);
  CHECK(st.pending_records + st.dropped_pressure + refused == 60);
  // Deleting a segment did not make room: the queue deleted one, then stopped instead of emptying
  // itself, and goes on once there is space again.
  CHECK(st.dropped_pressure <= 512 / (offline::kRecordOverhead + 13 + 6 + 7));  // one segment of records
  CHECK(st.rejected == refused);
  // Refusals do not hammer the medium: after the first, no new segment is tried until one is freed
  // or a second has passed (the append that finds the active segment full still counts as a write).
  CHECK(store.write_ops() - writes_before <= refused + 5);  // one failed append each, no roll
  CHECK(p.log.count(LogLevel::kWarn, "storage full") == 1);
  p.clock.advance(std::chrono::seconds(2));
  store.set_medium_full(false);
  CHECK(p.send(100).ok());
}

TEST_CASE("a failing sync makes an always-durable publish say the record may not be durable") {
  MemoryLogStore store(4096, 8);
  StreamSettings always;
  always.durability = Durability::kAlways;
  Process p(store, always, 1);
  store.fail_next(MemoryLogStore::Op::kSync, Status(StatusCode::kDataLoss, Origin::kStore, 5));
  Result<std::uint64_t> r = p.send(0);
  CHECK(r.status().code() == StatusCode::kDataLoss);
  CHECK(r.status().origin() == Origin::kStore);
  CHECK(p.queue->stats(p.stream).sync_failures == 1);
  CHECK(p.log.count(LogLevel::kError, "sync failed") == 1);
  // The queue recovers: the next record rolls to a fresh segment and is durable.
  CHECK(p.send(1).ok());
  p.connect_and_drain();
  CHECK(p.delivered() == range(0, 2));
}

TEST_CASE("a store that cannot be opened is reported and no stream is added") {
  MemoryLogStore store(4096, 8);
  store.power_cut_now(MemoryLogStore::TornWrite::kNone, 1);
  Process p(store, batch_settings(), 1);
  CHECK(p.add_status.code() == StatusCode::kUnavailable);
  CHECK(p.queue->stream_count() == 0);
  CHECK(p.log.count(LogLevel::kError, "cannot open its store") == 1);
}
