// Copyright 2026 The Tether Authors. SPDX-License-Identifier: Apache-2.0
#pragma once

/// @file
/// Shared vocabulary of the offline-queue benchmark (bench-offline): the run's options, the
/// result of one timed contender, and the three parts (enqueue.cpp, drain.cpp, backlog.cpp) that
/// main.cpp drives and reports.

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

namespace tether::bench_offline {

/// Everything a run is configured with (defaults: see main.cpp's usage text).
struct Options {
  // Records and their shape: identical for every contender.
  std::string topic = "dt/bench-1/telemetry";
  std::size_t payload_bytes = 256;
  std::size_t batch_records = 32;          ///< records per sync (group commit) at "batch"
  // Part 1: enqueue rate.
  std::size_t records = 20000;             ///< per timed round at "batch" and "memory", and for Paho
  std::size_t always_records = 3000;       ///< per timed round at "always" (one sync per record)
  std::size_t rounds = 3;                  ///< timed rounds per contender (alternating)
  std::uint32_t segment_bytes = 1u << 20;  ///< PosixLogStore segment size in parts 1 and 2
  // Part 2: drain after an outage vs live QoS 1.
  std::size_t drain_records = 20000;
  std::size_t drain_rounds = 3;
  std::size_t window = 20;                 ///< QoS 1 publishes in flight at most (both cases)
  std::string host;
  std::uint16_t port = 0;
  std::string ca_file;
  std::string cert_file;
  std::string key_file;
  std::string thing_name = "bench-1";      ///< certificate CN; the broker's ACL allows dt/<CN>/#
  // Part 3: resident memory with a large backlog.
  bool backlog = true;
  std::size_t backlog_records = 1000000;
  std::size_t backlog_payload_bytes = 64;
  std::uint32_t backlog_segment_bytes = 8u << 20;
  // Where the stores live (a fresh temporary directory below it per contender and round).
  std::string base_dir;
  bool verbose = false;
  std::string only;                        ///< part 1: "tether", "sqlite" or "paho" only (profiling)
};

/// Durability levels, in the order the report lists them.
enum class Level { kMemory, kBatch, kAlways };
const char* level_name(Level level);

/// One timed enqueue run of one contender.
struct EnqueueResult {
  bool ok = false;
  std::string error;           ///< why not, when !ok
  std::size_t records = 0;     ///< accepted
  double seconds = 0;          ///< wall time of the timed loop (including its final sync/commit)
  std::uint64_t syncs = 0;     ///< Tether: syncs the queue made; SQLite: commits; Paho: 0
  long heap_growth_kib = 0;    ///< bytes held by malloc after the loop minus before it (mallinfo2)
  std::string note;            ///< extra facts to print (e.g. Paho's file count)
  double rate() const { return seconds > 0 ? static_cast<double>(records) / seconds : 0; }
};

/// Which store a Tether memory-level stream uses.
enum class MemoryStore { kPosixNeverSynced, kRam };

EnqueueResult enqueue_tether(const Options& options, Level level, MemoryStore memory_store, std::size_t count);
/// `in_ram`: an in-memory database (":memory:", journal in memory): the equal of a RamLogStore.
EnqueueResult enqueue_sqlite(const Options& options, Level level, std::size_t count, bool in_ram = false);
EnqueueResult enqueue_paho(const Options& options, std::size_t count);
/// The SQLite library version ("3.40.1").
const char* sqlite_version();
/// Paho C's own version text ("1.3.11"), from MQTTAsync_getVersionInfo.
std::string paho_version();

/// Calls of one kind a store got, and the wall time the caller spent in them.
struct StoreTime {
  std::uint64_t calls = 0;
  double seconds = 0;
};
/// Per kind of LogStore call (timed_log_store.hpp).
struct StoreTimes {
  StoreTime read, append, sync, roll, drop_head;
};

/// One round of part 2: enqueue while disconnected, connect, drain; then live QoS 1 on the same
/// connection.
struct DrainResult {
  bool ok = false;
  std::string error;
  double enqueue_seconds = 0;    ///< M records into the queue while not connected (batch)
  double connect_seconds = 0;    ///< start() to the CONNACK (TLS handshake; not in either rate)
  double drain_seconds = 0;      ///< CONNACK to the last PUBACK of the backlog
  double live_seconds = 0;       ///< first live publish to its last PUBACK
  std::size_t records = 0;
  std::size_t drain_window = 0;  ///< most queue publishes seen in flight
  std::size_t live_window = 0;   ///< most live publishes seen in flight
  std::uint64_t resent = 0;
  std::uint64_t dropped = 0;
  StoreTimes drain_store;        ///< the agent's thread inside the queue's store during the drain
  double drain_cpu_seconds = 0;  ///< this process (all threads) during the drain
  double live_cpu_seconds = 0;
  double drain_broker_cpu_seconds = -1;  ///< mosquitto's CPU time (-1: unknown)
  double live_broker_cpu_seconds = -1;
  long drain_switches = 0;       ///< context switches of this process (all threads) during the drain
  long live_switches = 0;
  double drain_rate() const { return drain_seconds > 0 ? static_cast<double>(records) / drain_seconds : 0; }
  double live_rate() const { return live_seconds > 0 ? static_cast<double>(records) / live_seconds : 0; }
};

DrainResult drain_round(const Options& options);

/// Part 3.
struct BacklogResult {
  bool ok = false;
  bool skipped = false;
  std::string error;             ///< or why it was skipped / scaled down
  std::size_t records = 0;
  std::size_t payload_bytes = 0;
  double seconds = 0;
  long rss_before_kib = -1;      ///< VmRSS with the queue and store open, before the first record
  long rss_after_kib = -1;       ///< VmRSS after the last record
  long hwm_before_kib = -1;      ///< VmHWM at the start (after a reset where the kernel allows it)
  long hwm_after_kib = -1;
  long heap_before_kib = -1;     ///< bytes held by malloc (mallinfo2), before and after
  long heap_after_kib = -1;
  std::vector<std::pair<std::size_t, long>> rss_samples;  ///< (records so far, VmRSS KiB)
  std::uint64_t stored_bytes = 0;
  std::uint32_t segments = 0;
  std::uint64_t syncs = 0;
  std::uint64_t pending = 0;
};

BacklogResult backlog_run(const Options& options);

// ------------------------------------------------------------------------------------------------
// Helpers (util.cpp)

/// Seconds on a monotonic clock.
double now_seconds();
/// CPU time of this process (all threads, user + system), seconds.
double process_cpu_seconds();
/// Context switches (voluntary + involuntary) of this process, all threads, so far.
long process_context_switches();
/// CPU time of the test broker (TETHER_BROKER_DIR/mosquitto.pid), seconds; < 0 if unknown.
double broker_cpu_seconds();
/// A field of /proc/self/status in KiB ("VmRSS", "VmHWM"); -1 if unknown.
long proc_status_kib(const char* field);
/// Bytes currently allocated with malloc (glibc mallinfo2: arena + mmapped), KiB.
long heap_in_use_kib();
/// Resets VmHWM to the current RSS (/proc/self/clear_refs, 5). False if the kernel refuses.
bool reset_peak_rss();
/// Bytes available to an unprivileged user on the file system holding `path`; -1 if unknown.
long long free_bytes(const std::string& path);
/// True if `path` is on a tmpfs/ramfs (where fsync costs nothing and durability means nothing).
bool on_memory_fs(const std::string& path);
/// Payload bytes (deterministic, printable).
std::vector<std::uint8_t> make_payload(std::size_t size);
/// A fresh, non-zero boot id for a queue.
std::uint32_t make_boot_id();

/// A temporary directory below Options::base_dir, removed (recursively) on destruction.
class TempDir {
 public:
  TempDir(const std::string& base, const char* tag);
  ~TempDir();
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  bool ok() const { return !path_.empty(); }
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

}  // namespace tether::bench_offline
