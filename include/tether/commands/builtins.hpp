// Copyright 2026 The Tether Authors. SPDX-License-Identifier: Apache-2.0
#pragma once

/// @file
/// `tether::commands::Builtins`: the built-in operations an agent enables by configuration (the
/// `commands` section, docs/configuration.md), as handlers on an Inbox, over the System port
/// (tether/port/system.hpp):
///
/// - `reboot` (document `{}`): IN_PROGRESS `{"step":"rebooting"}`, then `succeed_after_restart()`
///   is journaled, then on the next tick (after `reboot_delay`) `System::request_reboot()`. The
///   next start reports SUCCEEDED; a request the system refuses is FAILED `REBOOT_FAILED`.
/// - `set-config` (document `{"config": {...}}`, the whole file, or `{"patch": {...}}`, an RFC 7386
///   merge patch: objects merge, `null` deletes): on the next tick the current file is read, the
///   patch applied, the result checked with parse_config and written atomically with
///   `System::replace_config()`. **Applied at the next start**, not live: SUCCEEDED
///   `{"applied":"at_restart","changed":["mqtt.keep_alive_s"]}` (`"unchanged"` and no write when
///   nothing changes). `thing_name`, `client_id`, `tls` and `commands` cannot be changed by a
///   command (REJECTED `PROTECTED_KEY`): a set-config that widened the allow-list would let the
///   cloud run anything after the next restart.
/// - `run` (document `{"name": "<allow-list entry>", "args": ["..."]}`): only the programs in
///   `commands.run`, started with the entry's absolute path and fixed arguments, plus the request's
///   `args` if the entry allows extra arguments (each 1..TETHER_MAX_RUN_ARG bytes of
///   `A-Z a-z 0-9 . _ , : = @ % + / -`, not starting with `-`). Never a shell. Polled from the
///   agent tick; IN_PROGRESS `{"output":"<tail>","output_cut":N}` every `heartbeat_s` when there is
///   new output; SUCCEEDED `{"exit_code":0,"output":"<tail>","output_cut":N}`; FAILED
///   `NONZERO_EXIT` / `KILLED` / `TIMEOUT` with the exit code or signal and as much of the output's
///   end as the inbox's reason holds (kMaxReason). At the entry's `timeout_s` (or the command's own
///   deadline, if sooner) the program gets SIGTERM, and SIGKILL `kill_grace` later.
///
/// Refusals (REJECTED, nothing run): `INVALID_DOCUMENT` (not a JSON object, an unknown member, a
/// member of the wrong type), `NOT_ALLOWED` (a name not in the allow-list), `INVALID_ARGUMENTS`
/// (extra arguments not allowed, too many, too long, a character outside the set), `PROTECTED_KEY`,
/// `BUSY` (a reboot or a set-config already under way). Failures (FAILED): `START_FAILED`,
/// `NONZERO_EXIT`, `KILLED`, `TIMEOUT`, `INVALID_CONFIG` (the parser's text, naming the key),
/// `CONFIG_TOO_LARGE`, `READ_FAILED`, `WRITE_FAILED`, `REBOOT_FAILED`, `NOT_JOURNALED`, `LOST` (the
/// System cannot report on a running program any more), `REBOOTING` (a `run` stopped because a
/// `reboot` is about to restart the device).
///
/// Handlers return at once: the work happens in on_agent_tick() (the object is an AgentComponent,
/// one of the agent's TETHER_MAX_COMPONENTS), on the agent's thread; a set-config's file write
/// (two fsyncs) runs there like the inbox's own journal writes.
///
/// ## Order
/// ```cpp
/// static tether::commands::Inbox inbox(agent, &journal, tether::commands::inbox_settings(config.commands));
/// static tether::commands::Builtins builtins(inbox, system, config.commands, settings);
/// builtins.start(&why);   // registers the handlers: before inbox.start()
/// inbox.start(&why);
/// ```
///
/// Heap-free. A `run` interrupted by a restart is not resumed: the inbox reports it FAILED
/// (INTERRUPTED); the program itself is the System's to stop (PosixSystem kills it when destroyed).

#include <cstdint>
#include <string_view>

#include "tether/commands/inbox.hpp"
#include "tether/config.hpp"
#include "tether/port/system.hpp"

