// Copyright 2026 The Tether Authors. SPDX-License-Identifier: Apache-2.0
//
// offline-agent: telemetry that survives a missing broker, a restart and a crash.
//   - reads a configuration file with an `offline_queue` section (docs/configuration.md),
//   - opens one PosixLogStore per configured stream in `<directory>/<stream name>/` (segment files
//     of `segment_bytes`, at most `max_segments` of them) and recovers what a previous run left,
//   - connects over mutual TLS and keeps reconnecting with backoff, like minimal-agent,
//   - publishes `{"n":<n>}` to dt/<thing>/telemetry through the first stream; the queue stores
//     every record before it is sent and sends it again (same message id, MQTT 5 user property
//     `tether-msg-id`) until the broker acknowledges it,
//   - with `"encrypt": true` on a stream, stores its payloads sealed with AES-256-GCM under the key in
//     `offline_queue.key_file` (exactly 32 bytes, mode 0600 or stricter; docs/offline.md),
//   - exits cleanly on SIGINT or SIGTERM (queue.close() first, then DISCONNECT).
//
// Usage: offline-agent CONFIG.json [--count N] [--start K] [--interval-ms MS] [--drain-only] [--stay]
//   --count N        publish N records (n = K .. K+N-1), then run until the queue is drained and
//                    exit 0; without --count it publishes until stopped
//   --start K        first n (default 0)
//   --interval-ms MS time between records (default 1000; 0 = as fast as the queue takes them, the
//                    agent loop still runs between records)
//   --drain-only     publish nothing; exit 0 once connected at least once and drained
//   --stay           do not exit when drained: run until SIGINT/SIGTERM
//
// stdout, one line per record, flushed at once (a test harness reads them):
//   QUEUED <n> <seq>       the queue accepted record n as sequence number seq (with "durability":
//                          "always" the record is on disk when this line is written)
//   REFUSED <n> <status>   publish() refused it (e.g. resource_exhausted/store/28: disk full); but
//                          data_loss/store/<errno>: queued, the sync failed (may not be durable)
// stderr: the agent's log, `boot id <8 hex>` at start and the queue's counters at exit.
// Exit codes: 0 clean stop or drained, 1 bad usage or configuration, 2 the queue could not be
// opened or recovered (the error names the directory).

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cinttypes>
#include <csignal>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <optional>
#include <string>

#include "example_support.hpp"
#include "tether/agent.hpp"
#include "tether/offline/offline_queue.hpp"
#if TETHER_EXAMPLE_HAVE_MBEDTLS
#include "tether/port/mbedtls/mbed_crypto.hpp"
#endif
#include "tether/port/paho/paho_mqtt_client.hpp"
#include "tether/port/posix/config_file.hpp"
#include "tether/port/posix/posix_clock.hpp"
#include "tether/port/posix/posix_log_store.hpp"
#include "tether/port/posix/stderr_log_sink.hpp"

