// Copyright 2026 The Tether Authors. SPDX-License-Identifier: Apache-2.0
// kill -9 harness for the durable offline queue: examples/offline-agent ("always" durability)
// publishes continuously and is SIGKILLed after a random delay, cycle after cycle, with the broker
// up or stopped at random; then a last run drains the queue. Whatever any run printed as QUEUED
// (durable) must reach the cloud, in order, with one message id per record, and nothing else may.
//
// The PRNG seed is printed; TETHER_KILL9_SEED=<seed> repeats a run, TETHER_KILL9_CYCLES=<n>
// changes the number of cycles (default 15).

#include <catch2/catch.hpp>

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <random>
#include <string>
#include <vector>

#include "broker_fixture.hpp"
#include "offline_support.hpp"

using namespace tether;
using namespace tether::test;
using std::chrono::milliseconds;

namespace {

std::uint64_t env_or(const char* name, std::uint64_t fallback) {
  const char* value = std::getenv(name);
  if (value == nullptr || *value == '\0') return fallback;
  return std::strtoull(value, nullptr, 10);
}

struct RunRecord {
  bool broker_up = false;
  int delay_ms = 0;
  std::size_t queued = 0;
  std::string boot_id;
  bool connected = false;  // it reached the broker before the kill
  std::size_t arrivals = 0;  // messages the cloud got while it ran (up to the barrier after it)
  bool torn = false;     // its recovery cut a torn tail
  bool damaged = false;  // its recovery skipped damaged bytes
};

}  // namespace

TEST_CASE("offline: kill -9 at random moments, broker up or down, loses no record the queue accepted",
          "[offline][integration]") {
  const std::string program = offline_agent_path();
  if (program.empty() || !std::filesystem::exists(program)) {
    FAIL("the offline agent was not built at '" << program << "' (target tether_offline_agent). Not skipping.");
  }
  const std::uint64_t seed = env_or("TETHER_KILL9_SEED", std::random_device{}());
  const std::uint64_t cycles = env_or("TETHER_KILL9_CYCLES", 15);
  std::printf("offline kill -9: seed %llu (TETHER_KILL9_SEED=%llu repeats this run), %llu cycles\n",
              static_cast<unsigned long long>(seed), static_cast<unsigned long long>(seed),
              static_cast<unsigned long long>(cycles));
  std::fflush(stdout);
  INFO("TETHER_KILL9_SEED=" << seed);
  std::mt19937_64 rng(seed);

  TestBroker broker;
  TempDir tmp;
  AgentQueueOptions q;
  q.queue_dir = tmp / "queue";
  // Delivery progress is written every 50 ms, so kills also land on (and after) ack markers and a
  // run resends only what its predecessors could not record as delivered.
  q.ack_flush_interval_ms = 50;
  const std::string config = write_agent_config(broker, tmp / "agent.json", q);
  TelemetrySubscriber cloud(broker);
  cloud.connect();
  bool broker_up = true;

  const auto started = SteadyClock::now();
  PublishedModel model;
  std::vector<RunRecord> runs;
  std::uint64_t next_n = 0;
  for (std::uint64_t cycle = 0; cycle < cycles; ++cycle) {
    // Both states occur: the first two cycles take one each, the rest is random.
    const bool want_up = cycle < 2 ? cycle == 0 : (rng() & 1u) != 0;
    if (want_up && !broker_up) {
      broker.restart();
      cloud.reconnect();
    } else if (!want_up && broker_up) {
      broker.stop();
    }
    broker_up = want_up;

    RunRecord run;
    run.broker_up = broker_up;
    run.delay_ms = 50 + static_cast<int>(rng() % 351);
    cloud.run = static_cast<int>(cycle);
    const std::uint64_t start = next_n;
    AgentProcess agent({program, config, "--count", "1000000000", "--start", std::to_string(start), "--interval-ms",
                        "2"});
    cloud.poll_for(milliseconds(run.delay_ms));
    agent.signal(SIGKILL);
    const bool gone = cloud.poll_until([&] { return agent.exited(); }, milliseconds(30000));
    INFO("cycle " << cycle << ", broker " << (broker_up ? "up" : "down") << ", killed after " << run.delay_ms
                  << " ms\n" << agent.transcript());
    REQUIRE(gone);
    // Killed by us, not dead of its own (a failed recovery exits 2; a sanitizer aborts).
    REQUIRE(agent.term_signal() == SIGKILL);
    REQUIRE_FALSE(agent.stderr_contains("cannot open or recover"));
    run.queued = agent.count_lines("QUEUED ");
    run.boot_id = agent.boot_id();
    run.connected = agent.stderr_contains("agent: connected");
    run.torn = agent.stderr_contains("torn tail");
    run.damaged = agent.stderr_contains("damaged bytes");
    next_n = model.add_run(agent, start, true);
    if (broker_up) cloud.barrier();  // what the broker accepted from this run has arrived
    runs.push_back(run);
  }

  if (!broker_up) {
    broker.restart();
    cloud.reconnect();
  }
  cloud.run = static_cast<int>(cycles);
  AgentProcess drain({program, config, "--drain-only"});
  const bool drained = cloud.poll_until([&] { return drain.exited(); }, milliseconds(180000));
  INFO("drain run\n" << drain.transcript());
  REQUIRE(drained);
  REQUIRE(drain.exit_code() == 0);
  CHECK(drain.stderr_contains("pending 0,"));
  cloud.barrier();
  const double seconds = std::chrono::duration<double>(SteadyClock::now() - started).count();

  const DeliverySummary s = check_arrivals(broker, cloud, model);
  for (const Arrival& a : cloud.arrivals()) {
    if (a.run >= 0 && static_cast<std::size_t>(a.run) < runs.size()) ++runs[static_cast<std::size_t>(a.run)].arrivals;
  }

  std::size_t up = 0;
  std::size_t connected = 0;
  std::size_t torn = 0;
  std::size_t damaged = 0;
  for (std::size_t i = 0; i < runs.size(); ++i) {
    const RunRecord& r = runs[i];
    up += r.broker_up ? 1 : 0;
    connected += r.connected ? 1 : 0;
    torn += r.torn ? 1 : 0;
    damaged += r.damaged ? 1 : 0;
    std::printf("  cycle %2zu: broker %-4s killed after %3d ms, %4zu QUEUED, %4zu arrived%s, boot %s%s%s\n", i,
                r.broker_up ? "up" : "down", r.delay_ms, r.queued, r.arrivals, r.connected ? "" : " (never connected)",
                r.boot_id.c_str(), r.torn ? ", torn tail cut" : "", r.damaged ? ", damaged bytes skipped" : "");
  }
  std::printf("offline kill -9 summary: seed %llu, %zu cycles (%zu with the broker up, %zu runs connected), "
              "%zu records QUEUED, "
              "%zu in doubt of which %zu arrived, %zu arrivals, %zu distinct, %zu duplicates, %zu recoveries cut a "
              "torn tail, %zu skipped damaged bytes, %.1f s\n",
              static_cast<unsigned long long>(seed), runs.size(), up, connected, model.queued.size(), model.in_doubt.size(),
              s.in_doubt_arrived, s.arrivals, s.distinct, s.duplicates, torn, damaged, seconds);
  std::fflush(stdout);
  // A SIGKILL leaves the page cache intact: the only damage a kill can leave is a torn last write.
  CHECK(damaged == 0);
  CHECK(model.queued.size() > 0);
  CHECK(connected > 0);  // some runs delivered while publishing, not only the drain run
}
