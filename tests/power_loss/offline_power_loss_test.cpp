// Copyright 2026 The Tether Authors. SPDX-License-Identifier: Apache-2.0
// Power-loss suite (label power-loss): a scenario of the offline queue is run once cleanly to count
// its write operations; then, for every write point k and every way a cut can tear the unsynced
// bytes, the scenario runs again with the power cut at write k, the device reboots, a new process
// recovers the queue and drains it, and the invariants are checked:
//   1. nothing acknowledged-durable is lost: every record that publish() accepted on an `always`
//      stream, or that a successful flush() covered, and that had not been delivered before the cut,
//      is delivered after the reboot;
//   2. nothing corrupt is delivered: every message after the reboot is byte-for-byte a message the
//      scenario published, with the message id it was first given;
//   3. order is kept: after the reboot each stream delivers in strictly increasing order, without
//      duplicates.
#include <catch2/catch.hpp>

#include <algorithm>
#include <map>
#include <memory>
#include <set>
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

constexpr int kStreams = 2;  // 0: "always", 1: "batch"

std::string payload_of(int stream, int i) {
  return "{\"s\":" + std::to_string(stream) + ",\"i\":" + std::to_string(i) + ",\"pad\":\"" +
         std::string(static_cast<std::size_t>(i % 23), 'x') + "\"}";
}

std::string id_of(const testing::FakeMessage& m) {
  for (const auto& [k, v] : m.user_properties) {
    if (k == kMessageIdProperty) return v;
  }
  return "";
}

struct Published {
  int stream;
  int index;
};

// What the scenario learnt before the cut.
struct Ledger {
  std::set<std::pair<int, int>> durable;     // (stream, index) acknowledged-durable
  std::set<std::pair<int, int>> delivered;   // PUBACKed before the cut
  std::map<std::string, std::string> ids;    // payload -> message id first used
  std::set<std::string> payloads;            // every payload handed to publish()
};

struct Process {
  testing::SimulatedClock clock;
  testing::FakeMqttClient mqtt{&clock};
  testing::CapturingLogSink log;
  AgentConfig config;
  std::unique_ptr<Agent> agent;
  std::unique_ptr<OfflineQueue> queue;
  StreamId ids[kStreams] = {};
  bool ok = true;

  Process(MemoryLogStore* stores, std::uint32_t boot) {
    REQUIRE(config.thing_name.assign("device-1").ok());
    config.reconnect.initial = milliseconds(100);
    config.reconnect.max = milliseconds(100);
    clock.set_wall_time_ms(1795000000000);
    agent = std::make_unique<Agent>(mqtt, clock, config, &log, boot);
    QueueSettings qs;
    qs.boot_id = boot;
    qs.max_inflight = 4;
    qs.ack_flush_interval = milliseconds(30);
    queue = std::make_unique<OfflineQueue>(*agent, qs);
    StreamSettings always;
    always.name = "always";
    always.durability = Durability::kAlways;
    StreamSettings batch;
    batch.name = "batch";
    batch.durability = Durability::kBatch;
    batch.batch_records = 3;
    batch.batch_interval = milliseconds(20);
    const StreamSettings settings[kStreams] = {always, batch};
    for (int s = 0; s < kStreams; ++s) {
      Result<StreamId> id = queue->add_stream(settings[s], stores[s]);
      if (!id.ok()) {
        ok = false;
        return;
      }
      ids[s] = *id;
    }
  }
  void run(milliseconds d) {
    const milliseconds end = clock.now() + d;
    while (clock.now() < end) agent->run_once(milliseconds(5)).ignore();
  }
};

// The scenario: publish offline (rolls segments), connect and deliver part of it with acks held
// back, more publishing while connected, a disconnect, more offline publishing, flush and close.
// Records what is durable and delivered as it goes. Stops early once power is off.
void scenario(MemoryLogStore* stores, Ledger* ledger) {
  Process p(stores, 1);
  if (!p.ok) return;
  auto powered = [&] { return !stores[0].powered_off() && !stores[1].powered_off(); };
  std::set<std::pair<int, int>> batch_unflushed;
  auto publish = [&](int s, int i) {
    const std::string payload = payload_of(s, i);
    ledger->payloads.insert(payload);
    Result<std::uint64_t> r = p.queue->publish(p.ids[s], "dt/device-1/t", as_bytes(payload));
    if (!r.ok()) return;
    if (s == 0) ledger->durable.insert({s, i});
    if (s == 1) batch_unflushed.insert({s, i});
  };
  auto flush = [&] {
    if (p.queue->flush().ok()) {
      ledger->durable.insert(batch_unflushed.begin(), batch_unflushed.end());
      batch_unflushed.clear();
    }
  };
  auto observe = [&] {
    for (const testing::FakeMessage& m : p.mqtt.published()) {
      if (ledger->ids.count(m.payload) == 0) ledger->ids[m.payload] = id_of(m);
    }
  };
  auto settle_acks = [&](std::size_t from) {
    // Acknowledge what was published since `from`; record it as delivered once the queue saw it.
    const auto& sent = p.mqtt.published();
    for (std::size_t k = from; k < sent.size(); ++k) p.mqtt.ack(sent[k].token);
    p.run(milliseconds(10));
    for (std::size_t k = from; k < sent.size(); ++k) {
      const std::string& pl = sent[k].payload;
      const int s = pl[5] - '0';
      const int i = std::stoi(pl.substr(pl.find("\"i\":") + 4));
      ledger->delivered.insert({s, i});
    }
  };

  for (int i = 0; i < 12 && powered(); ++i) {
    publish(0, i);
    publish(1, i);
  }
  if (powered()) flush();
  if (!powered()) return;
  p.mqtt.set_auto_ack(false);
  REQUIRE(p.agent->start().ok());
  p.run(milliseconds(20));
  observe();
  settle_acks(0);
  observe();
  for (int i = 12; i < 18 && powered(); ++i) {
    publish(0, i);
    publish(1, i);
    p.run(milliseconds(10));
  }
  observe();
  if (powered()) settle_acks(0);
  observe();
  p.run(milliseconds(60));  // progress markers, batch syncs
  if (powered()) p.mqtt.drop_connection(Status(StatusCode::kUnavailable, Origin::kSocket, 104));
  p.run(milliseconds(10));
  for (int i = 18; i < 26 && powered(); ++i) {
    publish(0, i);
    publish(1, i);
  }
  if (powered()) flush();
  if (powered()) p.queue->close().ignore();
}

