// Copyright 2026 The Tether Authors. SPDX-License-Identifier: Apache-2.0
//
// Part 1: how fast can a device put records into durable storage while it is offline?
//
// - Tether: OfflineQueue::publish() into one stream on a PosixLogStore (or a RamLogStore), agent
//   never connected. "batch": the queue syncs every batch_records records (its batch_interval
//   timer never fires here: run_once() is not called); "always": one sync per record; "memory":
//   no sync at all.
// - SQLite: the queue a user would write: a WAL-mode database with one table (id INTEGER PRIMARY
//   KEY, topic TEXT, payload BLOB, created INTEGER) and one prepared INSERT, committing a
//   transaction every batch_records records ("batch", synchronous=FULL: the commit syncs the WAL),
//   every record ("always", synchronous=FULL) or every batch_records records with synchronous=OFF
//   ("memory": never synced).
// - Paho MQTT C: MQTTAsync_sendMessage() of QoS 1 messages on a client that has never connected,
//   created with sendWhileDisconnected and allowDisconnectedSendAtAnyTime and the default file
//   persistence: Paho writes each queued command to its own file (and keeps it in RAM too).
//
// Each timed loop ends with what makes its records as durable as its level promises (the last
// sync or COMMIT), so every contender is timed to the same point.

#include <MQTTAsync.h>
#include <sqlite3.h>

#include <chrono>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <memory>
#include <string>
#include <system_error>
#include <vector>

#include "agent_rig.hpp"
#include "bench_offline.hpp"
#include "tether/offline/offline_queue.hpp"
#include "tether/offline/ram_log_store.hpp"
#include "tether/port/posix/posix_log_store.hpp"

namespace tether::bench_offline {
namespace {

Durability durability_of(Level level) {
  switch (level) {
    case Level::kMemory: return Durability::kMemory;
    case Level::kBatch: return Durability::kBatch;
    case Level::kAlways: return Durability::kAlways;
  }
  return Durability::kBatch;
}

std::int64_t wall_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch())
      .count();
}

std::size_t count_files(const std::string& dir) {
  std::size_t files = 0;
  std::error_code ec;
  for (auto it = std::filesystem::recursive_directory_iterator(dir, ec);
       !ec && it != std::filesystem::recursive_directory_iterator(); it.increment(ec)) {
    if (it->is_regular_file(ec)) ++files;
  }
  return files;
}

std::uint64_t dir_bytes(const std::string& dir) {
  std::uint64_t bytes = 0;
  std::error_code ec;
  for (auto it = std::filesystem::recursive_directory_iterator(dir, ec);
       !ec && it != std::filesystem::recursive_directory_iterator(); it.increment(ec)) {
    if (it->is_regular_file(ec)) bytes += it->file_size(ec);
  }
  return bytes;
}

}  // namespace

EnqueueResult enqueue_tether(const Options& options, Level level, MemoryStore memory_store, std::size_t count) {
  EnqueueResult result;
  TempDir dir(options.base_dir, "tether");
  if (!dir.ok()) {
    result.error = "cannot create a temporary directory in " + options.base_dir;
    return result;
  }
  std::unique_ptr<AgentRig> rig = make_rig(options, false, "bench-enqueue", result.error);
  if (!rig) return result;

  QueueSettings queue_settings;
  queue_settings.max_inflight = static_cast<std::uint16_t>(options.window);
  queue_settings.boot_id = make_boot_id();
  auto queue = std::make_unique<OfflineQueue>(*rig->agent, queue_settings);

  const std::vector<std::uint8_t> payload = make_payload(options.payload_bytes);
  std::unique_ptr<port::LogStore> store;
  std::vector<std::uint8_t> ram;
  const bool use_ram = level == Level::kMemory && memory_store == MemoryStore::kRam;
  if (use_ram) {
    // 64 segments, together ~1.5x what the records need (at least 256 KiB each); touched before
    // the timed loop, like the static buffer a device would give it.
    constexpr std::size_t kSegments = 64;
    const std::size_t record = offline::kRecordOverhead + options.topic.size() + options.payload_bytes;
    std::size_t segment = (count * record * 3 / 2) / (kSegments - 2);
    if (segment < 256 * 1024) segment = 256 * 1024;
    segment = (segment + 4095) / 4096 * 4096;
    ram.assign(segment * kSegments, 0);
    store = std::make_unique<offline::RamLogStore>(Span<std::uint8_t>(ram.data(), ram.size()), kSegments);
  } else {
    port::PosixLogStoreSettings settings;
    settings.directory = dir.path() + "/queue";
    settings.segment_bytes = options.segment_bytes;
    settings.max_segments = kMaxQueueSegments;
    store = std::make_unique<port::PosixLogStore>(std::move(settings));
  }

  StreamSettings stream;
  stream.name = "telemetry";
  stream.durability = durability_of(level);
  stream.batch_records = static_cast<std::uint32_t>(options.batch_records);
  stream.overflow = OverflowPolicy::kReject;  // a full store is a benchmark error, not silent loss
  Result<StreamId> id = queue->add_stream(stream, *store);
  if (!id.ok()) {
    result.error = "add_stream failed: " + status_text(id.status());
    return result;
  }
  const Span<const std::uint8_t> bytes(payload.data(), payload.size());

  const long heap_before = heap_in_use_kib();
  const double start = now_seconds();
  for (std::size_t i = 0; i < count; ++i) {
    Result<std::uint64_t> seq = queue->publish(*id, options.topic, bytes);
    if (!seq.ok()) {
      result.error = "publish " + std::to_string(i) + " failed: " + status_text(seq.status());
      return result;
    }
  }
  if (level != Level::kMemory) {
    const Status flushed = queue->flush();
    if (!flushed.ok()) {
      result.error = "flush failed: " + status_text(flushed);
      return result;
    }
  }
  result.seconds = now_seconds() - start;
  result.heap_growth_kib = heap_in_use_kib() - heap_before;
  const StreamStats& stats = queue->stats(*id);
  result.records = static_cast<std::size_t>(stats.enqueued);
  result.syncs = stats.syncs;
  result.ok = result.records == count;
  if (!result.ok) result.error = "only " + std::to_string(result.records) + " records accepted";
  char note[128];
  std::snprintf(note, sizeof note, "%u segment(s), %.1f MiB stored", static_cast<unsigned>(stats.segments),
                static_cast<double>(stats.stored_bytes) / (1024.0 * 1024.0));
  result.note = note;
  queue->close().ignore();  // deliberately unchecked: the run is over, the directory goes next
  queue.reset();
  return result;
}

