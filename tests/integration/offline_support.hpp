// Copyright 2026 The Tether Authors. SPDX-License-Identifier: Apache-2.0
#pragma once
// Helpers for the offline-queue integration tests: examples/offline-agent run as a real process
// (spawned, signalled, killed), a config file for it, and the cloud side: a privileged MQTT 5
// subscriber that records every telemetry record with its `tether-msg-id`, and the checks the
// tests share (every accepted record arrived, nothing else did, same id for every copy, order).

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <stdlib.h>  // mkdtemp
#include <sys/wait.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <cerrno>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <functional>
#include <map>
#include <mutex>
#include <optional>
#include <set>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "broker_fixture.hpp"
#include "process_util.hpp"
#include "tether/offline/settings.hpp"
#include "tether/port/paho/paho_mqtt_client.hpp"

namespace tether::test {

using std::chrono::milliseconds;
using SteadyClock = std::chrono::steady_clock;

/// The agent under test (a build-time path: the example, or its sanitizer-built twin).
inline std::string offline_agent_path() {
  return program_under_test(nullptr, TETHER_OFFLINE_AGENT);
}

/// What goes into the agent's configuration file besides the broker.
struct AgentQueueOptions {
  std::string queue_dir;
  std::string durability = "always";
  std::string overflow = "drop-oldest";
  std::uint32_t segment_bytes = 65536;
  std::uint32_t max_segments = 16;
  std::uint32_t ack_flush_interval_ms = 1000;  ///< how often delivery progress is written
  std::string key_file;                        ///< set: the stream encrypts with this key file
};

/// Writes a config for device-1 on `broker` into `path` and returns `path`. `more_sections` (e.g.
/// `"shadow": {}, "metrics": {}`) is added after the offline_queue section.
inline std::string write_agent_config(const TestBroker& broker, const std::string& path, const AgentQueueOptions& q,
                                      const std::string& more_sections = "") {
  std::ofstream out(path);
  out << "{\n"
      << "  \"thing_name\": \"device-1\",\n"
      << "  \"endpoint\": \"localhost\",\n"
      << "  \"port\": " << broker.port() << ",\n"
      << "  \"tls\": {\"ca_file\": \"" << broker.path("ca.crt") << "\", \"cert_file\": \""
      << broker.path("devices/device-1.crt") << "\", \"key\": \"" << broker.path("devices/device-1.key") << "\"},\n"
      << "  \"mqtt\": {\"version\": 5, \"connect_timeout_ms\": 10000},\n"
      << "  \"reconnect\": {\"initial_ms\": 100, \"max_ms\": 500},\n"
      << "  \"heartbeat\": {\"enabled\": false},\n"
      << "  \"offline_queue\": {\n"
      << "    \"directory\": \"" << q.queue_dir << "\",\n"
      << "    \"ack_flush_interval_ms\": " << q.ack_flush_interval_ms << ",\n"
      << (q.key_file.empty() ? std::string() : "    \"key_file\": \"" + q.key_file + "\",\n")
      << "    \"streams\": [{\"name\": \"telemetry\", \"durability\": \"" << q.durability << "\", \"overflow\": \""
      << q.overflow << "\", \"segment_bytes\": " << q.segment_bytes << ", \"max_segments\": " << q.max_segments
      << (q.key_file.empty() ? "" : ", \"encrypt\": true") << "}]\n"
      << "  }" << (more_sections.empty() ? "" : ",\n  " + more_sections) << "\n"
      << "}\n";
  out.close();
  if (!out) FAIL("cannot write the agent configuration " << path);
  return path;
}

/// One `QUEUED <n> <seq>` line.
struct QueuedLine {
  std::uint64_t n = 0;
  std::uint64_t seq = 0;
};

/// The agent as a child process (see ChildProcess), with readers for what it prints.
class AgentProcess : public ChildProcess {
 public:
  using ChildProcess::ChildProcess;

