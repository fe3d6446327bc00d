// Copyright 2026 The Tether Authors. SPDX-License-Identifier: Apache-2.0
// The durable offline queue end to end: examples/offline-agent (PosixLogStore, OfflineQueue, Paho)
// as a real process against a real mosquitto, stopped, killed and restarted; the cloud is a
// privileged MQTT 5 subscriber that sees every copy of every record with its `tether-msg-id`.

#include <catch2/catch.hpp>

#include <sys/stat.h>

#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "broker_fixture.hpp"
#include "offline_support.hpp"
#include "tether/offline/record.hpp"
#include "tether/port/posix/config_file.hpp"

using namespace tether;
using namespace tether::test;
using std::chrono::milliseconds;

namespace {

// Generous: loopback and disk have multi-ms outliers, and the sanitizer builds are 5-20x slower.
constexpr milliseconds kStartTimeout{60000};
constexpr milliseconds kDrainTimeout{120000};

std::vector<std::string> agent_args(const std::string& config, std::vector<std::string> flags) {
  const std::string program = offline_agent_path();
  if (program.empty() || !std::filesystem::exists(program)) {
    FAIL("the offline agent was not built at '" << program << "' (target tether_offline_agent). Not skipping.");
  }
  std::vector<std::string> args{program, config};
  args.insert(args.end(), flags.begin(), flags.end());
  return args;
}

// Waits (polling the subscriber) until the agent has exited, and fails the test with its output
// if that takes longer than `timeout`.
void wait_exit(TelemetrySubscriber& cloud, AgentProcess& agent, milliseconds timeout) {
  const bool gone = cloud.poll_until([&] { return agent.exited(); }, timeout);
  INFO(agent.transcript());
  REQUIRE(gone);
}

// Stops the agent the graceful way and expects exit 0 (queue closed, counters printed).
void terminate(TelemetrySubscriber& cloud, AgentProcess& agent) {
  agent.signal(SIGTERM);
  wait_exit(cloud, agent, kStartTimeout);
  INFO(agent.transcript());
  REQUIRE(agent.exit_code() == 0);
  CHECK(agent.stderr_contains("offline-agent: bye (signal"));
}

// --drain-only while the broker is down; once the agent has recovered its queue it is frozen
// (SIGSTOP) while the broker comes back and the cloud subscribes again, so that nothing it sends
// can reach the broker before the subscription exists (the test broker keeps no sessions).
void drain_after_broker_restart(TestBroker& broker, TelemetrySubscriber& cloud, AgentProcess& agent,
                                const std::string& recovered_line) {
  const bool recovered = cloud.poll_until([&] { return agent.stderr_contains(recovered_line) || agent.exited(); },
                                          kStartTimeout);
  INFO(agent.transcript());
  REQUIRE(recovered);
  REQUIRE_FALSE(agent.exited());
  agent.signal(SIGSTOP);
  broker.restart();
  cloud.reconnect();
  agent.signal(SIGCONT);
  wait_exit(cloud, agent, kDrainTimeout);
  REQUIRE(agent.exit_code() == 0);
  CHECK(agent.stderr_contains("offline-agent: bye (drained"));
  cloud.barrier();
}

// The segment files of a stream directory, oldest first.
std::vector<std::string> segment_files(const std::string& dir) {
  std::vector<std::string> files;
  for (const auto& entry : std::filesystem::directory_iterator(dir)) {
    if (entry.path().extension() == ".seg") files.push_back(entry.path().string());
  }
  std::sort(files.begin(), files.end());
  return files;
}

std::uint32_t le32(const std::vector<std::uint8_t>& b, std::size_t at) {
  return static_cast<std::uint32_t>(b[at]) | static_cast<std::uint32_t>(b[at + 1]) << 8 |
         static_cast<std::uint32_t>(b[at + 2]) << 16 | static_cast<std::uint32_t>(b[at + 3]) << 24;
}

// How the agent is run inside a private mount namespace with `dir` on a tmpfs of `size`: as root
// `unshare -m` is enough, otherwise a user namespace (`unshare -rm`) gives the right to mount.
std::vector<std::string> on_small_tmpfs(const std::string& dir, const std::string& size,
                                        std::vector<std::string> args) {
  if (std::system("command -v unshare >/dev/null 2>&1 && command -v mount >/dev/null 2>&1") != 0) {
    FAIL("unshare or mount (util-linux) is not installed: the disk-full test needs them. Not skipping.");
  }
  std::vector<std::string> wrapped{"unshare", ::geteuid() == 0 ? "-m" : "-rm", "--", "/bin/sh", "-c",
                                   "mount -t tmpfs -o size=" + size + ",mode=0700 tether-queue \"$0\" && exec \"$@\"",
                                   dir};
  wrapped.insert(wrapped.end(), args.begin(), args.end());
  return wrapped;
}

// Fails loudly when the agent could not be started on its tmpfs (no right to mount here).
void require_tmpfs_mounted(TelemetrySubscriber& cloud, AgentProcess& agent) {
  cloud.poll_until([&] { return !agent.boot_id().empty() || agent.exited(); }, kStartTimeout);
  if (agent.boot_id().empty()) {
    FAIL("could not run the agent on a 1 MiB tmpfs in a private mount namespace (unshare -m as root, "
         "unshare -rm otherwise): this environment allows neither, or util-linux is missing. The disk-full "
         "test needs one of them. Not skipping.\n"
         << agent.transcript());
  }
}

}  // namespace

