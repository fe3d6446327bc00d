// Copyright 2026 The Tether Authors. SPDX-License-Identifier: Apache-2.0
//
// command-agent: a device that executes commands from the cloud and acknowledges them.
//   - reads a configuration file (docs/configuration.md) and connects like minimal-agent,
//   - one command inbox (tether::commands::Inbox) journaled in a PosixKvStore directory, fed by
//     AWS IoT Jobs and AWS IoT Commands (profile "aws") or the neutral cmd/<thing> pattern
//     (profile "neutral"),
//   - the built-in operations the `commands` section enables: `reboot`, `set-config` (applied at the
//     next start) and `run` of the programs in `commands.run` (docs/commands.md#built-in-operations),
//   - one application operation, `blink` (document {"times": 1..100, "period_ms": 50..10000,
//     default 500}): toggles the "LED" `times` times without blocking the agent loop, sends
//     IN_PROGRESS {"blinks":n} after each blink, SUCCEEDED {"blinks":N} at the end,
//   - `reboot` ends the process with exit code 75 (PosixSystem::exit_for_restart; every journal
//     write that returned is durable): run it under a service manager that restarts it (systemd
//     Restart=on-failure). --reboot-command runs a program instead (e.g. /usr/bin/systemctl with
//     --reboot-arg reboot); the next start reports the reboot SUCCEEDED,
//   - exits cleanly on SIGINT or SIGTERM, or after --duration seconds.
//
// Usage: command-agent CONFIG.json [--state-dir DIR] [--duration S]
//                                  [--reboot-command PATH [--reboot-arg ARG]...]
//   --state-dir DIR        the journal's PosixKvStore directory (its parent must exist); default
//                          <offline_queue.directory>/commands.journal when the configuration has an
//                          offline_queue section, else required
//   --duration S           stop after S seconds (default: run until SIGINT/SIGTERM)
//   --reboot-command PATH  what `reboot` runs (absolute path, no shell); default: exit 75
//   --reboot-arg ARG       an argument of the reboot command (repeatable)
//   --rotation-template T  offer `rotate-certificate`: a new key in the token (the "pkcs11"
//                          section), its certificate from Fleet Provisioning template T over the
//                          current connection, a test connection, then the switch (CONFIG.json's
//                          tls.cert_file and tls.key rewritten); on any failure the current
//                          identity stays (tether::identity::CertificateRotation)
//   --certificate-dir DIR  where rotated certificates go (default: CONFIG.json's directory)
//
// stdout, one line per event, flushed at once (a test harness waits for them):
//   READY operations=<op,op,...> sources=<source,...>    handlers registered, inbox started
//   CONNECTED                                           the agent is connected
//   BLINK id=<id> n=<n>/<times>                          the "hardware" blinked
//   BLINK-DONE id=<id> status=<SUCCEEDED|...>            the blink command ended here
// stderr: the agent's and the inbox's log.
// Exit codes: 0 clean stop, 1 bad usage or configuration, 2 the agent, the journal, the inbox or
// the built-ins could not start (the error says which), 75 a `reboot` command (restart me).

#include <cerrno>
#include <cinttypes>
#include <cstdarg>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <string>
#include <vector>

#include "example_support.hpp"
#include "tether/agent.hpp"
#include "tether/commands/builtins.hpp"
#include "tether/commands/command_adapter.hpp"
#include "tether/commands/inbox.hpp"
#if defined(TETHER_EXAMPLE_HAVE_IDENTITY)
#include "tether/port/identity/certificate_rotation.hpp"
#include "tether/port/pkcs11/tls_key.hpp"
#endif
#include "tether/commands/jobs_adapter.hpp"
#include "tether/port/paho/paho_mqtt_client.hpp"
#include "tether/port/posix/posix_clock.hpp"
#include "tether/port/posix/posix_kv_store.hpp"
#include "tether/port/posix/posix_system.hpp"
#include "tether/port/posix/stderr_log_sink.hpp"

