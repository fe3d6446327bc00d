// Copyright 2026 The Tether Authors. SPDX-License-Identifier: Apache-2.0
//
// tether-agent: the agent a Raspberry Pi (or any Linux gateway) runs as a service, everything the
// single-feature examples do, driven by one configuration file (docs/configuration.md):
//   - telemetry through the offline queue (section `offline_queue`): CPU temperature, load
//     averages, memory and process count (tether::port::LinuxMetricsSource::read_extras; what the
//     machine lacks is left out) to dt/<thing>/telemetry at the start and every
//     `telemetry_interval_s` seconds (60 until the shadow says otherwise),
//   - the shadow (section `shadow`, replica in <state>/shadow.replica): desired
//     `telemetry_interval_s` (an integer 1..86400) is applied and reported back,
//   - commands (section `commands`, journal in <state>/commands.journal): reboot, set-config, run
//     of the allow-list, and rotate-certificate with --rotation-template, like command-agent,
//   - metrics (section `metrics`): Defender-style reports and on-device rules, like metrics-agent,
//   - GPIO (section `gpio`, libgpiod): inputs in telemetry and the shadow's reported.gpio, outputs
//     following its desired.gpio (gpio_service.hpp),
//   - under systemd (Type=notify): READY=1 once the first connection attempt has started,
//     WATCHDOG=1 from the agent loop, logs on stderr for journald (no timestamps there).
//
// Usage: tether-agent CONFIG.json [--state-dir DIR] [--duration S] [--rotation-template NAME
//                                  [--certificate-dir /DIR]] [--reboot-command /PATH [--reboot-arg ARG]...]
//        tether-agent --check-config CONFIG.json
//   --state-dir DIR   where the shadow replica and the command journal live; default
//                     $STATE_DIRECTORY (systemd's StateDirectory=), else offline_queue.directory
//   --check-config    validate CONFIG.json without connecting (everything the parser checks, the
//                     files it names, the pkcs11 module, the metrics rules), print what would run;
//                     exit 0 (valid) or 1
//
// stdout, one line per event, flushed at once (tests and scripts wait for them):
//   READY features=<telemetry,shadow,commands,metrics>   everything started
//   CONNECTED                                            the agent is connected
//   TELEMETRY seq=<n> <json>                             a record was queued
//   INTERVAL <s>                                         the telemetry interval changed
//   GPIO <name>=<0|1>                                    a line's first reading, and every change
//   the shadow's lines (SYNCED, DESIRED, REPORTED; examples/common/shadow_support.hpp) and the
//   reporter's (REPORT, ACCEPTED, REJECTED, RULE; examples/common/metrics_service.hpp)
// Exit codes: 0 clean stop, 1 bad usage or configuration, 2 a part could not start (the error
// says which), 75 a `reboot` command (restart me: RestartForceExitStatus=75).

#include <malloc.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cinttypes>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "command_service.hpp"
#include "example_support.hpp"
#include "gpio_service.hpp"
#include "metrics_service.hpp"
#include "offline_service.hpp"
#include "service_manager.hpp"
#include "shadow_support.hpp"
#if defined(TETHER_AGENT_OWN_TERMINATE_HANDLER)
#include "terminate_handler.hpp"  // the program's terminate handler: without libstdc++'s demangler
#endif
#include "telemetry.hpp"
#include "tether/agent.hpp"
#include "tether/json.hpp"
#include "tether/port/linux/gpio_lines.hpp"
#include "tether/port/linux/linux_metrics_source.hpp"
#include "tether/port/posix/config_file.hpp"
#include "tether/port/posix/posix_kv_store.hpp"
#include "tether/shadow/document.hpp"
#include "tether/shadow/shadow.hpp"

