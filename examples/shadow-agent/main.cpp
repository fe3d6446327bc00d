// Copyright 2026 The Tether Authors. SPDX-License-Identifier: Apache-2.0
//
// shadow-agent: a device whose settings come from its shadow (AWS IoT Device Shadow, classic or
// named; the neutral profile's state/<thing> scheme works the same).
//   - reads a configuration file (docs/configuration.md) and connects like minimal-agent,
//   - keeps a shadow replica (tether::shadow::Shadow) in a PosixKvStore directory, so a restart
//     starts from what the previous run applied and reported,
//   - desired `led` (true/false) is applied (`LED on` / `LED off`) and reported back; any other
//     value is rejected with a reason (reported under reported.tether.rejected.led),
//   - desired `interval_s` (an integer 1..3600) sets how often it reports `uptime_s` (seconds since
//     it started; every 30 s until told otherwise); anything else is rejected with the range in the
//     reason,
//   - flushes the replica and exits cleanly on SIGINT or SIGTERM, or after --duration seconds.
//
// Usage: shadow-agent CONFIG.json [--state-dir DIR] [--shadow NAME] [--duration S]
//   --state-dir DIR  the replica's PosixKvStore directory (its parent must exist); default
//                    <offline_queue.directory>/shadow.replica when the configuration has an
//                    offline_queue section (a stream directory never has a '.'), else required
//   --shadow NAME    a named shadow (default: the classic shadow)
//   --duration S     stop after S seconds (default: run until SIGINT/SIGTERM)
//
// stdout, one line per event, flushed at once (a test harness waits for them):
//   SYNCED version=<n>                                       the shadow was fetched and reconciled
//   DESIRED path=<path> value=<json> decision=accept         a desired value was applied
//   DESIRED path=<path> value=<json> decision=reject reason=<text to the end of the line>
//   LED on | LED off                                         the "hardware" changed
//   REPORTED version=<n> reported=<json>                     the service accepted an update
// stderr: the agent's and the shadow's log.
// Exit codes: 0 clean stop, 1 bad usage or configuration, 2 the agent, the store or the shadow
// could not start (the error says which).

#include <cerrno>
#include <cinttypes>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <string>

#include "example_support.hpp"
#include "shadow_support.hpp"
#include "tether/agent.hpp"
#include "tether/json.hpp"
#include "tether/port/paho/paho_mqtt_client.hpp"
#include "tether/port/posix/posix_clock.hpp"
#include "tether/port/posix/posix_kv_store.hpp"
#include "tether/port/posix/stderr_log_sink.hpp"
#include "tether/shadow/document.hpp"
#include "tether/shadow/shadow.hpp"

namespace {

constexpr std::int64_t kMinInterval = 1;
constexpr std::int64_t kMaxInterval = 3600;
constexpr std::int64_t kDefaultInterval = 30;

struct Options {
  const char* config = nullptr;
  tether::examples::RunOptions run;  // --state-dir, --duration
  const char* shadow = nullptr;
};

bool parse_options(int argc, char** argv, Options* o) {
  for (int i = 1; i < argc; ++i) {
    const int taken = tether::examples::take_run_option(argc, argv, i, o->run);
    if (taken < 0) return false;
    if (taken > 0) continue;
    if (std::strcmp(argv[i], "--shadow") == 0 && i + 1 < argc && *argv[i + 1] != '\0') {
      o->shadow = argv[++i];
    } else if (argv[i][0] == '-' || o->config != nullptr) {
      return false;
    } else {
      o->config = argv[i];
    }
  }
  return o->config != nullptr;
}

// The device's state and the shadow it reports through. Handlers hold at most four pointers'
// worth of captures (no heap): they capture a pointer to this.
struct Device {
  tether::shadow::Shadow* shadow = nullptr;
  const tether::port::Clock* clock = nullptr;
  tether::Milliseconds started{0};  // uptime_s counts from here
  bool led = false;
  std::int64_t interval_s = kDefaultInterval;
  bool interval_changed = false;  // the timer is restarted by the main loop, outside the handler

