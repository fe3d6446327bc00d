// Copyright 2026 The Tether Authors. SPDX-License-Identifier: Apache-2.0
#pragma once

/// @file
/// System port: what the built-in commands (tether/commands/builtins.hpp) need from the device's
/// operating system: restart the device, read and atomically replace the configuration file, and
/// run programs without a shell.
///
/// ## Restart
/// `request_reboot()` is the integrator's decision: reboot the board, restart the agent's service,
/// or refuse (kUnimplemented). It may not return (the process ends); when it returns ok the restart
/// is under way and the caller does nothing more.
///
/// ## Configuration file
/// `read_config()` reads the configuration document the agent was started from; `replace_config()`
/// replaces it atomically and durably: after a power cut at any point the file holds the complete
/// old text or the complete new text (POSIX: write a temporary file, fsync, rename, fsync the
/// directory). A device whose configuration is built in code answers kUnimplemented to both.
///
/// ## Processes
/// A process is started from an absolute path and an argument vector, never through a shell: no
/// word splitting, globbing, variables or redirections; argv[0] is the path. stdin reads nothing
/// (/dev/null), stdout and stderr go together into a capture buffer of `output_capacity()` bytes
/// that keeps the most recent output: once it is full the oldest bytes are dropped and counted
/// (`ProcessStatus::output_cut`). The environment is minimal (implementation-defined and
/// documented, never the agent's own).
///
/// Nothing blocks: `poll_process()` collects the output written so far and reports whether the
/// process runs, exited (with its code) or was ended by a signal. A finished process keeps its slot
/// (its status and output stay readable) until `release_process()`; at most `max_processes()` slots
/// are in use at once. `signal_process()` asks a process to stop (kTerminate: SIGTERM, it may clean
/// up) or ends it (kKill: SIGKILL); the caller decides when to escalate. Implementations signal the
/// process's whole process group where they have one, so what it started stops too.
///
/// ## Errors
/// - request_reboot: ok, kUnimplemented (no restart on this device), or the implementation's
///   failure (kUnavailable, kPermissionDenied, ... origin kOs).
/// - read_config: the length, or kUnimplemented (no configuration file), kNotFound (the file does
///   not exist), kResourceExhausted (`out` is too small; detail = min(file size, 65535); nothing
///   useful is in `out`), kPermissionDenied, kUnavailable (other read errors; origin kOs, detail
///   errno).
/// - replace_config: ok, or kUnimplemented, kNotFound (the directory does not exist),
///   kPermissionDenied (EACCES, EPERM, EROFS), kResourceExhausted (ENOSPC, EDQUOT), kDataLoss (EIO
///   or a failed fsync), kUnavailable (origin kOs, detail errno). On every error before the commit
///   (the rename) the old file is kept; a kDataLoss after it (the directory's fsync failed) leaves
///   the new text in place with its durability unknown.
/// - start_process: a ProcessId (never 0), or kInvalidArgument (the path is not absolute, is empty
///   or holds NUL, an argument holds NUL, more than kMaxProcessArgs arguments; detail = the index
///   of the bad argument + 1, 0 for the path), kResourceExhausted (every slot is in use),
///   kNotFound (no such program, ENOENT), kPermissionDenied (not executable, EACCES), kUnavailable
///   (other failures: fork, pipe; origin kOs, detail errno).
/// - poll_process, read_output, signal_process, release_process: kNotFound for an id that is not
///   in the table (never started, or released). signal_process on a process that has finished
///   is ok and does nothing.
///
/// ## Threading
/// Not thread-safe: one thread (the agent's) makes every call.

#include <cstddef>
#include <cstdint>
#include <string_view>

#include "tether/result.hpp"
#include "tether/span.hpp"
#include "tether/status.hpp"

#ifndef TETHER_MAX_PROCESS_ARGS
#define TETHER_MAX_PROCESS_ARGS 16  ///< arguments after argv[0] that start_process accepts
#endif