TEST_CASE("offline: records published while the broker is down survive an agent restart and arrive once or more, "
          "in order, with the same message ids",
          "[offline][integration]") {
  TestBroker broker;
  TempDir tmp;
  AgentQueueOptions q;
  q.queue_dir = tmp / "queue";
  const std::string config = write_agent_config(broker, tmp / "agent.json", q);
  TelemetrySubscriber cloud(broker);
  cloud.connect();

  broker.stop();
  PublishedModel model;
  {
    AgentProcess agent(agent_args(config, {"--count", "50", "--interval-ms", "0"}));
    const bool queued_all = cloud.poll_until([&] { return agent.count_lines("QUEUED ") == 50 || agent.exited(); },
                                             kStartTimeout);
    INFO(agent.transcript());
    REQUIRE(queued_all);
    REQUIRE_FALSE(agent.exited());  // it waits for the broker to drain the queue
    terminate(cloud, agent);
    CHECK(agent.count_lines("REFUSED ") == 0);
    CHECK(agent.stderr_contains("enqueued 50, sent 0 (resent 0), delivered 0, pending 50,"));
    REQUIRE(agent.boot_id().size() == 8);
    model.add_run(agent, 0, false);
  }
  REQUIRE(model.queued.size() == 50);

  AgentProcess drain(agent_args(config, {"--drain-only"}));
  drain_after_broker_restart(broker, cloud, drain, "50 undelivered record(s)");
  INFO(drain.transcript());
  CHECK(drain.stderr_contains("delivered 50, pending 0,"));

  const DeliverySummary s = check_arrivals(broker, cloud, model);
  CHECK(s.distinct == 50);
  std::printf("offline restart: %zu arrivals, %zu distinct, %zu duplicates\n", s.arrivals, s.distinct, s.duplicates);
}

