// Copyright 2026 The Tether Authors. SPDX-License-Identifier: Apache-2.0
//
// Part 2: after an outage, how fast does the backlog reach the broker, compared with publishing
// the same records live?
//
// One round: a fresh Agent + PahoMqttClient + OfflineQueue (one "batch" stream on a PosixLogStore,
// max_inflight = the window) is filled with M records before the agent has ever connected. Then
// start(): the queue sends the backlog in order as soon as the CONNACK arrives, keeping `window`
// QoS 1 publishes outstanding, and deletes each segment once every record in it is acknowledged.
// The drain is timed from the CONNACK (seen by a component attached before the queue, so before
// the queue's first send) to the run_once() after which drained() is true: every record PUBACKed.
//
// Then, on the same connection, M live QoS 1 publishes through Agent::publish() with the same
// window (publish while fewer than `window` are outstanding and the client accepts, then
// run_once(): bench/publish's QoS 1 loop), timed from the first publish to the last PUBACK.

#include <cstdio>
#include <memory>
#include <string>
#include <vector>

#include "agent_rig.hpp"
#include "bench_offline.hpp"
#include "timed_log_store.hpp"
#include "tether/offline/offline_queue.hpp"
#include "tether/port/posix/posix_log_store.hpp"

namespace tether::bench_offline {
namespace {

// Sees kConnected before the queue does (components are called in the order they attached).
class ConnectWatch final : public AgentComponent {
 public:
  explicit ConnectWatch(TimedLogStore& store) : store_(store) {}
  void on_agent_event(const AgentEvent& event) override {
    if (event.type == AgentEventType::kConnected && connected_at < 0) {
      connected_at = now_seconds();
      cpu_at_connect = process_cpu_seconds();
      switches_at_connect = process_context_switches();
      broker_cpu_at_connect = broker_cpu_seconds();
      store_.reset();  // from here on the store's time is the drain's
    }
    if (event.type == AgentEventType::kDisconnected || event.type == AgentEventType::kConnectFailed ||
        event.type == AgentEventType::kNeedsAttention) {
      last_problem = event.reason;
      if (event.type == AgentEventType::kDisconnected) ++disconnects;
    }
  }
  double connected_at = -1;
  double cpu_at_connect = 0;
  long switches_at_connect = 0;
  double broker_cpu_at_connect = -1;
  Status last_problem;
  int disconnects = 0;