  std::vector<QueuedLine> queued() const {
    std::vector<QueuedLine> out;
    for (const std::string& line : stdout_lines()) {
      QueuedLine q;
      unsigned long long n = 0;
      unsigned long long seq = 0;
      if (std::sscanf(line.c_str(), "QUEUED %llu %llu", &n, &seq) == 2) {
        q.n = n;
        q.seq = seq;
        out.push_back(q);
      }
    }
    return out;
  }
  /// The boot id the agent printed ("offline-agent: boot id 1a2b3c4d"), or "" if not yet.
  std::string boot_id() const {
    const std::string err = stderr_text();
    const std::string key = "offline-agent: boot id ";
    const auto at = err.find(key);
    if (at == std::string::npos || at + key.size() + 8 > err.size()) return "";
    return err.substr(at + key.size(), 8);
  }
  /// The counter line the agent printed at exit for `stream` ("" if none).
  std::string stats_line(const std::string& stream = "telemetry") const {
    const std::string err = stderr_text();
    const std::string key = "offline-agent: stream \"" + stream + "\": ";
    const auto at = err.find(key);
    if (at == std::string::npos) return "";
    return err.substr(at + key.size(), err.find('\n', at) - at - key.size());
  }
};

/// One telemetry message as the cloud received it.
struct Arrival {
  std::uint64_t n = 0;
  std::string msg_id;  ///< `tether-msg-id` user property ("" if absent)
  int run = 0;         ///< the subscriber's `run` tag when it arrived
};

/// The cloud side: the privileged client ("cloudsim" identity, ACL `#`), MQTT 5, subscribed to
/// dt/device-1/telemetry. Records `{"n":N}` messages; `{"barrier":K}` messages that it publishes
/// itself mark the point up to which everything the broker acknowledged has arrived.
///
/// The subscription is QoS 0 on purpose. At QoS 1 mosquitto keeps 20 messages in flight to a
/// subscriber and queues at most 1000 more (max_queued_messages), then drops; a queue draining
/// thousands of records outruns a subscriber that is descheduled for a moment (seen on a loaded
/// 2-core machine). At QoS 0 the only buffer is the TCP connection, which loses nothing while it
/// lives and exerts back-pressure. check_arrivals() also fails if the broker logged a drop.
class TelemetrySubscriber final : public port::MqttListener {
 public:
  static constexpr const char* kTopic = "dt/device-1/telemetry";

  explicit TelemetrySubscriber(const TestBroker& broker) : client_(settings(broker)) { client_.set_listener(this); }
  ~TelemetrySubscriber() override { client_.set_listener(nullptr); }

  /// Connects (the previous connection must be gone) and subscribes; fails the test otherwise.
  void connect() {
    ConnectOptions options;
    options.client_id = "offline-test-cloud";
    options.version = MqttVersion::k5;
    options.connect_timeout = milliseconds(10000);
    connection_result_.reset();
    REQUIRE(client_.connect(options).ok());
    REQUIRE(poll_until([&] { return connection_result_.has_value(); }, milliseconds(30000)));
    REQUIRE(connection_result_->ok());
    subscribed_.reset();
    Result<PacketToken> token = client_.subscribe(kTopic, Qos::k0);
    REQUIRE(token.ok());
    subscribe_token_ = *token;
    REQUIRE(poll_until([&] { return subscribed_.has_value(); }, milliseconds(30000)));
    REQUIRE(subscribed_->ok());
  }
  /// After the broker was stopped or restarted: waits until the old connection is seen gone, then
  /// connects and subscribes again (the test broker keeps no sessions).
  void reconnect() {
    REQUIRE(poll_until([&] { return !client_.connected(); }, milliseconds(30000)));
    connect();
  }
  bool connected() const { return client_.connected(); }

  /// Polls the client until `done()` (true) or the timeout (false). Every wait in these tests goes
  /// through here, so messages are taken in while the test waits for anything else.
  bool poll_until(const std::function<bool()>& done, milliseconds timeout) {
    const auto deadline = SteadyClock::now() + timeout;
    while (!done()) {
      if (SteadyClock::now() >= deadline) return false;
      client_.poll(milliseconds(20)).ignore();
    }
    return true;
  }
  /// Polls for `duration` (a deliberate wait, e.g. a random kill delay).
  void poll_for(milliseconds duration) {
    const auto until = SteadyClock::now() + duration;
    poll_until([&] { return SteadyClock::now() >= until; }, duration + milliseconds(1000));
  }

  /// Publishes a barrier and waits for it to come back: everything the broker had accepted on this
  /// topic before (from any client that has gone or is idle) has then arrived, in order.
  void barrier() {
    const int k = ++barriers_sent_;
    const std::string payload = "{\"barrier\":" + std::to_string(k) + "}";
    OutgoingMessage m;
    m.topic = kTopic;
    m.payload = as_bytes(payload);
    m.qos = Qos::k1;
    REQUIRE(client_.publish(m).ok());
    REQUIRE(poll_until([&] { return barriers_seen_ >= k; }, milliseconds(30000)));
  }

