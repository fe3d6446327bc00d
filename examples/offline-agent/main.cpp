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

#include <cerrno>
#include <cinttypes>
#include <csignal>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>

#include "example_support.hpp"
#include "offline_service.hpp"
#include "tether/agent.hpp"
#include "tether/offline/offline_queue.hpp"
#include "tether/port/paho/paho_mqtt_client.hpp"
#include "tether/port/posix/config_file.hpp"
#include "tether/port/posix/posix_clock.hpp"
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

int run(int argc, char** argv) {
  Options options;
  if (!parse_options(argc, argv, &options)) {
    tether::examples::tell(LOG_ERR,
        "usage: %s CONFIG.json [--count N] [--start K] [--interval-ms MS] [--drain-only] [--stay]\n"
        "       (--drain-only and --count exclude each other)\n",
        argv[0]);
    return 1;
  }

  tether::AgentConfig config;
  if (!tether::examples::load_config("offline-agent", options.config, config)) return 1;
  if (!config.offline_queue.enabled) {
    tether::examples::tell(LOG_ERR,
        "offline-agent: %s: offline_queue: this example needs an enabled offline_queue section "
        "(at least {\"directory\": \"...\"}; see examples/offline-agent/README.md)\n",
        options.config);
    return 1;
  }

  tether::examples::LinuxAgent linux_agent(config);
  tether::Agent& agent = linux_agent.agent;
  const tether::port::Clock& clock = linux_agent.clock;
  tether::Logger& logger = agent.logger();

  tether::examples::OfflineService offline;
  const int queue_error = offline.open("offline-agent", options.config, config, agent);
  if (queue_error != 0) return queue_error;
  tether::OfflineQueue& queue = offline.queue();

  char topic_buf[tether::kMaxTopic];
  const auto topic = agent.topics().build(topic_buf, tether::TopicFamily::kTelemetry, "telemetry");
  if (!topic.ok()) {
    tether::examples::tell(LOG_ERR,
        "offline-agent: cannot build the telemetry topic for thing \"%s\"\n",
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
  offline.print_stats("offline-agent");
  tether::examples::tell(LOG_INFO,
      "offline-agent: bye (%s; %" PRIu64 " record(s) published this run)\n", why, published);
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  tether::examples::exit_now(run(argc, argv));  // every Tether and Paho object is destroyed by then
}
