// Copyright 2026 The Tether Authors. SPDX-License-Identifier: Apache-2.0
#pragma once

/// @file
/// PosixSystem: the System port (tether/port/system.hpp) on Linux and other POSIX systems.
///
/// ## Restart
/// request_reboot() calls `PosixSystemSettings::reboot`, an injected function: PosixSystem itself
/// never calls reboot(2). Two ready-made actions:
/// - exit_for_restart(code) (the default when `reboot` is empty): flushes stdio and ends the process
///   at once with `code` (kRestartExitCode, 75) without running destructors; every journal and
///   queue write that returned is already durable. Run the agent under a service manager that
///   restarts it: systemd `Restart=on-failure` (or `RestartForceExitStatus=75`). The agent restarts,
///   not the board.
/// - run_reboot_command(path, args): runs a program such as `/usr/bin/systemctl reboot` (no shell)
///   and waits for it; ok when it exits 0, else kUnavailable/kOs with the exit code as detail.
///
/// ## Configuration file
/// `config_path` names the file (empty: kUnimplemented). replace_config() resolves symbolic links
/// (the real file is replaced, the link stays), writes `<file>.tmp` with the old file's mode (0600
/// for a new file), fsyncs it, renames it over the file and fsyncs the directory. A failure before
/// the rename removes the temporary file and keeps the old one; a failed directory fsync after the
/// rename is kDataLoss with the new text in place (whether the rename survives a power cut then is
/// unknown). last_error() names the file and the step.
///
/// ## Processes
/// posix_spawn (no shell, no fork of the agent's memory), in a new process group, with:
/// stdin /dev/null; stdout and stderr into one pipe whose read end is non-blocking; the signal mask
/// empty and every signal at its default action (an ignored SIGPIPE is not inherited); the
/// environment exactly `environment`; the working directory `working_directory`; every other
/// descriptor closed (glibc 2.34 and later; elsewhere descriptors opened without O_CLOEXEC leak).
/// poll_process() reads at most 256 KiB per call, then waitpid(WNOHANG), then reads again if the
/// process ended. Signals go to the process group (kill(-pid)), or to the process if it left the
/// group. release_process() of a running process sends SIGKILL to the group; a process not yet gone
/// is reaped by later calls, the destructor waits for it. SIGCHLD must not be set to SIG_IGN (the
/// kernel would reap the children and poll_process() would answer kUnavailable/kOs/ECHILD).
///
/// ## Errors
/// As the port, origin kOs, detail errno: ENOENT → kNotFound; EACCES, EPERM, EROFS →
/// kPermissionDenied; ENOSPC, EDQUOT → kResourceExhausted; EIO and every failed fsync → kDataLoss;
/// anything else → kUnavailable.
///
/// ## Resources
/// Allocates (a Linux port): the slot table and each slot's output buffer at construction
/// (`max_processes` × `output_capacity`), argv and envp copies during start_process(), the settings'
/// strings. One pipe descriptor per running process. Not thread-safe, like the port.

#include <sys/types.h>

#include <cstddef>
#include <functional>
#include <string>
#include <vector>

#include "tether/error_text.hpp"
#include "tether/port/system.hpp"

namespace tether::port {

struct PosixSystemSettings {
  /// The configuration file read_config() reads and replace_config() replaces; empty = none.
  std::string config_path;
  /// What request_reboot() does; empty = PosixSystem::exit_for_restart().
  std::function<Status()> reboot;
  /// Processes started and not released, at most.
  std::size_t max_processes = 4;
  /// Bytes of output kept per process (the most recent).
  std::size_t output_capacity = 4096;
  /// The whole environment of a program (`NAME=value`); nothing of the agent's is inherited.
  std::vector<std::string> environment = {"PATH=/usr/sbin:/usr/bin:/sbin:/bin", "LC_ALL=C"};
  /// Where programs start.
  std::string working_directory = "/";
};

class PosixSystem final : public System {
 public:
  /// The exit status of exit_for_restart() (EX_TEMPFAIL: "try again").
  static constexpr int kRestartExitCode = 75;

  /// A reboot action that ends the process with `exit_code` (see the file comment). Never returns.
  static std::function<Status()> exit_for_restart(int exit_code = kRestartExitCode);
  /// A reboot action that runs `path` with `args` (no shell) and waits for it to exit.
  static std::function<Status()> run_reboot_command(std::string path, std::vector<std::string> args);

  explicit PosixSystem(PosixSystemSettings settings = {});
  /// Kills (SIGKILL, the whole group) and reaps every process still running, and waits for them.
  ~PosixSystem() override;
  PosixSystem(const PosixSystem&) = delete;
  PosixSystem& operator=(const PosixSystem&) = delete;

  /// What the last failure was, naming the file or program ("" if none).
  const char* last_error() const { return last_error_.c_str(); }
  const PosixSystemSettings& settings() const { return settings_; }

 private:
  struct Slot {
    ProcessId id = 0;  // 0: free
    pid_t pid = -1;
    int pipe_fd = -1;
    bool reaped = false;
    bool lost = false;  // reaped by someone else: the outcome is unknown
    ProcessStatus status;
    std::vector<char> storage;
    OutputTail output;
  };

  Status do_request_reboot() override;
  Result<std::size_t> do_read_config(Span<char> out) override;
  Status do_replace_config(std::string_view text) override;
  Result<ProcessId> do_start_process(std::string_view path, Span<const std::string_view> args) override;
  Result<ProcessStatus> do_poll_process(ProcessId id) override;
  Result<std::size_t> do_read_output(ProcessId id, Span<char> out) override;
  Status do_signal_process(ProcessId id, ProcessSignal signal) override;
  Status do_release_process(ProcessId id) override;
  std::size_t do_max_processes() const override { return slots_.size(); }
  std::size_t do_output_capacity() const override { return settings_.output_capacity; }

  Slot* find(ProcessId id);
  void drain(Slot& slot);
  void reap(Slot& slot, int options);
  void reap_orphans();
  Status fail(int err, const char* what, const std::string& name);

  PosixSystemSettings settings_;
  std::vector<Slot> slots_;
  std::vector<pid_t> orphans_;  // released while running: killed, not yet reaped
  ProcessId next_id_ = 1;
  ErrorText last_error_;
};

}  // namespace tether::port