TEST_CASE("offline: an agent killed (SIGKILL) in the middle of publishing to a live broker loses nothing it "
          "accepted and the next run resends in order with the same ids",
          "[offline][integration]") {
  TestBroker broker;
  TempDir tmp;
  AgentQueueOptions q;
  q.queue_dir = tmp / "queue";
  const std::string config = write_agent_config(broker, tmp / "agent.json", q);
  TelemetrySubscriber cloud(broker);
  cloud.connect();

  // A backlog first (broker down), then the broker comes back while the agent keeps publishing:
  // the kill lands while it drains the backlog and sends live records, with some delivered and
  // hundreds not yet.
  broker.stop();
  constexpr std::size_t kCount = 5000;
  PublishedModel model;
  std::size_t queued_at_kill = 0;
  std::size_t arrived_at_kill = 0;
  {
    AgentProcess agent(agent_args(config, {"--count", std::to_string(kCount), "--interval-ms", "2"}));
    const bool backlog = cloud.poll_until([&] { return agent.count_lines("QUEUED ") >= 300 || agent.exited(); },
                                          kStartTimeout);
    INFO(agent.transcript());
    REQUIRE(backlog);
    REQUIRE_FALSE(agent.exited());
    agent.signal(SIGSTOP);  // until the cloud has subscribed again (the broker keeps no sessions)
    broker.restart();
    cloud.reconnect();
    agent.signal(SIGCONT);
    const bool midway = cloud.poll_until([&] { return cloud.distinct() >= 50 || agent.exited(); }, kStartTimeout);
    REQUIRE(midway);
    agent.signal(SIGKILL);
    wait_exit(cloud, agent, kStartTimeout);
    REQUIRE(agent.term_signal() == SIGKILL);  // it was still running: not an early exit or a crash
    queued_at_kill = agent.count_lines("QUEUED ");
    cloud.barrier();  // whatever the broker accepted from the killed agent has arrived
    arrived_at_kill = cloud.distinct();
    CHECK(queued_at_kill < kCount);            // killed while publishing
    CHECK(arrived_at_kill < queued_at_kill);   // ... and before the backlog was through
    model.add_run(agent, 0, true);
  }

  AgentProcess drain(agent_args(config, {"--drain-only"}));
  wait_exit(cloud, drain, kDrainTimeout);
  INFO(drain.transcript());
  REQUIRE(drain.exit_code() == 0);
  cloud.barrier();

  const DeliverySummary s = check_arrivals(broker, cloud, model);
  CHECK(s.distinct >= queued_at_kill);
  std::printf("offline SIGKILL mid-publish: %zu queued and %zu delivered at the kill; then %zu arrivals, %zu distinct, "
              "%zu duplicates, in-doubt record %s; drain run: %s\n",
              queued_at_kill, arrived_at_kill, s.arrivals, s.distinct, s.duplicates,
              s.in_doubt_arrived != 0 ? "arrived" : "did not arrive", drain.stats_line().c_str());
}

TEST_CASE("offline: a corrupted record in a segment file is skipped with a log line and every other record "
          "arrives in order",
          "[offline][integration]") {
  TestBroker broker;
  TempDir tmp;
  AgentQueueOptions q;
  q.queue_dir = tmp / "queue";
  const std::string config = write_agent_config(broker, tmp / "agent.json", q);
  TelemetrySubscriber cloud(broker);
  cloud.connect();
  broker.stop();

  PublishedModel model;
  {
    AgentProcess agent(agent_args(config, {"--count", "20", "--interval-ms", "0"}));
    const bool queued_all = cloud.poll_until([&] { return agent.count_lines("QUEUED ") == 20 || agent.exited(); },
                                             kStartTimeout);
    INFO(agent.transcript());
    REQUIRE(queued_all);
    terminate(cloud, agent);
    model.add_run(agent, 0, false);
  }
  REQUIRE(model.queued.size() == 20);

  // Walk the records (record.hpp: magic "TQ", version, type, u32 total length at offset 4, u64 seq
  // at 8; topic, properties and payload lengths at 30, 32, 34) and flip one payload byte of the 5th.
  const std::vector<std::string> segments = segment_files(q.queue_dir + "/telemetry");
  REQUIRE(segments.size() == 1);
  std::vector<std::uint8_t> bytes = read_binary(segments[0]);
  REQUIRE(bytes.size() == q.segment_bytes);
  const std::string topic = TelemetrySubscriber::kTopic;
  std::size_t offset = 0;
  std::size_t fifth = 0;
  for (std::uint64_t n = 0; n < 20; ++n) {
    INFO("record of n=" << n << " at offset " << offset);
    REQUIRE(offset + offline::kRecordOverhead <= bytes.size());
    REQUIRE(bytes[offset] == offline::kRecordMagic0);
    REQUIRE(bytes[offset + 1] == offline::kRecordMagic1);
    REQUIRE(bytes[offset + 3] == static_cast<std::uint8_t>(offline::RecordType::kData));
    const std::uint32_t length = le32(bytes, offset + 4);
    const std::uint64_t seq = le32(bytes, offset + 8) | static_cast<std::uint64_t>(le32(bytes, offset + 12)) << 32;
    CHECK(seq == model.queued.at(n));
    const std::string payload = "{\"n\":" + std::to_string(n) + "}";
    // No content type, expiry, response topic, correlation data or user properties: 6 bytes of
    // properties (u8 + u16 + u16 + u8 lengths and counts).
    CHECK(length == offline::kRecordOverhead + topic.size() + 6 + payload.size());
    offline::Record record;
    std::size_t consumed = 0;
    REQUIRE(offline::decode_record(Span<const std::uint8_t>(bytes.data() + offset, bytes.size() - offset), &record,
                                   &consumed) == offline::DecodeOutcome::kRecord);
    CHECK(consumed == length);
    CHECK(std::string(reinterpret_cast<const char*>(record.payload.data()), record.payload.size()) == payload);
    if (n == 4) fifth = offset;
    offset += length;
  }
  CHECK(offline::is_erased(Span<const std::uint8_t>(bytes.data() + offset, 64)));  // nothing after the 20th
  const std::size_t digit = fifth + offline::kRecordHeader + topic.size() + 6 + 5;  // the 4 of {"n":4}
  REQUIRE(bytes[digit] == '4');
  {
    std::fstream file(segments[0], std::ios::in | std::ios::out | std::ios::binary);
    file.seekp(static_cast<std::streamoff>(digit));
    file.put(static_cast<char>('4' ^ 0x01));  // one bit flipped: {"n":5}, CRC no longer matches
    file.close();
    REQUIRE(file.good());
  }

  broker.restart();
  cloud.reconnect();
  AgentProcess drain(agent_args(config, {"--drain-only"}));
  wait_exit(cloud, drain, kDrainTimeout);
  INFO(drain.transcript());
  REQUIRE(drain.exit_code() == 0);
  cloud.barrier();
  CHECK(drain.stderr_contains("damaged bytes"));
  CHECK(drain.stderr_contains("19 undelivered record(s)"));
  CHECK(drain.stderr_contains("damaged regions 1 ("));

  const DeliverySummary s = check_arrivals(broker, cloud, model, {4});
  CHECK(s.distinct == 19);
  for (const Arrival& a : cloud.arrivals()) CHECK(a.n != 4);
}