namespace {

// set-config reads the current file and builds the new one in this much memory: four times the
// largest configuration file it accepts (16 KB).
constexpr std::size_t kConfigWorkspace = 4 * 16 * 1024;

struct Options {
  const char* config = nullptr;
  std::string state_dir;
  std::string rotation_template;  // --rotation-template: enables rotate-certificate
  std::string certificate_dir;    // --certificate-dir: where rotated certificates go
  long duration_s = -1;  // < 0: until a signal
  std::string reboot_command;
  std::vector<std::string> reboot_args;
};

bool parse_options(int argc, char** argv, Options* o) {
  for (int i = 1; i < argc; ++i) {
    const char* arg = argv[i];
    const char* value = i + 1 < argc ? argv[i + 1] : nullptr;
    if (std::strcmp(arg, "--state-dir") == 0 && value != nullptr && *value != '\0') {
      o->state_dir = value;
      ++i;
    } else if (std::strcmp(arg, "--duration") == 0 && value != nullptr) {
      char* end = nullptr;
      errno = 0;
      o->duration_s = std::strtol(value, &end, 10);
      if (errno != 0 || *end != '\0' || end == value || o->duration_s < 0) return false;
      ++i;
    } else if (std::strcmp(arg, "--reboot-command") == 0 && value != nullptr && value[0] == '/') {
      o->reboot_command = value;
      ++i;
    } else if (std::strcmp(arg, "--rotation-template") == 0 && value != nullptr && *value != '\0') {
      o->rotation_template = value;
      ++i;
    } else if (std::strcmp(arg, "--certificate-dir") == 0 && value != nullptr && value[0] == '/') {
      o->certificate_dir = value;
      ++i;
    } else if (std::strcmp(arg, "--reboot-arg") == 0 && value != nullptr) {
      o->reboot_args.emplace_back(value);
      ++i;
    } else if (arg[0] == '-' || o->config != nullptr) {
      return false;
    } else {
      o->config = arg;
    }
  }
  return o->config != nullptr && (o->reboot_args.empty() || !o->reboot_command.empty());
}

void say(const char* format, ...) __attribute__((format(printf, 1, 2)));
void say(const char* format, ...) {
  va_list args;
  va_start(args, format);
  std::vprintf(format, args);
  va_end(args);
  std::printf("\n");
  std::fflush(stdout);
}

// The `blink` operation: one command at a time (a second is REJECTED BUSY), driven by an agent
// timer so the handler returns at once. Handlers and timers capture a pointer to this.
class Blinker {
 public:
  static constexpr std::int64_t kMaxTimes = 100;
  static constexpr std::int64_t kMinPeriodMs = 50;
  static constexpr std::int64_t kMaxPeriodMs = 10000;

  Blinker(tether::Agent& agent, tether::commands::Inbox& inbox) : agent_(agent), inbox_(inbox) {}

  void on_command(const tether::commands::CommandContext& c) {
    tether::Status s;
    if (active_) {
      s = inbox_.reject(c.execution, "BUSY", "a blink command is already running");
    } else if (!c.document.is_object()) {
      s = inbox_.reject(c.execution, "INVALID_DOCUMENT", "blink takes a JSON object {\"times\": 1..100}");
    } else {
      const tether::Result<std::int64_t> times = c.document["times"].as_int();
      const tether::json::Value period_value = c.document["period_ms"];
      const tether::Result<std::int64_t> period = period_value.valid() ? period_value.as_int() : 500;
      if (!times.ok() || times.value() < 1 || times.value() > kMaxTimes) {
        s = inbox_.reject(c.execution, "INVALID_DOCUMENT", "times must be an integer from 1 to 100");
      } else if (!period.ok() || period.value() < kMinPeriodMs || period.value() > kMaxPeriodMs) {
        s = inbox_.reject(c.execution, "INVALID_DOCUMENT", "period_ms must be an integer from 50 to 10000");
      } else {
        start(c, times.value(), period.value());
        return;
      }
    }
    if (!s.ok()) TETHER_LOG_WARN(agent_.logger(), tether::Origin::kApp, s, "blink: the refusal was not recorded");
  }