 private:
  TimedLogStore& store_;
};

struct Completions {
  std::size_t done = 0;
  std::size_t failed = 0;
  Status first_failure;
};

void stop_agent(Agent& agent) {
  agent.stop().ignore();  // always ok
  const double deadline = now_seconds() + 3;
  while (now_seconds() < deadline) {
    if (agent.run_once(Milliseconds(50)).code() == StatusCode::kCancelled) break;
  }
}

}  // namespace

DrainResult drain_round(const Options& options) {
  DrainResult result;
  result.records = options.drain_records;
  TempDir dir(options.base_dir, "drain");
  if (!dir.ok()) {
    result.error = "cannot create a temporary directory in " + options.base_dir;
    return result;
  }
  std::unique_ptr<AgentRig> rig = make_rig(options, true, "bench-offline", result.error);
  if (!rig) return result;
  Agent& agent = *rig->agent;
  port::PosixLogStoreSettings store_settings;
  store_settings.directory = dir.path() + "/queue";
  store_settings.segment_bytes = options.segment_bytes;
  store_settings.max_segments = kMaxQueueSegments;
  port::PosixLogStore posix_store(store_settings);
  TimedLogStore store(posix_store);
  ConnectWatch watch(store);
  if (!agent.attach(watch).ok()) {
    result.error = "cannot attach the connect watch";
    return result;
  }
  Completions completions;
  agent.set_publish_complete_handler([c = &completions](PacketToken, Status status) {
    ++c->done;
    if (!status.ok() && c->failed++ == 0) c->first_failure = status;
  });

  QueueSettings queue_settings;
  queue_settings.max_inflight = static_cast<std::uint16_t>(options.window);
  queue_settings.boot_id = make_boot_id();
  auto queue = std::make_unique<OfflineQueue>(agent, queue_settings);
  StreamSettings stream;
  stream.name = "telemetry";
  stream.durability = Durability::kBatch;
  stream.batch_records = static_cast<std::uint32_t>(options.batch_records);
  stream.overflow = OverflowPolicy::kReject;
  // Before returning: the queue and the watch go before the agent they are attached to.
  const auto abandon = [&] {
    queue.reset();
    agent.detach(watch).ignore();  // attached above
  };
  const auto cleanup = [&] {
    stop_agent(agent);
    abandon();
  };
  Result<StreamId> id = queue->add_stream(stream, store);
  if (!id.ok()) {
    result.error = "add_stream failed: " + status_text(id.status());
    abandon();
    return result;
  }

  // The outage: M records while the agent has never connected.
  const std::vector<std::uint8_t> payload = make_payload(options.payload_bytes);
  const Span<const std::uint8_t> bytes(payload.data(), payload.size());
  double t = now_seconds();
  for (std::size_t i = 0; i < options.drain_records; ++i) {
    Result<std::uint64_t> seq = queue->publish(*id, options.topic, bytes);
    if (!seq.ok()) {
      result.error = "enqueue " + std::to_string(i) + " failed: " + status_text(seq.status());
      abandon();
      return result;
    }
  }
  const Status flushed = queue->flush();
  result.enqueue_seconds = now_seconds() - t;
  if (!flushed.ok()) {
    result.error = "flush failed: " + status_text(flushed);
    abandon();
    return result;
  }

  // Connect and drain.
  const double started = now_seconds();
  const Status start_status = agent.start();
  if (!start_status.ok()) {
    result.error = "agent start failed: " + status_text(start_status);
    abandon();
    return result;
  }
  const double connect_deadline = started + 15;
  while (watch.connected_at < 0 && now_seconds() < connect_deadline) {
    const Status status = agent.run_once(Milliseconds(100));
    if (!status.ok()) {
      result.error = "run_once failed while connecting: " + status_text(status);
      cleanup();
      return result;
    }
    if (agent.stats().connect_failures > 0) break;  // a refused certificate will not pass on a retry
  }
  if (watch.connected_at < 0) {
    result.error = agent.stats().connect_failures > 0 ? "connect failed: " + status_text(watch.last_problem)
                                                      : std::string("no CONNACK within 15 s");
    cleanup();
    return result;
  }
  result.connect_seconds = watch.connected_at - started;
  const double drain_deadline = watch.connected_at + 60 + static_cast<double>(options.drain_records) / 1000.0;
  while (!queue->drained()) {
    if (queue->inflight() > result.drain_window) result.drain_window = queue->inflight();
    const Status status = agent.run_once(Milliseconds(100));
    if (!status.ok()) {
      result.error = "run_once failed during the drain: " + status_text(status);
      cleanup();
      return result;
    }
    if (watch.disconnects > 0) {
      result.error = "connection lost during the drain: " + status_text(watch.last_problem);
      cleanup();
      return result;
    }
    if (now_seconds() > drain_deadline) {
      result.error = "drain stalled: " + std::to_string(queue->stats(*id).delivered) + " of " +
                     std::to_string(options.drain_records) + " delivered";
      cleanup();
      return result;
    }
  }
  result.drain_seconds = now_seconds() - watch.connected_at;
  result.drain_cpu_seconds = process_cpu_seconds() - watch.cpu_at_connect;
  result.drain_switches = process_context_switches() - watch.switches_at_connect;
  const double broker_after_drain = broker_cpu_seconds();
  if (watch.broker_cpu_at_connect >= 0 && broker_after_drain >= 0) {
    result.drain_broker_cpu_seconds = broker_after_drain - watch.broker_cpu_at_connect;
  }
  result.drain_store = store.totals();
  const StreamStats& stats = queue->stats(*id);
  result.resent = stats.resent;
  result.dropped = stats.dropped_overflow + stats.dropped_pressure + stats.dropped_expired + stats.dropped_refused +
                   stats.dropped_store_error;
  if (stats.delivered != options.drain_records || result.dropped != 0) {
    result.error = "drain delivered " + std::to_string(stats.delivered) + " of " +
                   std::to_string(options.drain_records) + " (dropped " + std::to_string(result.dropped) +
                   "; a refused topic? the certificate's CN must allow " + options.topic + ")";
    cleanup();
    return result;
  }

  // Live QoS 1 on the same connection and window.
  completions = Completions{};
  std::size_t sent = 0;
  const double live_cpu_start = process_cpu_seconds();
  const long live_switches_start = process_context_switches();
  const double live_broker_start = broker_cpu_seconds();
  t = now_seconds();
  const double live_deadline = t + 60 + static_cast<double>(options.drain_records) / 1000.0;
  while (completions.done < options.drain_records) {
    while (sent < options.drain_records && sent - completions.done < options.window) {
      Result<PacketToken> token = agent.publish(options.topic, bytes, Qos::k1);
      if (!token.ok()) {
        if (token.status().code() == StatusCode::kResourceExhausted) break;  // the client's window is full
        result.error = "live publish failed: " + status_text(token.status());
        cleanup();
        return result;
      }
      ++sent;
    }
    if (sent - completions.done > result.live_window) result.live_window = sent - completions.done;
    const Status status = agent.run_once(Milliseconds(100));
    if (!status.ok() || watch.disconnects > 0) {
      result.error = "connection lost during the live run: " + status_text(status.ok() ? watch.last_problem : status);
      cleanup();
      return result;
    }
    if (now_seconds() > live_deadline) {
      result.error = "live run stalled: " + std::to_string(completions.done) + " of " +
                     std::to_string(options.drain_records) + " acknowledged";
      cleanup();
      return result;
    }
  }
  result.live_seconds = now_seconds() - t;
  result.live_cpu_seconds = process_cpu_seconds() - live_cpu_start;
  result.live_switches = process_context_switches() - live_switches_start;
  const double live_broker_end = broker_cpu_seconds();
  if (live_broker_start >= 0 && live_broker_end >= 0) result.live_broker_cpu_seconds = live_broker_end - live_broker_start;
  if (completions.failed > 0) {
    result.error = std::to_string(completions.failed) + " live publishes failed, first: " +
                   status_text(completions.first_failure);
    cleanup();
    return result;
  }
  cleanup();
  result.ok = true;
  return result;
}

}  // namespace tether::bench_offline