TEST_CASE("offline: on a full disk (1 MiB tmpfs) the agent logs it, refuses or drops by policy and keeps running, "
          "and what it stored is delivered",
          "[offline][integration]") {
  TestBroker broker;
  TempDir tmp;
  TelemetrySubscriber cloud(broker);
  cloud.connect();
  broker.stop();

  // 64 KiB segments and up to 64 of them: the store's own bound (4 MiB) is far beyond the medium
  // (16 segments fill 1 MiB), so the disk runs full first. ~820 records fit in a segment.
  constexpr std::size_t kCount = 16000;

  SECTION("overflow reject: publish() fails with resource_exhausted/store/ENOSPC, the rest is kept") {
    AgentQueueOptions q;
    q.queue_dir = tmp / "queue";
    q.overflow = "reject";
    q.max_segments = 64;
    std::filesystem::create_directory(q.queue_dir);
    const std::string config = write_agent_config(broker, tmp / "agent.json", q);
    AgentProcess agent(on_small_tmpfs(q.queue_dir, "1m",
                                      agent_args(config, {"--count", std::to_string(kCount), "--interval-ms", "0"})));
    require_tmpfs_mounted(cloud, agent);
    const bool all = cloud.poll_until(
        [&] { return agent.count_lines("QUEUED ") + agent.count_lines("REFUSED ") == kCount || agent.exited(); },
        kDrainTimeout);
    INFO(agent.transcript());
    REQUIRE(all);
    REQUIRE_FALSE(agent.exited());  // it keeps running, waiting for the broker
    const std::size_t queued = agent.count_lines("QUEUED ");
    const std::size_t refused = agent.count_lines("REFUSED ");
    CHECK(queued > 10000);
    CHECK(refused > 0);
    // The records on the medium: 42 + topic + 6 + payload bytes each. All 16 segments are used
    // (each wastes less than a record at its end), and nothing beyond 1 MiB was accepted.
    std::size_t stored = 0;
    for (std::size_t n = 0; n < queued; ++n) stored += 42 + 21 + 6 + std::to_string(n).size() + 6;
    CHECK(stored <= 1024u * 1024u);
    CHECK(stored > 1024u * 1024u - 16 * 80);
    CHECK(agent.stderr_contains("storage full (no space for a new segment)"));
    CHECK(agent.stderr_contains("[resource_exhausted/store/28]"));
    // Every refusal is the disk, and once full it stays full: a prefix queued, the rest refused.
    const std::vector<std::string> lines = agent.stdout_lines();
    std::size_t first_refused = lines.size();
    for (std::size_t i = 0; i < lines.size(); ++i) {
      if (lines[i].rfind("REFUSED ", 0) == 0) {
        if (first_refused == lines.size()) first_refused = i;
        CHECK(lines[i] == "REFUSED " + std::to_string(i) + " resource_exhausted/store/28");
      }
    }
    CHECK(first_refused == queued);
    PublishedModel model;
    model.add_run(agent, 0, false);

    drain_after_broker_restart(broker, cloud, agent, "offline-agent: boot id");
    CHECK(agent.stderr_contains("delivered " + std::to_string(queued) + ", pending 0,"));
    const DeliverySummary s = check_arrivals(broker, cloud, model);
    CHECK(s.distinct == queued);
    std::printf("offline disk full (reject): %zu queued, %zu refused, %zu arrivals\n", queued, refused, s.arrivals);
  }

  SECTION("overflow drop-oldest: the oldest segment goes (pressure), every publish is accepted") {
    AgentQueueOptions q;
    q.queue_dir = tmp / "queue";
    q.overflow = "drop-oldest";
    q.max_segments = 64;
    std::filesystem::create_directory(q.queue_dir);
    const std::string config = write_agent_config(broker, tmp / "agent.json", q);
    AgentProcess agent(on_small_tmpfs(q.queue_dir, "1m",
                                      agent_args(config, {"--count", std::to_string(kCount), "--interval-ms", "0"})));
    require_tmpfs_mounted(cloud, agent);
    const bool all = cloud.poll_until(
        [&] { return agent.count_lines("QUEUED ") + agent.count_lines("REFUSED ") == kCount || agent.exited(); },
        kDrainTimeout);
    INFO(agent.transcript());
    REQUIRE(all);
    REQUIRE_FALSE(agent.exited());
    CHECK(agent.count_lines("QUEUED ") == kCount);
    CHECK(agent.stderr_contains("record(s) dropped (pressure)"));
    PublishedModel model;
    model.add_run(agent, 0, false);

    drain_after_broker_restart(broker, cloud, agent, "offline-agent: boot id");
    // The dropped records are the oldest: what arrives is every n from some point on.
    std::set<std::uint64_t> lost;
    std::set<std::uint64_t> arrived;
    for (const Arrival& a : cloud.arrivals()) arrived.insert(a.n);
    REQUIRE_FALSE(arrived.empty());
    for (std::uint64_t n = 0; n < *arrived.begin(); ++n) lost.insert(n);
    CHECK(arrived.size() == kCount - lost.size());
    CHECK(lost.size() > 0);
    CHECK(agent.stderr_contains("pending 0, rejected 0, dropped 0 overflow / " + std::to_string(lost.size()) +
                                " pressure /"));
    const DeliverySummary s = check_arrivals(broker, cloud, model, lost);
    std::printf("offline disk full (drop-oldest): %zu accepted, %zu dropped under pressure, %zu arrivals\n", kCount,
                lost.size(), s.arrivals);
  }
}

