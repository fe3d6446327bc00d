// Copyright 2026 The Tether Authors. SPDX-License-Identifier: Apache-2.0
//
// bench-offline: the durable offline queue next to what a device would otherwise use.
//   1. enqueue rate at each durability level: Tether OfflineQueue (PosixLogStore / RamLogStore)
//      vs a queue table in SQLite (WAL) vs Paho MQTT C's own file persistence (while offline);
//   2. drain rate of a backlog after an outage vs live QoS 1 publishing, same agent and window;
//   3. resident memory before and after a backlog of a million records.
// A benchmark, not a test: it prints numbers and the goals next to them, and never fails on them.
// See README.md; scripts/bench.sh offline runs it against a throw-away test broker.
//
// Exit codes: 0 done (a part skipped for want of a broker or disk space says so loudly), 1 bad usage,
// 3 a run failed (the report says why).

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <optional>
#include <string>
#include <vector>

#include "bench_offline.hpp"
#include "tether/offline/offline_queue.hpp"
#include "tether/offline/record.hpp"

namespace tether::bench_offline {
namespace {

[[noreturn]] void usage_error(const char* program, const std::string& problem) {
  if (!problem.empty()) std::fprintf(stderr, "bench-offline: %s\n", problem.c_str());
  std::fprintf(stderr,
               "usage: %s [--quick] [--records N] [--always-records N] [--rounds R] [--payload-bytes B]\n"
               "          [--batch N] [--segment-bytes B] [--drain-records N] [--drain-rounds R] [--window W]\n"
               "          [--backlog-records N] [--backlog-payload-bytes B] [--no-backlog] [--dir DIR]\n"
               "          [--only C] [--host H] [--port P] [--certs DIR] [--thing NAME] [--verbose]\n"
               "  --quick               1 round, 5000 records (1000 at \"always\"), 5000 to drain, no part 3\n"
               "                        (explicit flags still win)\n"
               "  --records N           part 1 records per round at \"batch\"/\"memory\" and for Paho (20000)\n"
               "  --always-records N    part 1 records per round at \"always\" (3000)\n"
               "  --rounds R            part 1 rounds per contender, alternating (3)\n"
               "  --payload-bytes B     payload of parts 1 and 2 (256)\n"
               "  --batch N             records per sync at \"batch\" (32), every contender\n"
               "  --segment-bytes B     PosixLogStore segment size in parts 1 and 2 (1048576)\n"
               "  --drain-records N     part 2 records per round (20000); --drain-rounds R (3)\n"
               "  --window W            QoS 1 publishes in flight, drain and live alike (20)\n"
               "  --backlog-records N   part 3 records (1000000); --backlog-payload-bytes B (64)\n"
               "  --no-backlog          skip part 3\n"
               "  --dir DIR             where the temporary stores go (default $TMPDIR or /tmp)\n"
               "  --only C              part 1 for one contender only: tether, sqlite or paho (for profiling)\n"
               "Part 2 needs the test broker: TETHER_BROKER_HOST/PORT/DIR (scripts/test-broker.sh, started\n"
               "with TETHER_TEST_DEVICES=bench-1) or --host/--port/--certs; certificate DIR/devices/<thing>.crt.\n"
               "scripts/bench.sh offline does it all.\n",
               program);
  std::exit(1);
}

std::size_t parse_count(const char* program, const std::string& flag, const char* text, std::size_t min,
                        std::size_t max) {
  char* end = nullptr;
  errno = 0;
  const unsigned long long value = std::strtoull(text, &end, 10);
  if (errno != 0 || end == text || *end != '\0' || text[0] == '-' || value < min || value > max) {
    usage_error(program, flag + " needs a number from " + std::to_string(min) + " to " + std::to_string(max) +
                             ", got '" + text + "'");
  }
  return static_cast<std::size_t>(value);
}

struct Explicit {
  std::optional<std::size_t> records, always_records, rounds, drain_records, drain_rounds;
  std::optional<bool> backlog;
};

void parse_args(int argc, char** argv, Options& options) {
  const char* program = argv[0];
  Explicit given;
  bool quick = false;
  std::string certs_dir;
  if (const char* env = std::getenv("TETHER_BROKER_HOST")) options.host = env;
  if (const char* env = std::getenv("TETHER_BROKER_PORT")) {
    options.port = static_cast<std::uint16_t>(parse_count(program, "TETHER_BROKER_PORT", env, 1, 65535));
  }
  if (const char* env = std::getenv("TETHER_BROKER_DIR")) certs_dir = env;
  const char* tmp = std::getenv("TMPDIR");
  options.base_dir = tmp != nullptr && *tmp != '\0' ? tmp : "/tmp";

  for (int i = 1; i < argc; ++i) {
    const std::string flag = argv[i];
    if (flag == "--help" || flag == "-h") usage_error(program, "");
    if (flag == "--quick") {
      quick = true;
      continue;
    }
    if (flag == "--no-backlog") {
      given.backlog = false;
      continue;
    }
    if (flag == "--verbose") {
      options.verbose = true;
      continue;
    }
    if (i + 1 >= argc) usage_error(program, flag + " needs a value");
    const char* value = argv[++i];
    if (flag == "--records") {
      given.records = parse_count(program, flag, value, 1, 10000000);
    } else if (flag == "--always-records") {
      given.always_records = parse_count(program, flag, value, 1, 10000000);
    } else if (flag == "--rounds") {
      given.rounds = parse_count(program, flag, value, 1, 100);
    } else if (flag == "--payload-bytes") {
      options.payload_bytes = parse_count(program, flag, value, 0, 8192);
    } else if (flag == "--batch") {
      options.batch_records = parse_count(program, flag, value, 1, 100000);
    } else if (flag == "--segment-bytes") {
      options.segment_bytes = static_cast<std::uint32_t>(parse_count(program, flag, value, 65536, 1u << 30));
    } else if (flag == "--drain-records") {
      given.drain_records = parse_count(program, flag, value, 1, 10000000);
    } else if (flag == "--drain-rounds") {
      given.drain_rounds = parse_count(program, flag, value, 0, 100);
    } else if (flag == "--window") {
      options.window = parse_count(program, flag, value, 1, kMaxQueueInflight);
    } else if (flag == "--backlog-records") {
      options.backlog_records = parse_count(program, flag, value, 1, 100000000);
      given.backlog = true;
    } else if (flag == "--backlog-payload-bytes") {
      options.backlog_payload_bytes = parse_count(program, flag, value, 0, 8192);
    } else if (flag == "--dir") {
      options.base_dir = value;
    } else if (flag == "--host") {
      options.host = value;
    } else if (flag == "--port") {
      options.port = static_cast<std::uint16_t>(parse_count(program, flag, value, 1, 65535));
    } else if (flag == "--certs") {
      certs_dir = value;
    } else if (flag == "--only") {
      options.only = value;
      if (options.only != "tether" && options.only != "sqlite" && options.only != "paho") {
        usage_error(program, "--only takes tether, sqlite or paho");
      }
    } else if (flag == "--thing") {
      options.thing_name = value;
    } else {
      usage_error(program, "unknown argument '" + flag + "'");
    }
  }
  if (quick) {
    options.records = 5000;
    options.always_records = 1000;
    options.rounds = 1;
    options.drain_records = 5000;
    options.drain_rounds = 1;
    options.backlog = false;
  }
  if (given.records) options.records = *given.records;
  if (given.always_records) options.always_records = *given.always_records;
  if (given.rounds) options.rounds = *given.rounds;
  if (given.drain_records) options.drain_records = *given.drain_records;
  if (given.drain_rounds) options.drain_rounds = *given.drain_rounds;
  if (given.backlog) options.backlog = *given.backlog;
  if (!certs_dir.empty()) {
    options.ca_file = certs_dir + "/ca.crt";
    options.cert_file = certs_dir + "/devices/" + options.thing_name + ".crt";
    options.key_file = certs_dir + "/devices/" + options.thing_name + ".key";
  }
}

double median(std::vector<double> values) {
  if (values.empty()) return 0;
  std::sort(values.begin(), values.end());
  const std::size_t mid = values.size() / 2;
  return values.size() % 2 == 1 ? values[mid] : (values[mid - 1] + values[mid]) / 2;
}

// Writes back what earlier runs left dirty in the page cache, so that it does not land on the
// next contender's syncs. Not timed.
void settle_disk(const std::string& dir) {
  const int fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) return;
  static_cast<void>(::syncfs(fd));  // best effort
  ::close(fd);
}

struct Contender {
  const char* label;   // column text
  Level level;
  enum Kind { kTether, kTetherRam, kSqlite, kSqliteRam, kPaho } kind;
  std::vector<double> rates;
  std::vector<long> heap_growth;
  std::string note;
  std::uint64_t syncs = 0;
};

EnqueueResult run_contender(const Options& options, const Contender& c) {
  const std::size_t count = c.level == Level::kAlways ? options.always_records : options.records;
  switch (c.kind) {
    case Contender::kTether: return enqueue_tether(options, c.level, MemoryStore::kPosixNeverSynced, count);
    case Contender::kTetherRam: return enqueue_tether(options, c.level, MemoryStore::kRam, count);
    case Contender::kSqlite: return enqueue_sqlite(options, c.level, count);
    case Contender::kSqliteRam: return enqueue_sqlite(options, c.level, count, true);
    case Contender::kPaho: return enqueue_paho(options, count);
  }
  return EnqueueResult{};
}

std::string format_rate(double rate) {
  if (rate <= 0) return "n/a";
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.0f", rate);
  return buf;
}

std::string format_ratio(double a, double b) {
  if (a <= 0 || b <= 0) return "n/a";
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.3f", a / b);
  return buf;
}

int run(int argc, char** argv) {
  Options options;
  parse_args(argc, argv, options);
  bool incomplete = false;

  const std::size_t record_bytes = offline::kRecordOverhead + options.topic.size() + options.payload_bytes;
  std::printf("bench-offline: %zu-byte payloads to '%s' (a Tether record is %zu bytes), "
              "one sync per %zu records at \"batch\"\n",
              options.payload_bytes, options.topic.c_str(), record_bytes, options.batch_records);
  std::printf("  stores in %s (temporary directories, removed after each run)%s\n", options.base_dir.c_str(),
              on_memory_fs(options.base_dir) ? " -- WARNING: a tmpfs/ramfs: syncs cost nothing here, the "
                                               "durability comparison is meaningless (use --dir on a disk)"
                                             : "");
  std::printf("  SQLite %s, Paho MQTT C %s (as reported by the libraries)\n", sqlite_version(),
              paho_version().c_str());
#ifdef NDEBUG
  std::printf("  release build\n");
#else
  std::printf("  WARNING: debug build (no NDEBUG): Tether's own CPU cost is overstated; use the release preset\n");
#endif
  std::printf("\n");
  std::fflush(stdout);

  // ---------------------------------------------------------------------------------------------
  // Part 1
  std::printf("Part 1: enqueue rate while offline, records/s (%zu records per run at memory/batch and for Paho,\n"
              "  %zu at always; %zu rounds, contenders alternate, Paho in round 1 only; the file system is synced\n"
              "  before each run, untimed)\n",
              options.records, options.always_records, options.rounds);
  double part_start = now_seconds();
  std::vector<Contender> contenders = {
      {"tether  PosixLogStore, queue never syncs", Level::kMemory, Contender::kTether, {}, {}, {}, 0},
      {"tether  RamLogStore", Level::kMemory, Contender::kTetherRam, {}, {}, {}, 0},
      {"sqlite  WAL, synchronous=OFF, COMMIT per batch", Level::kMemory, Contender::kSqlite, {}, {}, {}, 0},
      {"paho    file persistence, QoS 1 while offline", Level::kMemory, Contender::kPaho, {}, {}, {}, 0},
      {"tether  PosixLogStore, sync per batch", Level::kBatch, Contender::kTether, {}, {}, {}, 0},
      {"sqlite  WAL, synchronous=FULL, COMMIT per batch", Level::kBatch, Contender::kSqlite, {}, {}, {}, 0},
      {"tether  PosixLogStore, sync per record", Level::kAlways, Contender::kTether, {}, {}, {}, 0},
      {"sqlite  WAL, synchronous=FULL, COMMIT per record", Level::kAlways, Contender::kSqlite, {}, {}, {}, 0},
      {"sqlite  :memory: database, COMMIT per batch", Level::kMemory, Contender::kSqliteRam, {}, {}, {}, 0},
  };
  for (std::size_t round = 1; round <= options.rounds; ++round) {
    // Alternate who goes first within each level from round to round.
    std::vector<std::size_t> order;
    for (Level level : {Level::kMemory, Level::kBatch, Level::kAlways}) {
      std::vector<std::size_t> same;
      for (std::size_t i = 0; i < contenders.size(); ++i) {
        if (contenders[i].level == level) same.push_back(i);
      }
      if (round % 2 == 0) std::reverse(same.begin(), same.end());
      order.insert(order.end(), same.begin(), same.end());
    }
    for (std::size_t i : order) {
      Contender& c = contenders[i];
      const bool is_tether = c.kind == Contender::kTether || c.kind == Contender::kTetherRam;
      const bool is_sqlite = c.kind == Contender::kSqlite || c.kind == Contender::kSqliteRam;
      if (!options.only.empty() && ((options.only == "tether") != is_tether || (options.only == "sqlite") != is_sqlite)) {
        continue;
      }
      // Paho takes seconds per run (one file per message): once is enough to place it.
      if (c.kind == Contender::kPaho && round > 1 && options.only != "paho") continue;
      settle_disk(options.base_dir);
      const EnqueueResult r = run_contender(options, c);
      if (!r.ok) {
        std::printf("  %-6s %-48s round %zu  FAILED: %s\n", level_name(c.level), c.label, round, r.error.c_str());
        incomplete = true;
        continue;
      }
      c.rates.push_back(r.rate());
      c.heap_growth.push_back(r.heap_growth_kib);
      c.note = r.note;
      c.syncs = r.syncs;
      std::printf("  %-6s %-48s round %zu %9.0f rec/s %7.3f s  %5llu %s  heap %+6ld KiB  %s\n", level_name(c.level),
                  c.label, round, r.rate(), r.seconds, static_cast<unsigned long long>(r.syncs),
                  is_sqlite ? "commits" : "syncs  ", r.heap_growth_kib, r.note.c_str());
      std::fflush(stdout);
    }
  }
  const auto med = [&](std::size_t i) { return median(contenders[i].rates); };
  const double memory_tether = med(0);
  const double memory_ram = med(1);
  const double memory_sqlite = med(2);
  const double paho = med(3);
  const double batch_tether = med(4);
  const double batch_sqlite = med(5);
  const double always_tether = med(6);
  const double always_sqlite = med(7);
  const double ram_sqlite = med(8);
  std::printf("\n  level    tether rec/s  sqlite rec/s  tether/sqlite  goal\n");
  std::printf("  ram      %12s  %12s  %13s  >= 3 (RamLogStore vs an in-memory database: lost on any crash)\n",
              format_rate(memory_ram).c_str(), format_rate(ram_sqlite).c_str(),
              format_ratio(memory_ram, ram_sqlite).c_str());
  std::printf("  memory   %12s  %12s  %13s  >= 3 (files never synced: survive kill -9, not a power cut)\n",
              format_rate(memory_tether).c_str(), format_rate(memory_sqlite).c_str(),
              format_ratio(memory_tether, memory_sqlite).c_str());
  std::printf("  batch    %12s  %12s  %13s  >= 3 (sync every %zu records on both sides)\n",
              format_rate(batch_tether).c_str(), format_rate(batch_sqlite).c_str(),
              format_ratio(batch_tether, batch_sqlite).c_str(), options.batch_records);
  std::printf("  always   %12s  %12s  %13s  >= 3 (one sync per record on both sides: bounded by the disk)\n",
              format_rate(always_tether).c_str(), format_rate(always_sqlite).c_str(),
              format_ratio(always_tether, always_sqlite).c_str());
  std::printf("  paho file persistence: %s rec/s (tether memory / paho = %s)\n", format_rate(paho).c_str(),
              format_ratio(memory_tether, paho).c_str());
  if (!contenders[3].heap_growth.empty()) {
    const long growth = contenders[3].heap_growth.back();
    std::printf("    Paho accepted QoS 1 publishes without ever connecting (sendWhileDisconnected +\n"
                "    allowDisconnectedSendAtAnyTime): %s.\n"
                "    Durability: Paho's default persistence writes one file per message (fopen/fwrite/fclose) and\n"
                "    never calls fsync or fdatasync (MQTTPersistenceDefault.c; the library does not even import\n"
                "    them), so a message survives a crash of the process, not a power cut: the level of \"memory\"\n"
                "    here, not \"batch\". Paho also keeps every buffered message in RAM (its heap grew %ld KiB for\n"
                "    %zu messages, %.0f bytes each; maxBufferedMessages bounds the backlog).\n",
                contenders[3].note.c_str(), growth, options.records,
                growth > 0 ? static_cast<double>(growth) * 1024.0 / static_cast<double>(options.records) : 0.0);
  }
  std::printf("  (part 1 took %.1f s)\n\n", now_seconds() - part_start);
  std::fflush(stdout);

  // ---------------------------------------------------------------------------------------------
  // Part 2
  double drain = 0;
  double live = 0;
  const bool have_broker = options.port != 0 && !options.cert_file.empty();
  if (options.drain_rounds == 0) {
    std::printf("Part 2: skipped (--drain-rounds 0)\n\n");
  } else if (!have_broker) {
    std::printf("Part 2: SKIPPED -- no broker: set TETHER_BROKER_HOST/PORT/DIR (scripts/test-broker.sh start DIR\n"
                "  with TETHER_TEST_DEVICES=%s) or pass --host/--port/--certs; scripts/bench.sh offline does it.\n\n",
                options.thing_name.c_str());
  } else if (::access(options.cert_file.c_str(), R_OK) != 0) {
    std::printf("Part 2: SKIPPED -- no certificate %s: the broker must issue one for %s (start\n"
                "  scripts/test-broker.sh with TETHER_TEST_DEVICES=%s; its ACL allows %s only to that device).\n\n",
                options.cert_file.c_str(), options.thing_name.c_str(), options.thing_name.c_str(),
                options.topic.c_str());
  } else {
    std::printf("Part 2: drain after an outage vs live QoS 1, %zu records of %zu bytes per round, window %zu, "
                "%s:%u as %s (MQTT 5, TLS)\n",
                options.drain_records, options.payload_bytes, options.window, options.host.c_str(),
                static_cast<unsigned>(options.port), options.thing_name.c_str());
    part_start = now_seconds();
    std::vector<double> drains;
    std::vector<double> lives;
    for (std::size_t round = 1; round <= options.drain_rounds; ++round) {
      settle_disk(options.base_dir);
      const DrainResult r = drain_round(options);
      if (!r.ok) {
        std::printf("  round %zu FAILED: %s\n", round, r.error.c_str());
        incomplete = true;
        continue;
      }
      drains.push_back(r.drain_rate());
      lives.push_back(r.live_rate());
      std::printf("  round %zu  enqueue offline %8.0f rec/s  connect %5.3f s  drain %8.0f rec/s (%6.3f s, window %zu, "
                  "%llu resent)  live %8.0f msg/s (%6.3f s, window %zu)  drain/live %.3f\n",
                  round, static_cast<double>(r.records) / r.enqueue_seconds, r.connect_seconds, r.drain_rate(),
                  r.drain_seconds, r.drain_window, static_cast<unsigned long long>(r.resent), r.live_rate(),
                  r.live_seconds, r.live_window, r.drain_rate() / r.live_rate());
      const StoreTimes& st = r.drain_store;
      const double in_store = st.read.seconds + st.append.seconds + st.sync.seconds + st.roll.seconds +
                              st.drop_head.seconds;
      const double n = static_cast<double>(r.records);
      const auto broker_us = [n](double seconds) {
        if (seconds < 0) return std::string("n/a");
        char text[32];
        std::snprintf(text, sizeof text, "%.1f", seconds * 1e6 / n);
        return std::string(text);
      };
      std::printf("           per message, drain vs live: CPU of this process %.1f vs %.1f us, of the broker %s vs %s us; "
                  "context switches %.2f vs %.2f\n",
                  r.drain_cpu_seconds * 1e6 / n, r.live_cpu_seconds * 1e6 / n,
                  broker_us(r.drain_broker_cpu_seconds).c_str(), broker_us(r.live_broker_cpu_seconds).c_str(),
                  static_cast<double>(r.drain_switches) / n, static_cast<double>(r.live_switches) / n);
      std::printf("           in the store during the drain: %.0f ms (%.0f%% of it): sync %.1f ms (%llu), "
                  "drop_head %.1f ms (%llu), read %.1f ms (%llu), append %.1f ms (%llu), roll %.1f ms (%llu)\n",
                  in_store * 1e3, 100.0 * in_store / r.drain_seconds, st.sync.seconds * 1e3,
                  static_cast<unsigned long long>(st.sync.calls), st.drop_head.seconds * 1e3,
                  static_cast<unsigned long long>(st.drop_head.calls), st.read.seconds * 1e3,
                  static_cast<unsigned long long>(st.read.calls), st.append.seconds * 1e3,
                  static_cast<unsigned long long>(st.append.calls), st.roll.seconds * 1e3,
                  static_cast<unsigned long long>(st.roll.calls));
      std::fflush(stdout);
    }
    drain = median(drains);
    live = median(lives);
    std::printf("  median: drain %s rec/s, live %s msg/s, drain/live %s (goal >= 0.9)\n", format_rate(drain).c_str(),
                format_rate(live).c_str(), format_ratio(drain, live).c_str());
    std::printf("  (drained records also carry the message id as an MQTT 5 user property, about 45 bytes more on\n"
                "   the wire than a live publish; the drain reads the records back from the store and deletes each\n"
                "   segment once all its records are acknowledged)\n");
    std::printf("  (part 2 took %.1f s)\n\n", now_seconds() - part_start);
  }

  // ---------------------------------------------------------------------------------------------
  // Part 3
  long rss_before = -1;
  long rss_after = -1;
  if (!options.backlog) {
    std::printf("Part 3: skipped (--quick or --no-backlog)\n\n");
  } else {
    std::printf("Part 3: resident memory with a backlog of %zu records (%zu-byte payloads, \"batch\", segments of %u "
                "MiB, at most %zu)\n",
                options.backlog_records, options.backlog_payload_bytes,
                static_cast<unsigned>(options.backlog_segment_bytes >> 20), kMaxQueueSegments);
    std::fflush(stdout);
    settle_disk(options.base_dir);
    part_start = now_seconds();
    const BacklogResult r = backlog_run(options);
    if (!r.error.empty()) std::printf("  NOTE: %s\n", r.error.c_str());
    if (!r.skipped && !r.ok) incomplete = true;
    if (r.ok) {
      rss_before = r.rss_before_kib;
      rss_after = r.rss_after_kib;
      std::printf("  %zu records in %.2f s (%.0f rec/s, %llu syncs), %.1f MiB in %u segments, %llu pending\n",
                  r.records, r.seconds, static_cast<double>(r.records) / r.seconds,
                  static_cast<unsigned long long>(r.syncs), static_cast<double>(r.stored_bytes) / 1048576.0,
                  static_cast<unsigned>(r.segments), static_cast<unsigned long long>(r.pending));
      std::printf("  VmRSS by records enqueued:");
      for (const auto& sample : r.rss_samples) std::printf(" %zu:%ld", sample.first, sample.second);
      std::printf(" KiB\n");
      std::printf("  rss_before_kb=%ld rss_after_kb=%ld (%+ld KiB, %.2f bytes per record); VmHWM %ld -> %ld KiB; "
                  "malloc'd %ld -> %ld KiB (goal: flat)\n",
                  rss_before, rss_after, rss_after - rss_before,
                  static_cast<double>(rss_after - rss_before) * 1024.0 / static_cast<double>(r.records),
                  r.hwm_before_kib, r.hwm_after_kib, r.heap_before_kib, r.heap_after_kib);
    }
    std::printf("  (part 3 took %.1f s)\n\n", now_seconds() - part_start);
  }

  const auto kb = [](long v) { return v >= 0 ? std::to_string(v) : std::string("n/a"); };
  std::printf("BENCH offline enqueue_batch_tether=%s enqueue_batch_sqlite=%s enqueue_always_tether=%s "
              "enqueue_always_sqlite=%s enqueue_memory_tether=%s enqueue_memory_sqlite=%s enqueue_ram_tether=%s "
              "enqueue_ram_sqlite=%s paho_persist=%s drain=%s live=%s rss_before_kb=%s rss_after_kb=%s "
              "ratio_sqlite_ram=%s ratio_sqlite_memory=%s ratio_sqlite_always=%s ratio_sqlite=%s ratio_drain=%s\n",
              format_rate(batch_tether).c_str(), format_rate(batch_sqlite).c_str(), format_rate(always_tether).c_str(),
              format_rate(always_sqlite).c_str(), format_rate(memory_tether).c_str(),
              format_rate(memory_sqlite).c_str(), format_rate(memory_ram).c_str(), format_rate(ram_sqlite).c_str(),
              format_rate(paho).c_str(), format_rate(drain).c_str(), format_rate(live).c_str(), kb(rss_before).c_str(),
              kb(rss_after).c_str(), format_ratio(memory_ram, ram_sqlite).c_str(),
              format_ratio(memory_tether, memory_sqlite).c_str(), format_ratio(always_tether, always_sqlite).c_str(),
              format_ratio(batch_tether, batch_sqlite).c_str(), format_ratio(drain, live).c_str());
  return incomplete ? 3 : 0;
}

}  // namespace
}  // namespace tether::bench_offline

int main(int argc, char** argv) { return tether::bench_offline::run(argc, argv); }