namespace {

constexpr const char* kProgram = "tether-agent";
constexpr std::int64_t kDefaultIntervalS = 60;
constexpr std::int64_t kMaxIntervalS = 86400;
constexpr const char* kIntervalKey = "telemetry_interval_s";

struct Options : tether::examples::AgentCommandLine {
  bool check_only = false;  // --check-config
};

using tether::examples::say;

// --- --check-config ---------------------------------------------------------------------------

// One file the configuration names: it must exist and be readable (`mode` R_OK, or X_OK for a
// program). Prints "<program>: <config>: <key>: <path>: <why>" and returns false otherwise.
bool check_file(const char* config_path, const char* key, const char* path, int mode) {
  struct stat info {};
  const char* why = nullptr;
  if (::stat(path, &info) != 0) {
    why = std::strerror(errno);
  } else if (!S_ISREG(info.st_mode)) {
    why = "not a regular file";
  } else if (::access(path, mode) != 0) {
    why = mode == X_OK ? "not executable by this user" : "not readable by this user";
  }
  if (why == nullptr) return true;
  tether::examples::tell(LOG_ERR, "%s: %s: %s: %s: %s\n", kProgram, config_path, key, path, why);
  return false;
}

// A pkcs11: tls.key needs this build's PKCS#11 port and, at run time, OpenSSL's pkcs11-provider
// (the path in the configuration, else the one in OpenSSL's modules directory).
bool check_token_key_support(const char* config_path, const tether::AgentConfig& config) {
#if defined(TETHER_EXAMPLE_HAVE_PKCS11)
  if (!config.pkcs11.provider.empty()) return true;  // checked as pkcs11.provider
  const std::string provider = tether::port::default_pkcs11_provider_path();
  if (::access(provider.c_str(), R_OK) == 0) return true;
  tether::examples::tell(LOG_ERR,
      "%s: %s: tls.key: OpenSSL's PKCS#11 provider %s is missing (%s): install the Debian package "
      "pkcs11-provider (Debian 12: from bookworm-backports) or set pkcs11.provider\n",
      kProgram, config_path, provider.c_str(), std::strerror(errno));
  return false;
#else
  (void)config;
  tether::examples::tell(LOG_ERR,
      "%s: %s: tls.key is a pkcs11: URI, but this tether-agent was built without "
      "tether::port_pkcs11 (libp11-dev, libp11-kit-dev; TETHER_PORT_PKCS11)\n", kProgram, config_path);
  return false;
#endif
}

// The gpio section against the machine: the chip, its lines, access. Lines the running service
// holds (busy) are fine; anything else is an error.
bool check_gpio(const char* config_path, const tether::GpioConfig& gpio, std::string* chip) {
  tether::port::GpioLines lines;
  tether::ErrorText error;
  const tether::Status opened = lines.open(gpio, kProgram, &error);
  if (opened.ok()) {
    *chip = lines.chip_description();
    return true;
  }
  if (opened.code() == tether::StatusCode::kUnavailable) {
    tether::examples::tell(LOG_INFO, "%s: %s: note: %s\n", kProgram, config_path, error.c_str());
    *chip = std::string(gpio.chip.c_str()) + " (lines in use: checked when the service stops)";
    return true;
  }
  tether::examples::tell(LOG_ERR, "%s: %s: %s\n", kProgram, config_path, error.c_str());
  return false;
}

int check_config(const char* path) {
  tether::AgentConfig config;
  tether::ErrorText error;
  if (!tether::port::load_config_file(path, config, &error).ok()) {
    tether::examples::tell(LOG_ERR, "%s: %s\n", kProgram, error.c_str());
    return 1;
  }
  bool ok = true;
  ok = check_file(path, "tls.ca_file", config.broker.ca_file.c_str(), R_OK) && ok;
  ok = check_file(path, "tls.cert_file", config.broker.cert_file.c_str(), R_OK) && ok;
  const bool token_key = config.broker.key.view().substr(0, 7) == "pkcs11:";
  if (!token_key) ok = check_file(path, "tls.key", config.broker.key.c_str(), R_OK) && ok;
  if (config.offline_queue.enabled && !config.offline_queue.key_file.empty()) {
    ok = check_file(path, "offline_queue.key_file", config.offline_queue.key_file.c_str(), R_OK) && ok;
  }
  if (config.pkcs11.enabled) {
    ok = check_file(path, "pkcs11.module", config.pkcs11.module.c_str(), R_OK) && ok;
    if (!config.pkcs11.pin_file.empty()) {
      ok = check_file(path, "pkcs11.pin_file", config.pkcs11.pin_file.c_str(), R_OK) && ok;
    }
    if (!config.pkcs11.provider.empty()) {
      ok = check_file(path, "pkcs11.provider", config.pkcs11.provider.c_str(), R_OK) && ok;
    }
  }
  if (token_key) ok = check_token_key_support(path, config) && ok;
  if (config.commands.enabled) {
    for (std::size_t i = 0; i < config.commands.run_count; ++i) {
      const std::string key = "commands.run[" + std::to_string(i) + "].path";
      ok = check_file(path, key.c_str(), config.commands.run[i].path.c_str(), X_OK) && ok;
    }
  }
  if (config.metrics.enabled) {
    tether::metrics::ReporterSettings settings;
    tether::metrics::RuleSet rules;
    if (!tether::metrics::settings_from_config(config, &settings, &rules, &error).ok()) {
      tether::examples::tell(LOG_ERR, "%s: %s: %s\n", kProgram, path, error.c_str());
      ok = false;
    }
  }
  std::string gpio_chip;
  if (config.gpio.enabled) ok = check_gpio(path, config.gpio, &gpio_chip) && ok;
  if (!ok) return 1;

  std::printf("%s: %s is valid\n", kProgram, path);
  std::printf("  thing %s on %s:%u (profile %s, MQTT %s), key %s\n", config.thing_name.c_str(),
              config.broker.endpoint.c_str(), static_cast<unsigned>(config.broker.port),
              config.profile == tether::TopicProfile::kAws ? "aws" : "neutral",
              config.mqtt.version == tether::MqttVersion::k5 ? "5" : "3.1.1", token_key ? "in a PKCS#11 token" : "file");
  if (config.offline_queue.enabled) {
    std::printf("  telemetry: every %" PRId64 " s (until the shadow's %s says otherwise) through the offline queue in %s\n",
                kDefaultIntervalS, kIntervalKey, config.offline_queue.directory.c_str());
  } else {
    std::printf("  telemetry: off (no offline_queue section)\n");
  }
  std::printf("  shadow: %s\n", config.shadow.enabled ? "on (desired telemetry_interval_s)" : "off (no shadow section)");
  if (config.commands.enabled) {
    std::string ops;
    if (config.commands.reboot) ops += " reboot";
    if (config.commands.set_config) ops += " set-config";
    for (std::size_t i = 0; i < config.commands.run_count; ++i) {
      ops += i == 0 ? " run:" : ",";
      ops += config.commands.run[i].name.c_str();
    }
    std::printf("  commands: on (%s)\n", ops.empty() ? "no built-in operation" : ops.c_str() + 1);
  } else {
    std::printf("  commands: off (no commands section)\n");
  }
  if (config.metrics.enabled) {
    std::printf("  metrics: a report every %u s\n", static_cast<unsigned>(config.metrics.interval_s));
  } else {
    std::printf("  metrics: off (no metrics section)\n");
  }
  if (config.gpio.enabled) {
    std::string names[2];
    for (std::size_t i = 0; i < config.gpio.line_count; ++i) {
      std::string& list = names[config.gpio.lines[i].direction == tether::GpioDirection::kInput ? 0 : 1];
      list += std::string(list.empty() ? "" : ",") + config.gpio.lines[i].name.c_str();
    }
    std::printf("  gpio: %s; inputs %s (read every %u ms), outputs %s\n", gpio_chip.c_str(),
                names[0].empty() ? "none" : names[0].c_str(), static_cast<unsigned>(config.gpio.poll_ms),
                names[1].empty() ? "none" : names[1].c_str());
  } else {
    std::printf("  gpio: off (no gpio section)\n");
  }
  return 0;
}

// --- telemetry ------------------------------------------------------------------------------

// Reads the extras and queues one record every interval_s seconds. The timer is restarted by the
// main loop (restart()) when the interval changes, outside the shadow's handler.
class Telemetry {
 public:
  Telemetry(tether::Agent& agent, tether::OfflineQueue& queue, std::string_view topic)
      : agent_(agent), queue_(queue), topic_(topic) {}