  void set_led(bool on) {
    led = on;
    std::printf("LED %s\n", on ? "on" : "off");
    std::fflush(stdout);
  }

  void report_uptime() {
    const std::int64_t uptime_s = (clock->now() - started).count() / 1000;
    tether::ErrorText why;
    const tether::Status s = shadow->report_int("uptime_s", uptime_s, &why);
    if (!s.ok()) tether::examples::tell(LOG_WARNING, "shadow-agent: uptime_s not reported: %s\n", why.c_str());
  }
};

// A desired value the device acts on: `check` decides (no side effects), `apply` acts on an
// accepted value.
struct Setting {
  const char* path;
  tether::shadow::DesiredResult (*check)(const tether::json::Value& value);
  void (*apply)(Device& device, const tether::json::Value& value);
};

const Setting kSettings[] = {
    {"led",
     [](const tether::json::Value& v) {
       return v.as_bool().ok() ? tether::shadow::DesiredResult::accept()
                               : tether::shadow::DesiredResult::reject("led must be true or false");
     },
     [](Device& d, const tether::json::Value& v) { d.set_led(v.as_bool().value()); }},
    {"interval_s",
     [](const tether::json::Value& v) {
       const tether::Result<std::int64_t> seconds = v.as_int();
       return seconds.ok() && seconds.value() >= kMinInterval && seconds.value() <= kMaxInterval
                  ? tether::shadow::DesiredResult::accept()
                  : tether::shadow::DesiredResult::reject("interval_s must be an integer from 1 to 3600");
     },
     [](Device& d, const tether::json::Value& v) {
       d.interval_s = v.as_int().value();
       d.interval_changed = true;
     }},
};

// The handler of every setting: decide, say so on stdout, apply.
tether::shadow::DesiredResult decide(Device& device, const Setting& setting,
                                     const tether::shadow::DesiredChange& change) {
  const tether::shadow::DesiredResult result = setting.check(change.value);
  tether::examples::print_decision(change, result);
  if (result.decision == tether::shadow::Decision::kAccept) setting.apply(device, change.value);
  return result;
}

// After a restart the replica holds what the previous run applied (decided values are not handed
// to the handlers again): take the device state from it.
void restore_from_replica(Device& device) {
  const std::string_view reported = device.shadow->reported();
  tether::json::parse(reported, tether::shadow::kStateBytes, [&device](const tether::json::Value& root) {
    for (const Setting& setting : kSettings) {
      const tether::json::Value value = tether::shadow::find(root, setting.path);
      if (value.valid() && setting.check(value).decision == tether::shadow::Decision::kAccept) {
        setting.apply(device, value);
      }
    }
    return tether::Status();
  }).ignore();  // an empty or unreadable replica leaves the defaults
}

int run(int argc, char** argv) {
  Options options;
  if (!parse_options(argc, argv, &options)) {
    tether::examples::tell(LOG_ERR,
        "usage: %s CONFIG.json [--state-dir DIR] [--shadow NAME] [--duration S]\n", argv[0]);
    return 1;
  }

  tether::AgentConfig config;
  if (!tether::examples::load_config("shadow-agent", options.config, config)) return 1;
  const int dir_error = tether::examples::resolve_state_dir("shadow-agent", options.config, config, "shadow.replica",
                                                            "the shadow replica", options.run.state_dir);
  if (dir_error != 0) return dir_error;
  tether::ErrorText error;

  tether::port::PosixKvStoreSettings store_settings;
  store_settings.directory = options.run.state_dir;
  tether::port::PosixKvStore store(store_settings);
  const int store_error = tether::examples::open_kv_store("shadow-agent", "the replica store", store);
  if (store_error != 0) return store_error;

  tether::examples::LinuxAgent linux_agent(config);
  tether::Agent& agent = linux_agent.agent;
  const tether::port::Clock& clock = linux_agent.clock;
  tether::Logger& logger = agent.logger();

  tether::shadow::ShadowSettings shadow_settings;
  if (options.shadow != nullptr) shadow_settings.name = options.shadow;  // argv outlives the shadow
  // About 55 KB of inline buffers: on the heap rather than the stack.
  auto shadow = std::make_unique<tether::shadow::Shadow>(agent, &store, shadow_settings, tether::port::random_seed());

  Device device;
  device.shadow = shadow.get();
  device.clock = &clock;
  device.started = clock.now();
  for (const Setting& setting : kSettings) {
    const tether::Status status = shadow->on_desired(
        setting.path,
        [d = &device, s = &setting](const tether::shadow::DesiredChange& c) { return decide(*d, *s, c); }, &error);
    if (!status.ok()) {
      tether::examples::tell(LOG_ERR, "shadow-agent: %s\n", error.c_str());
      return 2;
    }
  }
  shadow->set_event_handler([l = &logger, s = shadow.get()](const tether::shadow::ShadowEvent& e) {
    tether::examples::on_shadow_event(*l, *s, e);
  });
  if (!shadow->start(&error).ok()) {
    tether::examples::tell(LOG_ERR, "shadow-agent: the shadow did not start: %s\n", error.c_str());
    return 2;
  }
  restore_from_replica(device);

  agent.set_event_handler([&logger](const tether::AgentEvent& e) { tether::examples::log_attention(logger, e); });

  const auto start_uptime_timer = [&agent, &device]() -> tether::Result<tether::TimerId> {
    return agent.start_timer(std::chrono::seconds(device.interval_s), [d = &device] { d->report_uptime(); });
  };
  tether::Result<tether::TimerId> timer = start_uptime_timer();
  if (!timer.ok()) return 2;
  device.interval_changed = false;

  tether::examples::install_stop_signals();
  if (!agent.start().ok()) return 2;
  TETHER_LOG_INFO(logger, tether::Origin::kApp, "replica in %s; reporting uptime_s every %" PRId64 " s",
                  options.run.state_dir.c_str(), device.interval_s);
  bool timer_lost = false;
  tether::examples::run_until_stopped(agent, clock, options.run.duration_s, [&](bool stopping) {
    if (!device.interval_changed || stopping || timer_lost) return;
    device.interval_changed = false;
    agent.cancel_timer(timer.value()).ignore();  // running, unless the agent lost it: either way a new one
    timer = start_uptime_timer();
    if (!timer.ok()) {
      timer_lost = true;
      TETHER_LOG_ERROR(logger, tether::Origin::kApp, timer.status(), "no timer for uptime_s: stopping");
      agent.stop().ignore();
      return;
    }
    TETHER_LOG_INFO(logger, tether::Origin::kApp, "reporting uptime_s every %" PRId64 " s", device.interval_s);
  });
  // What the disconnect put back (a report still in flight) is in the replica too.
  const tether::Status flushed = shadow->flush();
  if (!flushed.ok()) {
    TETHER_LOG_ERROR(logger, tether::Origin::kApp, flushed, "the shadow replica could not be written: %s",
                     store.last_error());
  }
  const tether::shadow::ShadowStats& st = shadow->stats();
  TETHER_LOG_INFO(logger, tether::Origin::kApp,
                  "bye (shadow version %" PRId64 "; %u sync(s), %u update(s) accepted, %u desired value(s) rejected)",
                  shadow->version(), static_cast<unsigned>(st.syncs), static_cast<unsigned>(st.updates_accepted),
                  static_cast<unsigned>(st.rejected_values));
  return flushed.ok() && !timer_lost ? 0 : 2;
}

}  // namespace

int main(int argc, char** argv) {
  tether::examples::exit_now(run(argc, argv));  // every Tether and Paho object is destroyed by then
}