namespace tether {

inline constexpr std::size_t kMaxProcessArgs = TETHER_MAX_PROCESS_ARGS;

namespace port {

/// Handle of a process slot; 0 is never a valid id.
using ProcessId = std::uint32_t;

enum class ProcessState : std::uint8_t {
  kRunning,  ///< started and not yet reaped
  kExited,   ///< ended by itself: `exit_code`
  kKilled,   ///< ended by a signal: `signal`
};
const char* to_string(ProcessState state);  ///< "running", "exited", "killed"

struct ProcessStatus {
  ProcessState state = ProcessState::kRunning;
  int exit_code = 0;               ///< kExited: 0..255
  int signal = 0;                  ///< kKilled: the signal number (15 SIGTERM, 9 SIGKILL on Linux)
  std::uint64_t output_total = 0;  ///< bytes the process wrote to stdout and stderr so far
  std::uint64_t output_cut = 0;    ///< of those, the oldest bytes dropped from the capture buffer
};

enum class ProcessSignal : std::uint8_t {
  kTerminate,  ///< SIGTERM: please stop
  kKill,       ///< SIGKILL: stop now
};

class System {
 public:
  virtual ~System() = default;

  // ---- restart ----------------------------------------------------------------------------------
  /// Restarts the device (or the agent). See the file comment for what returning means.
  Status request_reboot() { return do_request_reboot(); }

  // ---- configuration file -----------------------------------------------------------------------
  /// Copies the configuration file into `out`; returns its length.
  Result<std::size_t> read_config(Span<char> out) { return do_read_config(out); }
  /// Replaces the configuration file with `text`, atomically and durably.
  Status replace_config(std::string_view text) { return do_replace_config(text); }

  // ---- processes --------------------------------------------------------------------------------
  /// Starts `path` (absolute) with `args` as argv[1..] (argv[0] is `path`); no shell.
  Result<ProcessId> start_process(std::string_view path, Span<const std::string_view> args) {
    return do_start_process(path, args);
  }
  /// Collects the output written so far and returns the process's state. Never blocks.
  Result<ProcessStatus> poll_process(ProcessId id) { return do_poll_process(id); }
  /// Copies the last min(out.size(), captured) bytes of the capture buffer into `out` (oldest
  /// first) and returns how many. What poll_process() collected; nothing is consumed.
  Result<std::size_t> read_output(ProcessId id, Span<char> out) { return do_read_output(id, out); }
  /// Sends SIGTERM or SIGKILL (to the process group where there is one).
  Status signal_process(ProcessId id, ProcessSignal signal) { return do_signal_process(id, signal); }
  /// Frees the slot. A process still running is killed (SIGKILL) and reaped without blocking the
  /// caller; its id is invalid from now on.
  Status release_process(ProcessId id) { return do_release_process(id); }
  /// Slots: processes started and not released.
  std::size_t max_processes() const { return do_max_processes(); }
  /// Bytes of output kept per process.
  std::size_t output_capacity() const { return do_output_capacity(); }

 private:
  virtual Status do_request_reboot() = 0;
  virtual Result<std::size_t> do_read_config(Span<char> out) = 0;
  virtual Status do_replace_config(std::string_view text) = 0;
  virtual Result<ProcessId> do_start_process(std::string_view path, Span<const std::string_view> args) = 0;
  virtual Result<ProcessStatus> do_poll_process(ProcessId id) = 0;
  virtual Result<std::size_t> do_read_output(ProcessId id, Span<char> out) = 0;
  virtual Status do_signal_process(ProcessId id, ProcessSignal signal) = 0;
  virtual Status do_release_process(ProcessId id) = 0;
  virtual std::size_t do_max_processes() const = 0;
  virtual std::size_t do_output_capacity() const = 0;
};

/// For implementations: the checks start_process makes before anything else (see the file
/// comment): ok or kInvalidArgument/kOs with the documented detail.
Status validate_process_request(std::string_view path, Span<const std::string_view> args);

/// For implementations: a capture buffer over caller memory that keeps the most recent bytes.
class OutputTail {
 public:
  OutputTail() = default;
  explicit OutputTail(Span<char> storage) : storage_(storage) {}

  /// Appends `data`; when the buffer is full the oldest bytes make room (and count as cut).
  void append(const char* data, std::size_t size);
  /// Copies the last min(out.size(), held()) bytes, oldest first; returns how many.
  std::size_t copy_tail(Span<char> out) const;
  /// Forgets everything (a new process in the slot).
  void clear() {
    start_ = 0;
    held_ = 0;
    total_ = 0;
  }
  std::size_t held() const { return held_; }
  std::uint64_t total() const { return total_; }
  std::uint64_t cut() const { return total_ - held_; }

 private:
  Span<char> storage_;
  std::size_t start_ = 0;  // index of the oldest byte held
  std::size_t held_ = 0;
  std::uint64_t total_ = 0;
};

}  // namespace port
}  // namespace tether