 private:
  void start(const tether::commands::CommandContext& c, std::int64_t times, std::int64_t period_ms) {
    const tether::Result<tether::TimerId> timer =
        agent_.start_timer(tether::Milliseconds(period_ms), [this] { blink(); });
    if (!timer.ok()) {
      inbox_.fail(c.execution, "NO_TIMER", "no agent timer free for blink").ignore();
      return;
    }
    active_ = true;
    execution_ = c.execution;
    id_.assign(c.id.data(), c.id.size());
    times_ = times;
    done_ = 0;
    timer_ = timer.value();
    TETHER_LOG_INFO(agent_.logger(), tether::Origin::kApp, "blink %s: %" PRId64 " time(s) every %" PRId64 " ms",
                    id_.c_str(), times, period_ms);
  }

  void blink() {
    ++done_;
    say("BLINK id=%s n=%" PRId64 "/%" PRId64, id_.c_str(), done_, times_);
    char details[48];
    std::snprintf(details, sizeof details, "{\"blinks\":%" PRId64 "}", done_);
    const tether::Status s =
        done_ < times_ ? inbox_.progress(execution_, details) : inbox_.succeed(execution_, details);
    if (s.ok() && done_ < times_) return;
    // Finished, or the inbox ended the command (its deadline passed, the service cancelled it):
    // the handle is stale then, and the blinking stops.
    say("BLINK-DONE id=%s status=%s", id_.c_str(), s.ok() ? "SUCCEEDED" : "ENDED");
    if (!s.ok()) TETHER_LOG_WARN(agent_.logger(), tether::Origin::kApp, s, "blink %s: ended by the inbox", id_.c_str());
    agent_.cancel_timer(timer_).ignore();
    active_ = false;
  }

  tether::Agent& agent_;
  tether::commands::Inbox& inbox_;
  bool active_ = false;
  tether::commands::Execution execution_;
  std::string id_;
  std::int64_t times_ = 0;
  std::int64_t done_ = 0;
  tether::TimerId timer_{};
};

#if defined(TETHER_EXAMPLE_HAVE_IDENTITY)
// The `rotate-certificate` operation: a new key in the token, its certificate through Fleet
// Provisioning over the current connection, a test connection, then the switch
// (tether::identity::CertificateRotation); on any failure the current identity stays.
class Rotator {
 public:
  Rotator(tether::identity::CertificateRotation& rotation, tether::commands::Inbox& inbox)
      : rotation_(rotation), inbox_(inbox) {
    rotation_.set_done_handler([this](tether::Status result) { on_done(result); });
  }

  void on_command(const tether::commands::CommandContext& c) {
    if (rotation_.running()) {
      inbox_.reject(c.execution, "BUSY", "a certificate rotation is already running").ignore();
      return;
    }
    if (!rotation_.start().ok()) {
      inbox_.fail(c.execution, "ROTATION_FAILED", rotation_.last_error()).ignore();
      return;
    }
    execution_ = c.execution;
    inbox_.progress(execution_, R"({"step":"requesting a certificate"})").ignore();
  }

 private:
  void on_done(tether::Status result) {
    if (result.ok()) {
      const std::string details = "{\"certificateId\":\"" + rotation_.outcome().certificate_id + "\"}";
      say("ROTATED certificate=%s", rotation_.outcome().certificate_id.c_str());
      inbox_.succeed(execution_, details).ignore();
    } else {
      say("ROTATION FAILED %s", rotation_.last_error());
      inbox_.fail(execution_, "ROTATION_FAILED", rotation_.last_error()).ignore();
    }
  }