  std::int64_t interval_s() const { return interval_s_; }
  void set_interval(std::int64_t seconds) {
    if (seconds == interval_s_) return;
    interval_s_ = seconds;
    changed_ = true;
  }

  // The first record at once (queued until the first connection), then every interval_s.
  tether::Status start() {
    if (!started_) publish();
    started_ = true;
    changed_ = false;
    const tether::Result<tether::TimerId> timer =
        agent_.start_timer(std::chrono::seconds(interval_s_), [this] { publish(); });
    if (!timer.ok()) return timer.status();
    timer_ = timer.value();
    return tether::Status();
  }

  // After the loop's turn: a new interval takes effect now.
  tether::Status restart_if_changed() {
    if (!changed_) return tether::Status();
    agent_.cancel_timer(timer_).ignore();  // running, unless the agent lost it: either way a new one
    say("INTERVAL %" PRId64, interval_s_);
    return start();
  }

  /// More members for every record (the GPIO lines).
  void set_extra(std::function<std::string()> extra) { extra_ = std::move(extra); }

  void publish() {
    tether::metrics::PlatformExtras extras;
    const tether::Status read = source_.read_extras(extras);
    if (!read.ok()) {
      TETHER_LOG_WARN(agent_.logger(), tether::Origin::kApp, read, "telemetry: %s (the rest is sent)",
                      source_.last_error());
    }
    char payload[512];
    const std::string members = extra_ ? extra_() : std::string();
    const std::string_view text = tether::agent_app::encode_telemetry(extras, payload, sizeof payload, members);
    const tether::Result<std::uint64_t> seq = queue_.publish(
        0, topic_, tether::Span<const std::uint8_t>(reinterpret_cast<const std::uint8_t*>(text.data()), text.size()));
    if (!seq.ok()) {
      TETHER_LOG_WARN(agent_.logger(), tether::Origin::kApp, seq.status(), "telemetry: the queue refused a record");
      return;
    }
    say("TELEMETRY seq=%" PRIu64 " %.*s", seq.value(), static_cast<int>(text.size()), text.data());
  }