struct Outcome {
  bool recovered = false;
  std::vector<testing::FakeMessage> messages;
};

Outcome reboot_and_drain(MemoryLogStore* stores) {
  for (int s = 0; s < kStreams; ++s) stores[s].reboot();
  Outcome out;
  Process p(stores, 2);
  if (!p.ok) return out;
  out.recovered = true;
  REQUIRE(p.agent->start().ok());
  for (int k = 0; k < 400 && !p.queue->drained(); ++k) p.agent->run_once(milliseconds(5)).ignore();
  CHECK(p.queue->drained());
  out.messages = p.mqtt.published();
  return out;
}

void check_invariants(const Ledger& ledger, const Outcome& outcome) {
  REQUIRE(outcome.recovered);
  std::set<std::pair<int, int>> after;
  int last[kStreams] = {-1, -1};
  for (const testing::FakeMessage& m : outcome.messages) {
    // 2. nothing corrupt: the exact bytes of a published message, with its first id.
    REQUIRE(ledger.payloads.count(m.payload) == 1);
    auto id = ledger.ids.find(m.payload);
    if (id != ledger.ids.end()) CHECK(id_of(m) == id->second);
    const int s = m.payload[5] - '0';
    const int i = std::stoi(m.payload.substr(m.payload.find("\"i\":") + 4));
    // 3. order kept, no duplicates within the drain.
    CHECK(i > last[s]);
    last[s] = i;
    after.insert({s, i});
  }
  // 1. nothing acknowledged-durable lost.
  for (const auto& rec : ledger.durable) {
    if (ledger.delivered.count(rec) != 0) continue;
    INFO("stream " << rec.first << " record " << rec.second);
    CHECK(after.count(rec) == 1);
  }
}

// Write operations of each store in a clean run of the scenario.
std::vector<std::uint64_t> clean_write_ops(std::uint8_t erased) {
  MemoryLogStore stores[kStreams] = {MemoryLogStore(700, 8, erased), MemoryLogStore(700, 8, erased)};
  Ledger ledger;
  scenario(stores, &ledger);
  std::vector<std::uint64_t> ops;
  for (const MemoryLogStore& s : stores) ops.push_back(s.write_ops());
  // Sanity: the clean run loses nothing at all.
  Outcome outcome = reboot_and_drain(stores);
  check_invariants(ledger, outcome);
  for (const auto& rec : ledger.durable) {
    if (ledger.delivered.count(rec) == 0) CHECK(std::count_if(outcome.messages.begin(), outcome.messages.end(),
                                                              [&](const testing::FakeMessage& m) {
                                                                return m.payload == payload_of(rec.first, rec.second);
                                                              }) == 1);
  }
  return ops;
}

void interrupt_every_write(std::uint8_t erased, MemoryLogStore::TornWrite mode) {
  const std::vector<std::uint64_t> ops = clean_write_ops(erased);
  for (int victim = 0; victim < kStreams; ++victim) {
    REQUIRE(ops[victim] > 20);
    for (std::uint64_t k = 0; k < ops[victim]; ++k) {
      MemoryLogStore stores[kStreams] = {MemoryLogStore(700, 8, erased), MemoryLogStore(700, 8, erased)};
      const std::uint32_t seed = static_cast<std::uint32_t>(k * 31 + victim);
      stores[victim].arm_power_cut(k, mode, seed);
      Ledger ledger;
      scenario(stores, &ledger);
      // The other store loses power at the same moment.
      for (int s = 0; s < kStreams; ++s) {
        if (!stores[s].powered_off()) stores[s].power_cut_now(mode, seed + 7);
      }
      INFO("cut at write " << k << " of stream " << victim << ", erased 0x" << std::hex << static_cast<int>(erased));
      Outcome outcome = reboot_and_drain(stores);
      check_invariants(ledger, outcome);
    }
  }
}

}  // namespace

TEST_CASE("power cut at every write point, unsynced bytes vanish") {
  interrupt_every_write(0x00, MemoryLogStore::TornWrite::kNone);
}

TEST_CASE("power cut at every write point, a prefix of the unsynced bytes survives") {
  interrupt_every_write(0x00, MemoryLogStore::TornWrite::kPrefix);
}

TEST_CASE("power cut at every write point, a torn prefix followed by garbage survives") {
  interrupt_every_write(0x00, MemoryLogStore::TornWrite::kPrefixGarbage);
}

TEST_CASE("power cut at every write point, all unsynced bytes survive") {
  interrupt_every_write(0x00, MemoryLogStore::TornWrite::kAll);
}

TEST_CASE("power cut at every write point on NOR flash (erased 0xFF) with garbage") {
  interrupt_every_write(0xFF, MemoryLogStore::TornWrite::kPrefixGarbage);
}