  tether::identity::CertificateRotation& rotation_;
  tether::commands::Inbox& inbox_;
  tether::commands::Execution execution_;
};
#endif

const char* source_name(tether::commands::Source source) { return tether::commands::to_string(source); }

int run(int argc, char** argv) {
  Options options;
  if (!parse_options(argc, argv, &options)) {
    std::fprintf(stderr,
                 "usage: %s CONFIG.json [--state-dir DIR] [--duration S] [--reboot-command /PATH [--reboot-arg ARG]...]\n"
                 "       [--rotation-template NAME [--certificate-dir /DIR]]\n",
                 argv[0]);
    return 1;
  }

  tether::AgentConfig config;
  if (!tether::examples::load_config("command-agent", options.config, config)) return 1;
  if (!config.commands.enabled) {
    std::fprintf(stderr, "command-agent: %s: commands are off (no \"commands\" section, or \"enabled\": false)\n",
                 options.config);
    return 1;
  }
  const int dir_error = tether::examples::resolve_state_dir("command-agent", options.config, config, "commands.journal",
                                                            "the command journal", options.state_dir);
  if (dir_error != 0) return dir_error;

  tether::port::PosixKvStoreSettings store_settings;
  store_settings.directory = options.state_dir;
  tether::port::PosixKvStore journal(store_settings);
  const int store_error = tether::examples::open_kv_store("command-agent", "the command journal", journal);
  if (store_error != 0) return store_error;

  tether::port::PosixSystemSettings system_settings;
  system_settings.config_path = options.config;
  if (!options.reboot_command.empty()) {
    system_settings.reboot = tether::port::PosixSystem::run_reboot_command(options.reboot_command, options.reboot_args);
  }
  tether::port::PosixSystem system(std::move(system_settings));

  tether::examples::LinuxAgent device(config);
  tether::Agent& agent = device.agent;
  tether::Logger& logger = agent.logger();

  // Destroyed in the reverse order: the inbox before its adapters, the adapters before the agent.
  std::unique_ptr<tether::commands::JobsAdapter> jobs;
  std::unique_ptr<tether::commands::CommandAdapter> commands;
  if (config.profile == tether::TopicProfile::kAws) {
    jobs = std::make_unique<tether::commands::JobsAdapter>(tether::commands::JobsAdapterSettings{},
                                                           tether::port::random_seed());
  }
  commands = std::make_unique<tether::commands::CommandAdapter>(config.profile);
  auto inbox = std::make_unique<tether::commands::Inbox>(agent, &journal, tether::commands::inbox_settings(config.commands));
  std::vector<char> workspace(config.commands.set_config ? kConfigWorkspace : 0);
  tether::commands::BuiltinsSettings builtins_settings;
  builtins_settings.config_workspace = tether::Span<char>(workspace.data(), workspace.size());
  builtins_settings.reboot_delay = std::chrono::seconds(1);  // lets IN_PROGRESS reach the service first
  auto builtins = std::make_unique<tether::commands::Builtins>(*inbox, system, config.commands, builtins_settings);
  Blinker blinker(agent, *inbox);
#if defined(TETHER_EXAMPLE_HAVE_IDENTITY)
  std::unique_ptr<tether::identity::CertificateRotation> rotation;
  std::unique_ptr<Rotator> rotator;
  if (!options.rotation_template.empty()) {
    if (!config.pkcs11.enabled) {
      std::fprintf(stderr, "command-agent: --rotation-template needs the \"pkcs11\" section in %s (the new key is made "
                   "in the token)\n", options.config);
      return 1;
    }
    tether::identity::RotationSettings rs;
    const tether::port::Pkcs11TlsKeySettings tls = tether::port::pkcs11_tls_settings(config, "");
    rs.token = tls.token;
    rs.provider_module = tls.provider_module;
    rs.template_name = options.rotation_template;
    rs.config_path = options.config;
    const std::string config_path = options.config;
    const std::size_t slash = config_path.rfind('/');
    rs.certificate_dir = !options.certificate_dir.empty() ? options.certificate_dir
                         : slash == std::string::npos      ? std::string(".")
                                                           : config_path.substr(0, slash);
    rs.runtime_dir = tether::examples::private_runtime_dir("command-agent");
    if (rs.runtime_dir.empty()) return 2;
    rotation = std::make_unique<tether::identity::CertificateRotation>(agent, device.mqtt, std::move(rs), &device.log);
    if (!rotation->attach().ok()) {
      std::fprintf(stderr, "command-agent: no room for the certificate rotation (TETHER_MAX_COMPONENTS)\n");
      return 2;
    }
    rotator = std::make_unique<Rotator>(*rotation, *inbox);
    if (!inbox->on_command("rotate-certificate",
                           [r = rotator.get()](const tether::commands::CommandContext& c) { r->on_command(c); })
             .ok()) {
      std::fprintf(stderr, "command-agent: no room for the rotate-certificate operation (TETHER_COMMANDS_MAX_OPERATIONS)\n");
      return 2;
    }
  }
#else
  if (!options.rotation_template.empty()) {
    std::fprintf(stderr, "command-agent: --rotation-template: built without tether::port_identity (needs the pkcs11, "
                 "mbedtls and paho ports)\n");
    return 1;
  }
#endif

  std::string sources;
  for (tether::commands::Adapter* adapter :
       {static_cast<tether::commands::Adapter*>(jobs.get()), static_cast<tether::commands::Adapter*>(commands.get())}) {
    if (adapter == nullptr) continue;
    if (!inbox->add_adapter(*adapter).ok()) {
      std::fprintf(stderr, "command-agent: no room for the %s adapter (TETHER_COMMANDS_MAX_ADAPTERS)\n",
                   source_name(adapter->source()));
      return 2;
    }
    sources += sources.empty() ? "" : ",";
    sources += source_name(adapter->source());
  }
  if (!inbox->on_command("blink", [b = &blinker](const tether::commands::CommandContext& c) { b->on_command(c); })
           .ok()) {
    std::fprintf(stderr, "command-agent: no room for the blink operation (TETHER_COMMANDS_MAX_OPERATIONS)\n");
    return 2;
  }
  tether::ErrorText error;
  if (!builtins->start(&error).ok()) {
    std::fprintf(stderr, "command-agent: the built-in operations did not start: %s\n", error.c_str());
    return 2;
  }
  if (!inbox->start(&error).ok()) {
    std::fprintf(stderr, "command-agent: the command inbox did not start: %s\n", error.c_str());
    return 2;
  }
  std::string operations = "blink";
  if (config.commands.reboot) operations += ",reboot";
  if (config.commands.set_config) operations += ",set-config";
  if (config.commands.run_count > 0) operations += ",run";
  if (!options.rotation_template.empty()) operations += ",rotate-certificate";
  say("READY operations=%s sources=%s", operations.c_str(), sources.c_str());

  agent.set_event_handler([&logger](const tether::AgentEvent& e) {
    if (e.type == tether::AgentEventType::kConnected) say("CONNECTED");
    tether::examples::log_attention(logger, e);
  });
  tether::examples::install_stop_signals();
  if (!agent.start().ok()) return 2;
  TETHER_LOG_INFO(logger, tether::Origin::kApp, "journal in %s; operations %s; sources %s", options.state_dir.c_str(),
                  operations.c_str(), sources.c_str());
  tether::examples::run_until_stopped(agent, device.clock, options.duration_s);
  const tether::commands::InboxStats& st = inbox->stats();
  TETHER_LOG_INFO(logger, tether::Origin::kApp,
                  "bye (%u command(s) delivered: %u started, %u rejected, %u succeeded, %u failed, %u expired)",
                  static_cast<unsigned>(st.delivered), static_cast<unsigned>(st.started),
                  static_cast<unsigned>(st.rejected), static_cast<unsigned>(st.succeeded),
                  static_cast<unsigned>(st.failed), static_cast<unsigned>(st.expired));
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  tether::examples::exit_now(run(argc, argv));  // every Tether and Paho object is destroyed by then
}