namespace {

// A configuration that never reaches a broker (the agent under test stops before connecting).
std::string write_offline_config(const std::string& path, const std::string& queue_section) {
  std::ofstream out(path);
  out << R"({"thing_name": "device-1", "endpoint": "localhost", "port": 1,
    "tls": {"ca_file": "ca.crt", "cert_file": "device-1.crt", "key": "device-1.key"})"
      << (queue_section.empty() ? "" : ",\n  \"offline_queue\": " + queue_section) << "}\n";
  out.close();
  if (!out) FAIL("cannot write " << path);
  return path;
}

std::string source_dir() {
  const char* from_env = std::getenv("TETHER_SOURCE_DIR");
  if (from_env != nullptr && *from_env != '\0') return from_env;
  return TETHER_SOURCE_DIR;
}

}  // namespace

TEST_CASE("offline: the example configuration of offline-agent parses and a configuration without offline_queue "
          "is refused",
          "[offline][integration]") {
  const std::string example = source_dir() + "/examples/offline-agent/offline-agent.example.json";
  AgentConfig parsed;
  ErrorText error;
  INFO(error.c_str());
  REQUIRE(port::load_config_file(example.c_str(), parsed, &error).ok());
  REQUIRE(parsed.offline_queue.enabled);
  REQUIRE(parsed.offline_queue.stream_count == 1);
  CHECK(parsed.offline_queue.streams[0].name == std::string_view("telemetry"));
  CHECK(parsed.offline_queue.streams[0].settings.durability == Durability::kAlways);
  CHECK(parsed.offline_queue.streams[0].segment_bytes == 65536);
  CHECK(parsed.offline_queue.streams[0].max_segments == 16);

  TempDir tmp;
  const std::string config = write_offline_config(tmp / "agent.json", "");
  AgentProcess agent(agent_args(config, {"--count", "1"}));
  const bool exited = agent.wait_exit(kStartTimeout);
  INFO(agent.transcript());
  REQUIRE(exited);
  CHECK(agent.exit_code() == 1);
  CHECK(agent.stderr_contains(config + ": offline_queue: this example needs an enabled offline_queue section"));
  CHECK(agent.stdout_lines().empty());
}