namespace {

struct Options {
  const char* config = nullptr;
  bool counted = false;  // --count given
  std::uint64_t count = 0;
  std::uint64_t start = 0;
  std::uint64_t interval_ms = 1000;
  bool drain_only = false;
  bool stay = false;
};

bool parse_number(const char* text, std::uint64_t* out) {
  if (text == nullptr || *text < '0' || *text > '9') return false;
  errno = 0;
  char* end = nullptr;
  const unsigned long long value = std::strtoull(text, &end, 10);
  if (errno != 0 || *end != '\0') return false;
  *out = value;
  return true;
}

bool parse_options(int argc, char** argv, Options* o) {
  for (int i = 1; i < argc; ++i) {
    const char* arg = argv[i];
    const char* value = i + 1 < argc ? argv[i + 1] : nullptr;
    if (std::strcmp(arg, "--count") == 0) {
      if (!parse_number(value, &o->count)) return false;
      o->counted = true;
      ++i;
    } else if (std::strcmp(arg, "--start") == 0) {
      if (!parse_number(value, &o->start)) return false;
      ++i;
    } else if (std::strcmp(arg, "--interval-ms") == 0) {
      if (!parse_number(value, &o->interval_ms) || o->interval_ms > 3600000) return false;
      ++i;
    } else if (std::strcmp(arg, "--drain-only") == 0) {
      o->drain_only = true;
    } else if (std::strcmp(arg, "--stay") == 0) {
      o->stay = true;
    } else if (arg[0] == '-' || o->config != nullptr) {
      return false;
    } else {
      o->config = arg;
    }
  }
  return o->config != nullptr && !(o->drain_only && o->counted);
}

// Reads the queue key: a regular file of exactly 32 bytes that only its owner can read. Returns
// false with `why` set otherwise (the key itself is never printed).
bool read_key_file(const char* path, std::uint8_t (&key)[32], std::string* why) {
  const int fd = ::open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
  if (fd < 0) {
    *why = std::string("cannot open: ") + std::strerror(errno);
    return false;
  }
  struct stat st {};
  bool ok = ::fstat(fd, &st) == 0;
  if (!ok) {
    *why = std::string("cannot stat: ") + std::strerror(errno);
  } else if (!S_ISREG(st.st_mode)) {
    *why = "not a regular file";
    ok = false;
  } else if ((st.st_mode & 077) != 0) {
    *why = "readable or writable by others than its owner (chmod 600 it)";
    ok = false;
  } else if (st.st_size != 32) {
    *why = "must hold exactly 32 bytes, holds " + std::to_string(static_cast<long long>(st.st_size));
    ok = false;
  } else if (::read(fd, key, sizeof key) != static_cast<ssize_t>(sizeof key)) {
    *why = "short read";
    ok = false;
  }
  ::close(fd);
  return ok;
}

// A boot id is part of every message id: random per process start, never 0.
std::uint32_t make_boot_id() {
  for (;;) {
    const std::uint64_t r = tether::port::random_seed();
    const auto id = static_cast<std::uint32_t>(r ^ (r >> 32));
    if (id != 0) return id;
  }
}

void print_stats(const tether::OfflineQueue& queue, const tether::OfflineQueueConfig& config) {
  for (std::size_t i = 0; i < queue.stream_count(); ++i) {
    const tether::StreamStats& s = queue.stats(static_cast<tether::StreamId>(i));
    std::fprintf(stderr,
                 "offline-agent: stream \"%s\": enqueued %" PRIu64 ", sent %" PRIu64 " (resent %" PRIu64
                 "), delivered %" PRIu64 ", pending %" PRIu64 ", rejected %" PRIu64 ", dropped %" PRIu64
                 " overflow / %" PRIu64 " pressure / %" PRIu64 " expired / %" PRIu64 " refused / %" PRIu64
                 " store error, syncs %" PRIu64 " (failed %" PRIu64 "), recovered %" PRIu64 ", torn bytes %" PRIu64
                 ", damaged regions %" PRIu64 " (%" PRIu64 " bytes), %u segment(s), %" PRIu64 " bytes stored\n",
                 config.streams[i].name.c_str(), s.enqueued, s.sent, s.resent, s.delivered, s.pending_records,
                 s.rejected, s.dropped_overflow, s.dropped_pressure, s.dropped_expired, s.dropped_refused,
                 s.dropped_store_error, s.syncs, s.sync_failures, s.recovered_records, s.torn_bytes,
                 s.corrupt_regions, s.corrupt_bytes, static_cast<unsigned>(s.segments), s.stored_bytes);
  }
}

int run(int argc, char** argv) {
  Options options;
  if (!parse_options(argc, argv, &options)) {
    std::fprintf(stderr,
                 "usage: %s CONFIG.json [--count N] [--start K] [--interval-ms MS] [--drain-only] [--stay]\n"
                 "       (--drain-only and --count exclude each other)\n",
                 argv[0]);
    return 1;
  }

  tether::AgentConfig config;
  if (!tether::examples::load_config("offline-agent", options.config, config)) return 1;
  const tether::OfflineQueueConfig& qc = config.offline_queue;
  if (!qc.enabled) {
    std::fprintf(stderr,
                 "offline-agent: %s: offline_queue: this example needs an enabled offline_queue section "
                 "(at least {\"directory\": \"...\"}; see examples/offline-agent/README.md)\n",
                 options.config);
    return 1;
  }

  // The stores: `<directory>/<stream>/`. PosixLogStore creates one level; create the queue's own
  // directory here if it is missing (0700, like the stores).
  const std::string root = qc.directory.c_str();
  if (::mkdir(root.c_str(), 0700) != 0 && errno != EEXIST) {
    std::fprintf(stderr, "offline-agent: %s: cannot create the queue directory: %s\n", root.c_str(),
                 std::strerror(errno));
    return 2;
  }
  std::optional<tether::port::PosixLogStore> stores[tether::kMaxStreams];
  for (std::size_t i = 0; i < qc.stream_count; ++i) {
    tether::port::PosixLogStoreSettings ss;
    ss.directory = root + "/" + qc.streams[i].name.c_str();
    ss.segment_bytes = qc.streams[i].segment_bytes;
    ss.max_segments = qc.streams[i].max_segments;
    stores[i].emplace(ss);
  }

  tether::examples::LinuxAgent linux_agent(config);
  tether::Agent& agent = linux_agent.agent;
  const tether::port::Clock& clock = linux_agent.clock;
  tether::Logger& logger = agent.logger();

  tether::QueueSettings queue_settings = qc.queue;
  queue_settings.boot_id = make_boot_id();
  std::fprintf(stderr, "offline-agent: boot id %08" PRIx32 "\n", queue_settings.boot_id);
  tether::OfflineQueue queue(agent, queue_settings);
  bool encrypting = false;
  for (std::size_t i = 0; i < qc.stream_count; ++i) encrypting = encrypting || qc.streams[i].settings.encrypt;
  if (encrypting) {
#if TETHER_EXAMPLE_HAVE_MBEDTLS
    // Encryption at rest: one key for the queue, a key per stream derived from it.
    static tether::mbedtls::MbedCrypto crypto;  // 38 KB of mbedTLS state: not on the stack
    std::uint8_t key[32];
    std::string why;
    if (!read_key_file(qc.key_file.c_str(), key, &why)) {
      std::fprintf(stderr, "offline-agent: %s: offline_queue.key_file %s: %s\n", options.config, qc.key_file.c_str(),
                   why.c_str());
      return 1;
    }
    const tether::Status keyed = queue.set_encryption(crypto, tether::Span<const std::uint8_t>(key, sizeof key));
    tether::detail::secure_zero(tether::Span<std::uint8_t>(key, sizeof key));
    if (!keyed.ok()) return 1;
#else
    std::fprintf(stderr, "offline-agent: %s: a stream sets \"encrypt\" but this build has no tether::port_mbedtls\n",
                 options.config);
    return 1;
#endif
  }
  for (std::size_t i = 0; i < qc.stream_count; ++i) {
    const tether::Result<tether::StreamId> id = queue.add_stream(qc.streams[i].stream_settings(), *stores[i]);
    if (!id.ok()) {
      char status[64];
      std::fprintf(stderr, "offline-agent: stream \"%s\": cannot open or recover %s: %s (%s)\n",
                   qc.streams[i].name.c_str(), stores[i]->settings().directory.c_str(),
                   tether::format_status(id.status(), status, sizeof status), stores[i]->last_error());
      return 2;
    }
  }

  char topic_buf[tether::kMaxTopic];
  const auto topic = agent.topics().build(topic_buf, tether::TopicFamily::kTelemetry, "telemetry");
  if (!topic.ok()) {
    std::fprintf(stderr, "offline-agent: cannot build the telemetry topic for thing \"%s\"\n",
                 config.thing_name.c_str());
    return 1;
  }

  bool ever_connected = false;
  agent.set_event_handler([&logger, &ever_connected](const tether::AgentEvent& e) {
    if (e.type == tether::AgentEventType::kConnected) ever_connected = true;
    tether::examples::log_attention(logger, e);
  });
  tether::examples::install_stop_signals();

  if (!agent.start().ok()) return 2;

  const bool publishing = !options.drain_only;
  const bool endless = publishing && !options.counted;
  std::uint64_t next_n = options.start;
  std::uint64_t published = 0;  // records handed to publish() (queued or refused)
  const tether::Milliseconds interval(options.interval_ms);
  tether::Milliseconds next_due = clock.now();
  bool stopping = false;
  const char* why = "stopped";

  auto stop = [&](const char* reason) {
    stopping = true;
    why = reason;
    const tether::Status closed = queue.close();  // delivery progress written, everything synced
    if (!closed.ok()) {
      TETHER_LOG_ERROR(logger, tether::Origin::kApp, closed, "closing the queue failed");
    }
    agent.stop().ignore();  // sends DISCONNECT when connected
  };

  for (;;) {
    if (tether::examples::stop_requested() && !stopping) {
      TETHER_LOG_INFO(logger, tether::Origin::kApp, "signal received: stopping");
      stop("signal");
    }
    tether::Milliseconds wait(200);
    if (!stopping && publishing && (endless || published < options.count)) {
      const tether::Milliseconds now = clock.now();
      if (now >= next_due) {
        char payload[40];
        const int len = std::snprintf(payload, sizeof payload, "{\"n\":%" PRIu64 "}", next_n);
        const auto seq = queue.publish(
            0, *topic, tether::Span<const std::uint8_t>(reinterpret_cast<const std::uint8_t*>(payload),
                                                        static_cast<std::size_t>(len)));
        if (seq.ok()) {
          std::printf("QUEUED %" PRIu64 " %" PRIu64 "\n", next_n, *seq);
        } else {
          char status[64];
          std::printf("REFUSED %" PRIu64 " %s\n", next_n, tether::format_status(seq.status(), status, sizeof status));
        }
        std::fflush(stdout);
        ++next_n;
        ++published;
        next_due = interval.count() == 0 ? now : next_due + interval;
        if (next_due < now) next_due = now;  // fell behind: no burst
      }
      const tether::Milliseconds after = clock.now();
      wait = next_due > after ? next_due - after : tether::Milliseconds(0);
      if (wait > tether::Milliseconds(200)) wait = tether::Milliseconds(200);
    }
    const tether::Status s = agent.run_once(wait);
    if (s.code() == tether::StatusCode::kCancelled) break;
    const bool done_publishing = !publishing || (!endless && published >= options.count);
    if (!stopping && !options.stay && done_publishing && queue.drained() && (ever_connected || published > 0)) {
      TETHER_LOG_INFO(logger, tether::Origin::kApp, "queue drained: stopping");
      stop("drained");
    }
  }
  print_stats(queue, qc);
  std::fprintf(stderr, "offline-agent: bye (%s; %" PRIu64 " record(s) published this run)\n", why, published);
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  tether::examples::exit_now(run(argc, argv));  // every Tether and Paho object is destroyed by then
}
