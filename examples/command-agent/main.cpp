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
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <string>
#include <vector>

#include "command_service.hpp"
#include "example_support.hpp"
#include "tether/agent.hpp"
#include "tether/commands/inbox.hpp"

namespace {

using Options = tether::examples::AgentCommandLine;

using tether::examples::say;

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


int run(int argc, char** argv) {
  Options options;
  if (!tether::examples::parse_agent_command_line(argc, argv, &options)) {
    tether::examples::tell(LOG_ERR,
        "usage: %s CONFIG.json [--state-dir DIR] [--duration S] [--reboot-command /PATH [--reboot-arg ARG]...]\n"
        "       [--rotation-template NAME [--certificate-dir /DIR]]\n",
        argv[0]);
    return 1;
  }

  tether::AgentConfig config;
  if (!tether::examples::load_config("command-agent", options.config, config)) return 1;
  if (!config.commands.enabled) {
    tether::examples::tell(LOG_ERR,
        "command-agent: %s: commands are off (no \"commands\" section, or \"enabled\": false)\n",
        options.config);
    return 1;
  }
  const int dir_error = tether::examples::resolve_state_dir("command-agent", options.config, config, "commands.journal",
                                                            "the command journal", options.run.state_dir);
  if (dir_error != 0) return dir_error;

  tether::examples::LinuxAgent device(config);
  tether::Agent& agent = device.agent;
  tether::Logger& logger = agent.logger();

  tether::examples::CommandServiceOptions service_options = options.commands;
  service_options.config_path = options.config;
  service_options.journal_dir = options.run.state_dir;
  // Destroyed before the agent.
  auto service = std::make_unique<tether::examples::CommandService>();
  const int open_error = service->open("command-agent", device, config, std::move(service_options));
  if (open_error != 0) return open_error;
  tether::commands::Inbox& inbox = service->inbox();
  auto blinker = std::make_unique<Blinker>(agent, inbox);
  if (!inbox.on_command("blink", [b = blinker.get()](const tether::commands::CommandContext& c) { b->on_command(c); })
           .ok()) {
    tether::examples::tell(LOG_ERR,
        "command-agent: no room for the blink operation (TETHER_COMMANDS_MAX_OPERATIONS)\n");
    return 2;
  }
  const int start_error = service->start("command-agent");
  if (start_error != 0) return start_error;
  const std::string operations = "blink" + (service->operations().empty() ? "" : "," + service->operations());
  const std::string& sources = service->sources();
  say("READY operations=%s sources=%s", operations.c_str(), sources.c_str());

  agent.set_event_handler([&logger](const tether::AgentEvent& e) {
    if (e.type == tether::AgentEventType::kConnected) say("CONNECTED");
    tether::examples::log_attention(logger, e);
  });
  tether::examples::install_stop_signals();
  if (!agent.start().ok()) return 2;
  TETHER_LOG_INFO(logger, tether::Origin::kApp, "journal in %s; operations %s; sources %s",
                  options.run.state_dir.c_str(),
                  operations.c_str(), sources.c_str());
  tether::examples::run_until_stopped(agent, device.clock, options.run.duration_s);
  service->log_stats(logger);
  service.reset();  // the inbox before the blinker it calls
  TETHER_LOG_INFO(logger, tether::Origin::kApp, "bye");
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  tether::examples::exit_now(run(argc, argv));  // every Tether and Paho object is destroyed by then
}