TEST_CASE("offline: a queue the store refuses to open stops the agent with exit 2 and names the file",
          "[offline][integration]") {
  TempDir tmp;
  const std::string queue = tmp / "queue";
  std::filesystem::create_directories(queue + "/telemetry");
  {
    // A segment of the wrong size that holds data: not a torn preallocation, so open() refuses it
    // (kDataLoss) rather than guess.
    std::ofstream seg(queue + "/telemetry/00000001.seg", std::ios::binary);
    seg << std::string(1000, 'x');
  }
  const std::string config = write_offline_config(
      tmp / "agent.json", "{\"directory\": \"" + queue + "\", \"streams\": [{\"name\": \"telemetry\", "
                          "\"segment_bytes\": 65536, \"max_segments\": 4}]}");
  AgentProcess agent(agent_args(config, {"--count", "1"}));
  const bool exited = agent.wait_exit(kStartTimeout);
  INFO(agent.transcript());
  REQUIRE(exited);
  CHECK(agent.exit_code() == 2);
  CHECK(agent.stderr_contains("offline-agent: stream \"telemetry\": cannot open or recover " + queue + "/telemetry: "
                              "data_loss/store/"));
  CHECK(agent.stderr_contains("00000001.seg: segment is 1000 bytes, the store's segments are 65536 bytes"));
  CHECK(agent.stdout_lines().empty());
}

TEST_CASE("offline: an encrypting stream keeps no plaintext on disk and delivers the plaintext after a restart, "
          "and a key file others can read is refused",
          "[offline][integration]") {
  TestBroker broker;
  TempDir tmp;
  const std::string key_path = tmp / "queue.key";
  {
    std::ofstream key(key_path, std::ios::binary);
    for (int i = 0; i < 32; ++i) key.put(static_cast<char>(0xA0 + i));
  }
  REQUIRE(::chmod(key_path.c_str(), 0644) == 0);
  AgentQueueOptions q;
  q.queue_dir = tmp / "queue";
  q.key_file = key_path;
  const std::string config = write_agent_config(broker, tmp / "agent.json", q);
  {
    AgentProcess refused(agent_args(config, {"--drain-only"}));
    REQUIRE(refused.wait_exit(kStartTimeout));
    INFO(refused.transcript());
    CHECK(refused.exit_code() == 1);
    CHECK(refused.stderr_contains("key_file"));
    CHECK(refused.stderr_contains("chmod 600"));
  }
  REQUIRE(::chmod(key_path.c_str(), 0600) == 0);

  TelemetrySubscriber cloud(broker);
  cloud.connect();
  broker.stop();
  PublishedModel model;
  {
    AgentProcess agent(agent_args(config, {"--count", "20", "--interval-ms", "0"}));
    REQUIRE(cloud.poll_until([&] { return agent.count_lines("QUEUED ") == 20 || agent.exited(); }, kStartTimeout));
    INFO(agent.transcript());
    terminate(cloud, agent);
    model.add_run(agent, 0, false);
  }
  // The segment files hold the topic (documented) but none of the payloads.
  std::size_t segments = 0;
  for (const auto& entry : std::filesystem::directory_iterator((tmp / "queue") + "/telemetry")) {
    if (entry.path().extension() != ".seg") continue;
    ++segments;
    const std::vector<std::uint8_t> bytes = read_binary(entry.path().string());
    const std::string text(bytes.begin(), bytes.end());
    CHECK(text.find("{\"n\":") == std::string::npos);
    CHECK(text.find("dt/device-1/telemetry") != std::string::npos);
  }
  CHECK(segments >= 1);

  AgentProcess drain(agent_args(config, {"--drain-only"}));
  drain_after_broker_restart(broker, cloud, drain, "20 undelivered record(s)");
  const DeliverySummary s = check_arrivals(broker, cloud, model);
  CHECK(s.distinct == 20);
}