 private:
  tether::Agent& agent_;
  tether::OfflineQueue& queue_;
  std::string_view topic_;
  tether::port::LinuxMetricsSource source_;
  std::function<std::string()> extra_;
  std::int64_t interval_s_ = kDefaultIntervalS;
  bool changed_ = false;
  bool started_ = false;
  tether::TimerId timer_{};
};

tether::shadow::DesiredResult check_interval(const tether::json::Value& v) {
  const tether::Result<std::int64_t> seconds = v.as_int();
  return seconds.ok() && seconds.value() >= 1 && seconds.value() <= kMaxIntervalS
             ? tether::shadow::DesiredResult::accept()
             : tether::shadow::DesiredResult::reject("telemetry_interval_s must be an integer from 1 to 86400");
}

// After a restart the replica holds what the previous run applied: take the interval from it.
void restore_interval(const tether::shadow::Shadow& shadow, Telemetry& telemetry) {
  tether::json::parse(shadow.reported(), tether::shadow::kStateBytes, [&telemetry](const tether::json::Value& root) {
    const tether::json::Value value = tether::shadow::find(root, kIntervalKey);
    if (value.valid() && check_interval(value).decision == tether::shadow::Decision::kAccept) {
      telemetry.set_interval(value.as_int().value());
    }
    return tether::Status();
  }).ignore();  // an empty or unreadable replica leaves the default
}

// Where the shadow replica or the command journal (`leaf`) goes: under --state-dir, under
// $STATE_DIRECTORY (systemd's StateDirectory=), or under offline_queue.directory (created).
// Returns 0 or the exit code after printing why.
int state_dir(const Options& options, const tether::AgentConfig& config, const char* leaf, const char* what,
              std::string& dir) {
  std::string root = options.run.state_dir;
  const char* state = std::getenv("STATE_DIRECTORY");  // may list several, ':'-separated
  if (root.empty() && state != nullptr && *state == '/') root = std::string(state).substr(0, std::string(state).find(':'));
  if (!root.empty()) dir = root + "/" + leaf;
  return tether::examples::resolve_state_dir(kProgram, options.config, config, leaf, what, dir);
}

int run(int argc, char** argv) {
  Options options;
  if (!tether::examples::parse_agent_command_line(argc, argv, &options, "--check-config", &options.check_only)) {
    tether::examples::tell(LOG_ERR,
        "usage: %s CONFIG.json [--state-dir DIR] [--duration S] [--rotation-template NAME [--certificate-dir "
        "/DIR]]\n"
        "                    [--reboot-command /PATH [--reboot-arg ARG]...]\n"
        "       %s --check-config CONFIG.json\n",
        argv[0], argv[0]);
    return 1;
  }
  if (options.check_only) return check_config(options.config);

  tether::AgentConfig config;
  if (!tether::examples::load_config(kProgram, options.config, config)) return 1;
  const bool telemetry_on = config.offline_queue.enabled;
  std::string replica_dir;
  std::string journal_dir;
  if (config.shadow.enabled) {
    const int error = state_dir(options, config, "shadow.replica", "the shadow replica", replica_dir);
    if (error != 0) return error;
  }
  if (config.commands.enabled) {
    const int error = state_dir(options, config, "commands.journal", "the command journal", journal_dir);
    if (error != 0) return error;
  }

  tether::examples::LinuxAgent device(config);
  tether::Agent& agent = device.agent;
  tether::Logger& logger = agent.logger();
  std::string features;
  const auto feature = [&features](const char* name) {
    features += features.empty() ? "" : ",";
    features += name;
  };

  // Destroyed in the reverse order, all before the agent.
  std::unique_ptr<tether::examples::OfflineService> offline;
  std::unique_ptr<Telemetry> telemetry;
  char topic_buf[tether::kMaxTopic];
  if (telemetry_on) {
    offline = std::make_unique<tether::examples::OfflineService>();
    const int error = offline->open(kProgram, options.config, config, agent);
    if (error != 0) return error;
    const auto topic = agent.topics().build(topic_buf, tether::TopicFamily::kTelemetry, "telemetry");
    if (!topic.ok()) {
      tether::examples::tell(LOG_ERR,
          "%s: cannot build the telemetry topic for thing \"%s\"\n", kProgram,
          config.thing_name.c_str());
      return 1;
    }
    telemetry = std::make_unique<Telemetry>(agent, offline->queue(), *topic);
    feature("telemetry");
  }

  std::unique_ptr<tether::agent_app::GpioService> gpio;
  if (config.gpio.enabled) gpio = std::make_unique<tether::agent_app::GpioService>(config.gpio);

  std::unique_ptr<tether::port::PosixKvStore> replica;
  std::unique_ptr<tether::shadow::Shadow> shadow;
  if (config.shadow.enabled) {
    tether::port::PosixKvStoreSettings store_settings;
    store_settings.directory = replica_dir;
    replica = std::make_unique<tether::port::PosixKvStore>(store_settings);
    const int store_error = tether::examples::open_kv_store(kProgram, "the shadow replica", *replica);
    if (store_error != 0) return store_error;
    // About 55 KB of inline buffers: on the heap rather than the stack.
    shadow = std::make_unique<tether::shadow::Shadow>(agent, replica.get(), tether::shadow::ShadowSettings{},
                                                      tether::port::random_seed());
    tether::ErrorText error;
    if (telemetry) {
      const tether::Status status = shadow->on_desired(
          kIntervalKey,
          [t = telemetry.get()](const tether::shadow::DesiredChange& c) {
            const tether::shadow::DesiredResult result = check_interval(c.value);
            tether::examples::print_decision(c, result);
            if (result.decision == tether::shadow::Decision::kAccept) t->set_interval(c.value.as_int().value());
            return result;
          },
          &error);
      if (!status.ok()) {
        tether::examples::tell(LOG_ERR, "%s: %s\n", kProgram, error.c_str());
        return 2;
      }
    }
    if (gpio) {
      const int gpio_error = gpio->attach(kProgram, *shadow);
      if (gpio_error != 0) return gpio_error;
    }
    shadow->set_event_handler([l = &logger, s = shadow.get()](const tether::shadow::ShadowEvent& e) {
      tether::examples::on_shadow_event(*l, *s, e);
    });
    if (!shadow->start(&error).ok()) {
      tether::examples::tell(LOG_ERR, "%s: the shadow did not start: %s\n", kProgram, error.c_str());
      return 2;
    }
    if (telemetry) restore_interval(*shadow, *telemetry);
    feature("shadow");
  }
  if (gpio) {  // after the shadow's replica is loaded: the outputs start where the last run left them
    const int error = gpio->open(kProgram, options.config);
    if (error != 0) return error;
    if (telemetry) telemetry->set_extra([g = gpio.get()] { return g->telemetry_members(); });
    feature("gpio");
  }

  std::unique_ptr<tether::examples::CommandService> commands;
  if (config.commands.enabled) {
    tether::examples::CommandServiceOptions service_options = options.commands;
    service_options.config_path = options.config;
    service_options.journal_dir = journal_dir;
    commands = std::make_unique<tether::examples::CommandService>();
    int error = commands->open(kProgram, device, config, std::move(service_options));
    if (error == 0) error = commands->start(kProgram);
    if (error != 0) return error;
    feature("commands");
  } else if (!options.commands.rotation_template.empty()) {
    tether::examples::tell(LOG_ERR,
        "%s: --rotation-template needs a \"commands\" section in %s\n", kProgram, options.config);
    return 1;
  }

  std::unique_ptr<tether::examples::MetricsService> metrics;
  if (config.metrics.enabled) {
    metrics = std::make_unique<tether::examples::MetricsService>();
    const int error = metrics->start(kProgram, options.config, config, device,
                                     [&config](const tether::metrics::ReporterEvent& e) {
                                       tether::examples::print_reporter_event(config.thing_name.view(), e);
                                     });
    if (error != 0) return error;
    feature("metrics");
  }

  if (gpio) {
    TETHER_LOG_INFO(logger, tether::Origin::kApp, "gpio: %s", gpio->chip_description().c_str());
    // An input's change sends a record at once.
    const tether::Status started = gpio->start(agent, [t = telemetry.get()] {
      if (t != nullptr) t->publish();
    });
    if (!started.ok()) {
      tether::examples::tell(LOG_ERR,
          "%s: no agent timer free for reading the GPIO inputs (TETHER_MAX_TIMERS)\n", kProgram);
      return 2;
    }
  }
  // After the GPIO lines were read: the first record carries them.
  if (telemetry && !telemetry->start().ok()) {
    tether::examples::tell(LOG_ERR, "%s: no agent timer free for telemetry (TETHER_MAX_TIMERS)\n", kProgram);
    return 2;
  }
  agent.set_event_handler([&logger](const tether::AgentEvent& e) {
    if (e.type == tether::AgentEventType::kConnected) say("CONNECTED");
    tether::examples::log_attention(logger, e);
  });
  tether::examples::install_stop_signals();
  if (!agent.start().ok()) return 2;

  tether::agent_app::ServiceManager service_manager;
  service_manager.ready(features.c_str());
  say("READY features=%s", features.c_str());
  TETHER_LOG_INFO(logger, tether::Origin::kApp, "running: %s; telemetry every %" PRId64 " s%s",
                  features.empty() ? "nothing" : features.c_str(), telemetry ? telemetry->interval_s() : 0,
                  service_manager.watchdog_period().count() > 0 ? "; systemd watchdog on" : "");

  bool failed = false;
  bool closed = false;
  tether::examples::run_until_stopped(agent, device.clock, options.run.duration_s, [&](bool stopping) {
    if (!stopping) service_manager.alive(device.clock.now());  // systemd stops watching after STOPPING=1
    if (stopping && !closed) {
      closed = true;
      service_manager.stopping();
      if (offline) {
        const tether::Status s = offline->queue().close();  // delivery progress written, everything synced
        if (!s.ok()) TETHER_LOG_ERROR(logger, tether::Origin::kApp, s, "closing the queue failed");
      }
    }
    if (stopping || failed || !telemetry) return;
    const tether::Status restarted = telemetry->restart_if_changed();
    if (!restarted.ok()) {
      failed = true;
      TETHER_LOG_ERROR(logger, tether::Origin::kApp, restarted, "no timer for telemetry: stopping");
      agent.stop().ignore();
    }
  });
  int code = failed ? 2 : 0;
  if (shadow) {
    const tether::Status flushed = shadow->flush();
    if (!flushed.ok()) {
      TETHER_LOG_ERROR(logger, tether::Origin::kApp, flushed, "the shadow replica could not be written: %s",
                       replica->last_error());
      code = 2;
    }
  }
  if (offline) offline->print_stats(kProgram);
  if (commands) commands->log_stats(logger);
  if (metrics) metrics->log_stats(logger);
  TETHER_LOG_INFO(logger, tether::Origin::kApp, "bye");
  return code;
}

}  // namespace