  const std::vector<Arrival>& arrivals() const { return arrivals_; }
  std::size_t distinct() const {
    std::set<std::uint64_t> seen;
    for (const Arrival& a : arrivals_) seen.insert(a.n);
    return seen.size();
  }
  const std::vector<std::string>& foreign() const { return foreign_; }
  std::size_t dropped() const { return client_.dropped_messages(); }
  int run = 0;  ///< tag stored with each arrival

  // port::MqttListener
  void on_connection(const ConnectionEvent& event) override {
    if (event.state != ConnectionState::kDisconnected) connection_result_ = event.reason;
  }
  void on_message(const InboundMessage& message) override {
    const std::string payload(reinterpret_cast<const char*>(message.payload.data()), message.payload.size());
    int barrier = 0;
    unsigned long long n = 0;
    char tail = 0;
    if (std::sscanf(payload.c_str(), "{\"barrier\":%d%c", &barrier, &tail) == 2 && tail == '}') {
      if (barrier > barriers_seen_) barriers_seen_ = barrier;
      return;
    }
    if (message.topic != kTopic || std::sscanf(payload.c_str(), "{\"n\":%llu%c", &n, &tail) != 2 || tail != '}') {
      foreign_.push_back(std::string(message.topic) + " " + payload);
      return;
    }
    Arrival a;
    a.n = n;
    a.run = run;
    for (const UserProperty& p : message.properties.user_properties) {
      if (p.key == kMessageIdProperty) a.msg_id = std::string(p.value);
    }
    arrivals_.push_back(a);
  }
  void on_publish_complete(PacketToken, Status) override {}
  void on_subscribe_complete(PacketToken token, Status result, Qos) override {
    if (token == subscribe_token_) subscribed_ = result;
  }

 private:
  static port::PahoSettings settings(const TestBroker& broker) {
    port::PahoSettings s = broker.client_settings("cloudsim");
    s.inbox_capacity = 1u << 20;  // never drop what the broker sends us (checked: dropped() == 0)
    return s;
  }