const char* sqlite_version() { return sqlite3_libversion(); }

EnqueueResult enqueue_sqlite(const Options& options, Level level, std::size_t count, bool in_ram) {
  EnqueueResult result;
  TempDir dir(options.base_dir, "sqlite");
  if (!dir.ok()) {
    result.error = "cannot create a temporary directory in " + options.base_dir;
    return result;
  }
  const std::string path = in_ram ? std::string(":memory:") : dir.path() + "/queue.db";
  sqlite3* db = nullptr;
  sqlite3_stmt* insert = nullptr;
  sqlite3_stmt* begin = nullptr;
  sqlite3_stmt* commit = nullptr;
  const auto fail = [&](const std::string& what) {
    result.error = what + ": " + (db != nullptr ? sqlite3_errmsg(db) : "no database");
    sqlite3_finalize(insert);
    sqlite3_finalize(begin);
    sqlite3_finalize(commit);
    sqlite3_close(db);
    return result;
  };
  if (sqlite3_open_v2(path.c_str(), &db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, nullptr) != SQLITE_OK) {
    return fail("open " + path);
  }
  // journal_mode answers with the mode in force: make sure WAL (in memory: MEMORY) really is on.
  const char* want_journal = in_ram ? "memory" : "wal";
  const std::string journal_pragma = std::string("PRAGMA journal_mode=") + want_journal;
  sqlite3_stmt* mode = nullptr;
  if (sqlite3_prepare_v2(db, journal_pragma.c_str(), -1, &mode, nullptr) != SQLITE_OK ||
      sqlite3_step(mode) != SQLITE_ROW) {
    sqlite3_finalize(mode);
    return fail(journal_pragma);
  }
  const std::string journal = reinterpret_cast<const char*>(sqlite3_column_text(mode, 0));
  sqlite3_finalize(mode);
  if (journal != want_journal) return fail("journal_mode is '" + journal + "', not " + want_journal);
  const char* sync_pragma = level == Level::kMemory ? "PRAGMA synchronous=OFF" : "PRAGMA synchronous=FULL";
  if (sqlite3_exec(db, sync_pragma, nullptr, nullptr, nullptr) != SQLITE_OK) return fail(sync_pragma);
  if (sqlite3_exec(db,
                   "CREATE TABLE queue (id INTEGER PRIMARY KEY, topic TEXT NOT NULL, payload BLOB NOT NULL, "
                   "created INTEGER NOT NULL)",
                   nullptr, nullptr, nullptr) != SQLITE_OK) {
    return fail("CREATE TABLE");
  }
  if (sqlite3_prepare_v2(db, "INSERT INTO queue (topic, payload, created) VALUES (?1, ?2, ?3)", -1, &insert,
                         nullptr) != SQLITE_OK ||
      sqlite3_prepare_v2(db, "BEGIN", -1, &begin, nullptr) != SQLITE_OK ||
      sqlite3_prepare_v2(db, "COMMIT", -1, &commit, nullptr) != SQLITE_OK) {
    return fail("prepare");
  }
  const std::vector<std::uint8_t> payload = make_payload(options.payload_bytes);
  const std::size_t group = level == Level::kAlways ? 1 : options.batch_records;
  const auto step = [](sqlite3_stmt* stmt) {
    const int rc = sqlite3_step(stmt);
    sqlite3_reset(stmt);
    return rc == SQLITE_DONE;
  };

  const long heap_before = heap_in_use_kib();
  const double start = now_seconds();
  std::size_t in_group = 0;
  for (std::size_t i = 0; i < count; ++i) {
    if (in_group == 0 && !step(begin)) return fail("BEGIN");
    sqlite3_bind_text(insert, 1, options.topic.data(), static_cast<int>(options.topic.size()), SQLITE_STATIC);
    sqlite3_bind_blob(insert, 2, payload.data(), static_cast<int>(payload.size()), SQLITE_STATIC);
    sqlite3_bind_int64(insert, 3, wall_ms());
    if (!step(insert)) return fail("INSERT " + std::to_string(i));
    if (++in_group == group || i + 1 == count) {
      if (!step(commit)) return fail("COMMIT");
      ++result.syncs;
      in_group = 0;
    }
  }
  result.seconds = now_seconds() - start;
  result.heap_growth_kib = heap_in_use_kib() - heap_before;
  result.records = count;
  sqlite3_finalize(insert);
  sqlite3_finalize(begin);
  sqlite3_finalize(commit);
  char note[128];
  std::snprintf(note, sizeof note, "%.1f MiB in database + WAL", static_cast<double>(dir_bytes(dir.path())) /
                                                                      (1024.0 * 1024.0));
  result.note = note;
  sqlite3_close(db);
  result.ok = true;
  return result;
}