// Two malloc settings, unless the environment says anything about malloc (it still decides then):
// - glibc gives each thread that allocates its own arena. Paho's threads would hold one of their
//   own, mostly for OpenSSL's connection state: about 45 kB of resident memory more than one shared
//   arena, for a process whose threads allocate a few times a second (bench/footprint).
// - The services are fixed-capacity objects of 30 to 64 KiB (the offline queue's record buffers,
//   the shadow's documents, the metrics report), allocated once at startup. From 32 KiB up malloc
//   maps each on its own pages, so capacity that is never used (a 16 KiB record buffer holding a
//   200-byte telemetry message) is never resident. Below glibc's default threshold (128 KiB) they
//   would take heap pages that parsing the configuration and loading OpenSSL had already touched.
static void tune_malloc() {
#if defined(__GLIBC__)
  if (std::getenv("MALLOC_ARENA_MAX") == nullptr && std::getenv("MALLOC_MMAP_THRESHOLD_") == nullptr &&
      std::getenv("GLIBC_TUNABLES") == nullptr) {
    mallopt(M_ARENA_MAX, 1);
    mallopt(M_MMAP_THRESHOLD, 32 * 1024);
  }
#endif
}

int main(int argc, char** argv) {
  tune_malloc();
  tether::examples::exit_now(run(argc, argv));  // every Tether and Paho object is destroyed by then
}
