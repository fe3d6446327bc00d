// Copyright 2026 The Tether Authors. SPDX-License-Identifier: Apache-2.0
//
// Part 3: does the queue's RAM stay flat while the backlog grows to a million records?
//
// OfflineQueue keeps no per-record state in RAM (only per-segment metadata and three record
// buffers), so the process's resident set should not grow with the backlog. One "batch" stream on
// a PosixLogStore with large segments (so that a million small records fit in kMaxQueueSegments),
// agent never connected; VmRSS is read before the first record, at intervals, and after the last;
// VmHWM (reset first where the kernel allows) shows that no transient peak hides between samples.
// The records go to the page cache and the disk, which RSS does not count (the store writes with
// pwrite, it does not map the files).

#include <cstdio>
#include <memory>
#include <string>
#include <vector>

#include "agent_rig.hpp"
#include "bench_offline.hpp"
#include "tether/offline/offline_queue.hpp"
#include "tether/port/posix/posix_log_store.hpp"

namespace tether::bench_offline {

BacklogResult backlog_run(const Options& options) {
  BacklogResult result;
  result.payload_bytes = options.backlog_payload_bytes;
  const std::size_t record = offline::kRecordOverhead + options.topic.size() + options.backlog_payload_bytes;
  const std::size_t per_segment = options.backlog_segment_bytes / record;
  // One segment is kept in reserve: the queue may roll before the last one is full.
  const std::size_t max_fit = per_segment * (kMaxQueueSegments - 1);
  std::size_t records = options.backlog_records;
  if (records > max_fit) {
    records = max_fit;
    result.error += "scaled down to " + std::to_string(records) + " records: " +
                    std::to_string(kMaxQueueSegments) + " segments of " +
                    std::to_string(options.backlog_segment_bytes) + " bytes hold no more. ";
  }
  const auto bytes_needed = [&](std::size_t n) {
    const std::size_t segments = (n + per_segment - 1) / per_segment + 1;
    return static_cast<long long>(segments) * options.backlog_segment_bytes;
  };
  constexpr long long kMargin = 256ll << 20;  // leave the machine some room
  const long long available = free_bytes(options.base_dir);
  if (available >= 0 && bytes_needed(records) + kMargin > available) {
    const long long usable = available - kMargin;
    const std::size_t segments = usable > 0 ? static_cast<std::size_t>(usable / options.backlog_segment_bytes) : 0;
    const std::size_t fit = segments > 1 ? (segments - 1) * per_segment : 0;
    char text[256];
    std::snprintf(text, sizeof text,
                  "only %.0f MiB free in %s (%.0f MiB needed for %zu records + %lld MiB margin): ",
                  static_cast<double>(available) / 1048576.0, options.base_dir.c_str(),
                  static_cast<double>(bytes_needed(records)) / 1048576.0, records, kMargin >> 20);
    result.error += text;
    if (fit < 10000) {
      result.error += "skipped (fewer than 10000 records would fit). ";
      result.skipped = true;
      return result;
    }
    records = fit < records ? fit : records;
    result.error += "scaled down to " + std::to_string(records) + " records. ";
  }
  result.records = records;

  TempDir dir(options.base_dir, "backlog");
  if (!dir.ok()) {
    result.error += "cannot create a temporary directory in " + options.base_dir;
    return result;
  }
  std::string error;
  std::unique_ptr<AgentRig> rig = make_rig(options, false, "bench-backlog", error);
  if (!rig) {
    result.error += error;
    return result;
  }
  QueueSettings queue_settings;
  queue_settings.max_inflight = static_cast<std::uint16_t>(options.window);
  queue_settings.boot_id = make_boot_id();
  auto queue = std::make_unique<OfflineQueue>(*rig->agent, queue_settings);
  port::PosixLogStoreSettings store_settings;
  store_settings.directory = dir.path() + "/queue";
  store_settings.segment_bytes = options.backlog_segment_bytes;
  store_settings.max_segments = kMaxQueueSegments;
  port::PosixLogStore store(store_settings);
  StreamSettings stream;
  stream.name = "telemetry";
  stream.durability = Durability::kBatch;
  stream.batch_records = static_cast<std::uint32_t>(options.batch_records);
  stream.overflow = OverflowPolicy::kReject;
  Result<StreamId> id = queue->add_stream(stream, store);
  if (!id.ok()) {
    result.error += "add_stream failed: " + status_text(id.status());
    return result;
  }
  const std::vector<std::uint8_t> payload = make_payload(options.backlog_payload_bytes);
  const Span<const std::uint8_t> bytes(payload.data(), payload.size());

  reset_peak_rss();  // where refused, VmHWM covers the whole run (and says more than it should)
  result.hwm_before_kib = proc_status_kib("VmHWM");
  result.heap_before_kib = heap_in_use_kib();
  result.rss_before_kib = proc_status_kib("VmRSS");
  result.rss_samples.emplace_back(0, result.rss_before_kib);
  const std::size_t sample_every = records / 8 > 0 ? records / 8 : 1;
  const double start = now_seconds();
  for (std::size_t i = 0; i < records; ++i) {
    Result<std::uint64_t> seq = queue->publish(*id, options.topic, bytes);
    if (!seq.ok()) {
      result.error += "publish " + std::to_string(i) + " failed: " + status_text(seq.status());
      return result;
    }
    if ((i + 1) % sample_every == 0 && i + 1 < records) {
      result.rss_samples.emplace_back(i + 1, proc_status_kib("VmRSS"));
    }
  }
  const Status flushed = queue->flush();
  result.seconds = now_seconds() - start;
  if (!flushed.ok()) {
    result.error += "flush failed: " + status_text(flushed);
    return result;
  }
  result.rss_after_kib = proc_status_kib("VmRSS");
  result.heap_after_kib = heap_in_use_kib();
  result.hwm_after_kib = proc_status_kib("VmHWM");
  result.rss_samples.emplace_back(records, result.rss_after_kib);
  const StreamStats& stats = queue->stats(*id);
  result.stored_bytes = stats.stored_bytes;
  result.segments = stats.segments;
  result.syncs = stats.syncs;
  result.pending = stats.pending_records;
  result.ok = stats.enqueued == records;
  if (!result.ok) result.error += "only " + std::to_string(stats.enqueued) + " records accepted";
  queue->close().ignore();  // deliberately unchecked: the directory is removed next
  return result;
}

}  // namespace tether::bench_offline