  port::PahoMqttClient client_;
  std::optional<Status> connection_result_;
  std::optional<Status> subscribed_;
  PacketToken subscribe_token_ = 0;
  int barriers_sent_ = 0;
  int barriers_seen_ = 0;
  std::vector<Arrival> arrivals_;
  std::vector<std::string> foreign_;
};

/// What the agent runs told us they published.
struct PublishedModel {
  std::map<std::uint64_t, std::uint64_t> queued;        ///< n -> seq, from QUEUED lines
  std::map<std::uint64_t, std::string> boot_of;         ///< n -> boot id of the run that queued it
  std::map<std::uint64_t, std::string> in_doubt;        ///< n -> boot id: may have been stored by a killed run
                                                        ///< before it could print QUEUED
  /// Adds a run's QUEUED lines; for a run that was killed, also the one record after its last
  /// QUEUED line (publish() may have stored it before the kill), and records refused with
  /// data_loss (stored, sync failed). Returns the next free n.
  std::uint64_t add_run(const AgentProcess& agent, std::uint64_t start, bool killed) {
    const std::string boot = agent.boot_id();
    std::uint64_t next = start;
    for (const QueuedLine& q : agent.queued()) {
      queued[q.n] = q.seq;
      boot_of[q.n] = boot;
      if (q.n + 1 > next) next = q.n + 1;
    }
    // `data_loss/store`: the sync failed; the record is queued but may not be durable.
    for (const std::string& line : agent.stdout_lines()) {
      unsigned long long n = 0;
      char status[64] = {};
      if (std::sscanf(line.c_str(), "REFUSED %llu %63s", &n, status) == 2 &&
          std::string(status).rfind("data_loss/", 0) == 0) {
        in_doubt[n] = boot;
      }
    }
    if (killed) {
      in_doubt[next] = boot;
      ++next;
    }
    return next;
  }
};

/// What check_arrivals found.
struct DeliverySummary {
  std::size_t arrivals = 0;
  std::size_t distinct = 0;
  std::size_t duplicates = 0;
  std::size_t in_doubt_arrived = 0;
};

/// The invariants of at-least-once, in-order delivery with stable message ids:
/// 1. every n printed as QUEUED arrived at least once (except those in `allowed_missing`);
/// 2. nothing arrived that was never published (only QUEUED or in-doubt n);
/// 3. every copy of an n carries the same `tether-msg-id`, of the form <boot id>-telemetry-<seq>
///    with the boot id of the run that queued it and the seq QUEUED printed; no two n share an id;
/// 4. first arrivals are in increasing n (the queue sends in order and resends from its
///    acknowledged position).
inline DeliverySummary check_arrivals(const TestBroker& broker, const TelemetrySubscriber& cloud,
                                      const PublishedModel& model,
                                      const std::set<std::uint64_t>& allowed_missing = {}) {
  DeliverySummary summary;
  // The broker itself may drop messages for a subscriber that falls behind (max_queued_messages):
  // that would be the test's loss, not the queue's. mosquitto logs it.
  {
    std::ifstream in(broker.path("mosquitto.log"));
    std::stringstream log;
    log << in.rdbuf();
    INFO("mosquitto dropped messages for the test's subscriber: the check below would blame the queue");
    CHECK(log.str().find("Outgoing messages are being dropped") == std::string::npos);
  }
  const std::vector<Arrival>& arrivals = cloud.arrivals();
  summary.arrivals = arrivals.size();
  CHECK(cloud.foreign().empty());
  for (const std::string& f : cloud.foreign()) UNSCOPED_INFO("unexpected message: " << f);
  CHECK(cloud.dropped() == 0);

  std::map<std::uint64_t, std::string> id_of;
  std::map<std::string, std::uint64_t> n_of_id;
  std::vector<std::uint64_t> first_order;
  std::size_t bad_ids = 0;
  std::size_t unpublished = 0;
  for (const Arrival& a : arrivals) {
    const bool is_queued = model.queued.count(a.n) != 0;
    const bool is_doubt = model.in_doubt.count(a.n) != 0;
    if (!is_queued && !is_doubt) {
      if (++unpublished <= 5) FAIL_CHECK("n=" << a.n << " arrived but was never published");
      continue;
    }
    const auto [it, first] = id_of.emplace(a.n, a.msg_id);
    if (first) {
      first_order.push_back(a.n);
      if (is_doubt) ++summary.in_doubt_arrived;
      // The id names the run that stored the record and its sequence number.
      const std::string boot = is_queued ? model.boot_of.at(a.n) : model.in_doubt.at(a.n);
      const std::string prefix = boot + "-telemetry-";
      bool ok = a.msg_id.rfind(prefix, 0) == 0 && boot.size() == 8;
      if (ok && is_queued) ok = a.msg_id == prefix + std::to_string(model.queued.at(a.n));
      if (!ok && ++bad_ids <= 5) {
        FAIL_CHECK("n=" << a.n << ": message id \"" << a.msg_id << "\", expected " << prefix
                        << (is_queued ? std::to_string(model.queued.at(a.n)) : std::string("<seq>")));
      }
      const auto [other, unique] = n_of_id.emplace(a.msg_id, a.n);
      if (!unique) FAIL_CHECK("n=" << a.n << " and n=" << other->second << " share the id " << a.msg_id);
    } else {
      ++summary.duplicates;
      if (it->second != a.msg_id && ++bad_ids <= 5) {
        FAIL_CHECK("n=" << a.n << " arrived with two ids: " << it->second << " and " << a.msg_id);
      }
    }
  }
  CHECK(unpublished == 0);
  CHECK(bad_ids == 0);
  summary.distinct = id_of.size();

  std::size_t missing = 0;
  std::string missing_list;
  for (const auto& [n, seq] : model.queued) {
    if (id_of.count(n) == 0 && allowed_missing.count(n) == 0) {
      if (++missing <= 20) missing_list += " " + std::to_string(n);
    }
  }
  INFO("QUEUED but never arrived (first 20):" << missing_list);
  CHECK(missing == 0);

  std::size_t out_of_order = 0;
  for (std::size_t i = 1; i < first_order.size(); ++i) {
    if (first_order[i] <= first_order[i - 1] && ++out_of_order <= 5) {
      FAIL_CHECK("first arrivals out of order: n=" << first_order[i] << " first arrived after n="
                                                   << first_order[i - 1]);
    }
  }
  CHECK(out_of_order == 0);
  return summary;
}

/// Reads a whole file (binary).
inline std::vector<std::uint8_t> read_binary(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::vector<std::uint8_t>(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

}  // namespace tether::test