namespace tether::commands {

inline constexpr std::string_view kRebootOperation = "reboot";
inline constexpr std::string_view kSetConfigOperation = "set-config";
inline constexpr std::string_view kRunOperation = "run";

/// Raw output bytes shown in a `run` status: the tail of what the program wrote (control bytes
/// other than newline and tab, and non-ASCII bytes, shown as `?`).
inline constexpr std::size_t kRunOutputTail = 200;

struct BuiltinsSettings {
  /// How often running programs are polled (output collected, the end noticed).
  Milliseconds poll_interval{200};
  /// After SIGTERM at a timeout, SIGKILL follows this long after if the program still runs.
  Milliseconds kill_grace{5000};
  /// Between the reboot command's journal write and System::request_reboot(): 0 = the next tick.
  /// A second or two lets the IN_PROGRESS status reach the service first.
  Milliseconds reboot_delay{0};
  /// Working memory of set-config (not owned; must outlive the object): the request, the current
  /// file and the new file, the new one twice (compact, then indented). Four times the largest
  /// configuration file is enough. Required when `commands.set_config` is true.
  Span<char> config_workspace;
};

struct BuiltinsStats {
  std::uint32_t reboots_requested = 0;
  std::uint32_t reboot_failures = 0;
  std::uint32_t configs_written = 0;
  std::uint32_t configs_unchanged = 0;
  std::uint32_t configs_refused = 0;  ///< rejected or failed set-config commands
  std::uint32_t runs_started = 0;
  std::uint32_t runs_refused = 0;  ///< rejected, or failed to start
  std::uint32_t runs_succeeded = 0;
  std::uint32_t runs_failed = 0;  ///< non-zero exit or killed by a signal
  std::uint32_t runs_timed_out = 0;
};

/// The inbox settings the `commands` section sets (max_running, heartbeat).
InboxSettings inbox_settings(const CommandsConfig& config);

class Builtins final : public AgentComponent {
 public:
  /// `inbox`, `system`, `config` and the workspace must outlive the object.
  Builtins(Inbox& inbox, port::System& system, const CommandsConfig& config, const BuiltinsSettings& settings = {});
  /// Detaches from the agent and releases every program still running (the System kills them).
  ~Builtins() override;
  Builtins(const Builtins&) = delete;
  Builtins& operator=(const Builtins&) = delete;

  /// Registers the handlers of the operations `config` enables (none when `enabled` is false) and
  /// attaches to the agent. Call it before Inbox::start(). Returns ok, kFailedPrecondition (started
  /// already), kInvalidArgument (set_config without a workspace, or a poll interval or kill grace
  /// below 1 ms), or the inbox's and the agent's errors (kResourceExhausted: no room for another
  /// operation or component); `why` says which.
  Status start(ErrorText* why = nullptr);

  /// Programs started by `run` and not finished.
  std::size_t running() const;
  const BuiltinsStats& stats() const { return stats_; }

 private:
  struct Run {
    bool used = false;
    Execution execution;
    port::ProcessId process = 0;
    const RunCommandConfig* entry = nullptr;
    Milliseconds deadline{0};  // min(the entry's timeout, the command's deadline)
    Milliseconds next_progress{0};
    Milliseconds terminated_at{0};  // SIGTERM sent (timeout)
    bool terminated = false;
    bool killed = false;     // SIGKILL sent
    bool timed_out = false;  // the entry's timeout, not the command's deadline
    std::uint64_t output_reported = 0;
  };
  struct PendingConfig {
    bool active = false;
    Execution execution;
    bool patch = false;
    std::size_t request_size = 0;  // bytes of the request at the start of the workspace
  };

  // AgentComponent
  void on_agent_tick(Milliseconds now) override;
  Milliseconds next_tick_due() const override;

  void on_reboot(const CommandContext& context);
  void on_set_config(const CommandContext& context);
  void on_run(const CommandContext& context);

  void reboot_now();
  void apply_config();
  void poll_runs(Milliseconds now);
  void finish_run(Run& run, const port::ProcessStatus& status);
  void stop_all_runs();
  void completed(Status status, const char* what);

  Inbox& inbox_;
  port::System& system_;
  const CommandsConfig& config_;
  BuiltinsSettings settings_;
  bool started_ = false;
  bool attached_ = false;
  Execution reboot_;  // a reboot waiting for its tick
  Milliseconds reboot_at_{0};
  PendingConfig pending_config_;
  Run runs_[kMaxRunning];
  Milliseconds next_poll_ = Milliseconds::max();
  BuiltinsStats stats_;
  AgentConfig candidate_;  // set-config: the new file, parsed and validated
};

}  // namespace tether::commands