std::string paho_version() {
  MQTTAsync_nameValue* info = MQTTAsync_getVersionInfo();
  for (; info != nullptr && info->name != nullptr; ++info) {
    if (std::strcmp(info->name, "Version") == 0) return info->value;
  }
  return "unknown";
}

EnqueueResult enqueue_paho(const Options& options, std::size_t count) {
  EnqueueResult result;
  TempDir dir(options.base_dir, "paho");
  if (!dir.ok()) {
    result.error = "cannot create a temporary directory in " + options.base_dir;
    return result;
  }
  MQTTAsync_createOptions create = MQTTAsync_createOptions_initializer5;
  create.sendWhileDisconnected = 1;
  create.allowDisconnectedSendAtAnyTime = 1;  // we never connect: buffer before a first connect too
  create.maxBufferedMessages = static_cast<int>(count + 16);
  create.deleteOldestMessages = 0;
  create.restoreMessages = 0;
  MQTTAsync client = nullptr;
  const std::string client_id = options.thing_name + "-bench-paho-persist";
  // Never connected: the address only names the persistence sub-directory.
  int rc = MQTTAsync_createWithOptions(&client, "ssl://127.0.0.1:8883", client_id.c_str(),
                                       MQTTCLIENT_PERSISTENCE_DEFAULT, const_cast<char*>(dir.path().c_str()),
                                       &create);
  if (rc != MQTTASYNC_SUCCESS) {
    result.error = "MQTTAsync_createWithOptions failed: " + std::string(MQTTAsync_strerror(rc));
    return result;
  }
  std::vector<std::uint8_t> payload = make_payload(options.payload_bytes);

  const long heap_before = heap_in_use_kib();
  const double start = now_seconds();
  std::size_t accepted = 0;
  // The cost of a call as the backlog grows: the first and the last tenth of the calls, timed.
  const std::size_t tenth = count / 10;
  double first_tenth_end = 0;
  double last_tenth_start = 0;
  for (std::size_t i = 0; i < count; ++i) {
    if (tenth > 0 && i == tenth) first_tenth_end = now_seconds();
    if (tenth > 0 && i == count - tenth) last_tenth_start = now_seconds();
    MQTTAsync_message message = MQTTAsync_message_initializer;
    message.payload = payload.data();
    message.payloadlen = static_cast<int>(payload.size());
    message.qos = 1;
    message.retained = 0;
    MQTTAsync_responseOptions response = MQTTAsync_responseOptions_initializer;
    rc = MQTTAsync_sendMessage(client, options.topic.c_str(), &message, &response);
    if (rc != MQTTASYNC_SUCCESS) {
      result.error = "MQTTAsync_sendMessage " + std::to_string(i) + " while disconnected failed: " +
                     MQTTAsync_strerror(rc) + " (" + std::to_string(rc) + ")";
      break;
    }
    ++accepted;
  }
  const double end = now_seconds();
  result.seconds = end - start;
  result.heap_growth_kib = heap_in_use_kib() - heap_before;
  result.records = accepted;
  // Did Paho really put them into its persistence store, or only into RAM?
  const std::size_t files = count_files(dir.path());
  char note[256];
  std::snprintf(note, sizeof note, "%zu files (%.1f MiB) for %zu messages", files,
                static_cast<double>(dir_bytes(dir.path())) / (1024.0 * 1024.0), accepted);
  result.note = note;
  if (accepted == count && tenth > 0 && first_tenth_end > start && end > last_tenth_start) {
    std::snprintf(note, sizeof note, "; first tenth of the calls %.0f/s, last tenth %.0f/s",
                  static_cast<double>(tenth) / (first_tenth_end - start),
                  static_cast<double>(tenth) / (end - last_tenth_start));
    result.note += note;
  }
  MQTTAsync_destroy(&client);
  result.ok = result.error.empty();
  return result;
}

}  // namespace tether::bench_offline
