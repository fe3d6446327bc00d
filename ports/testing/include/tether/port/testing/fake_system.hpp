// Copyright 2026 The Tether Authors. SPDX-License-Identifier: Apache-2.0
#pragma once

/// @file
/// FakeSystem: an in-memory System port (tether/port/system.hpp) for unit tests of the built-in
/// commands and of integrators' code: a restart that is only counted, a configuration "file" in a
/// string, and scripted programs instead of processes, with fault injection.
///
/// ## Programs
/// add_program(path, program) makes `path` startable; any other absolute path is kNotFound, as a
/// missing file is. A started program writes `program.output` (and, with `echo_args`, its arguments
/// joined by spaces and a newline, like /bin/echo), then ends with `exit_code`, or, with `runs`,
/// keeps running until the test ends it (exit(), kill()) or a signal does. Like a pipe, what a
/// program writes and how it ended become visible at the next poll_process().
///
/// Signals: kTerminate ends a running program with signal 15 at the next poll unless it
/// `ignores_terminate`; kKill always ends it with signal 9. Both are recorded (signals()).
/// release_process() of a running program counts as a kill (recorded too).
///
/// ## Faults
/// fail_next(op, status, count): the next `count` calls of `op` that pass the argument checks
/// return `status` and change nothing. set_reboot_result(status): what request_reboot() returns
/// (counted either way). remove_config_file(): read_config() is kNotFound; without any file set
/// and with `has_config_file` false at construction, both config calls are kUnimplemented.
///
/// Allocates (std::string, std::vector): a test double; no exceptions, no RTTI, no OS calls.

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "tether/port/system.hpp"
#include "tether/port/testing/failure_script.hpp"

namespace tether::testing {

class FakeSystem final : public port::System {
 public:
  /// The calls fail_next() can make fail.
  enum class Op { kRequestReboot, kReadConfig, kReplaceConfig, kStartProcess, kPollProcess, kSignalProcess };

  struct Program {
    std::string output;              ///< written when it starts
    bool echo_args = false;          ///< then writes its arguments, space-separated, and '\n'
    int exit_code = 0;               ///< how it ends by itself
    bool runs = false;               ///< keeps running until the test or a signal ends it
    bool ignores_terminate = false;  ///< kTerminate does not end it
  };
  struct Started {
    port::ProcessId id = 0;
    std::string path;
    std::vector<std::string> args;
  };
  struct SignalSent {
    port::ProcessId id = 0;
    port::ProcessSignal signal = port::ProcessSignal::kTerminate;
  };

  explicit FakeSystem(std::size_t max_processes = 4, std::size_t output_capacity = 4096, bool has_config_file = true);

  // --- faults and scripts ---------------------------------------------------------------------------
  void fail_next(Op op, Status status, int count = 1) {
    failures_.fail_next(static_cast<std::size_t>(op), status, count);
  }
  void set_reboot_result(Status status) { reboot_result_ = status; }
  void add_program(std::string path, Program program);

  // --- the configuration file -----------------------------------------------------------------------
  void set_config_file(std::string text);
  void remove_config_file() { config_present_ = false; }
  const std::string& config_file() const { return config_; }
  std::uint32_t config_writes() const { return config_writes_; }

  // --- driving running programs ---------------------------------------------------------------------
  /// The program writes `bytes` (visible at the next poll). False if `id` is not running.
  bool write_output(port::ProcessId id, std::string_view bytes);
  /// The program exits with `code` (visible at the next poll). False if `id` is not running.
  bool exit(port::ProcessId id, int code) { return end(id, port::ProcessState::kExited, code); }
  /// The program is ended by `signal` (visible at the next poll). False if `id` is not running.
  bool kill(port::ProcessId id, int signal) { return end(id, port::ProcessState::kKilled, signal); }

  // --- inspection -------------------------------------------------------------------------------------
  std::uint32_t reboot_requests() const { return reboot_requests_; }
  const std::vector<Started>& started() const { return started_; }
  const std::vector<SignalSent>& signals() const { return signals_; }
  /// Slots in use (started, not released).
  std::size_t slots_in_use() const;
  /// Programs still running (not ended, even if not yet polled).
  std::size_t running() const;
  std::uint32_t released() const { return released_; }

 private:
  struct Slot {
    bool used = false;
    port::ProcessId id = 0;
    bool ignores_terminate = false;
    // What the program has done; made visible by the next poll.
    std::string pipe;
    bool ended = false;
    port::ProcessStatus ending;
    // What poll_process has seen.
    port::ProcessStatus status;
    std::vector<char> storage;
    port::OutputTail output;
  };
  struct NamedProgram {
    std::string path;
    Program program;
  };
  static constexpr std::size_t kOpCount = 6;

  Status do_request_reboot() override;
  Result<std::size_t> do_read_config(Span<char> out) override;
  Status do_replace_config(std::string_view text) override;
  Result<port::ProcessId> do_start_process(std::string_view path, Span<const std::string_view> args) override;
  Result<port::ProcessStatus> do_poll_process(port::ProcessId id) override;
  Result<std::size_t> do_read_output(port::ProcessId id, Span<char> out) override;
  Status do_signal_process(port::ProcessId id, port::ProcessSignal signal) override;
  Status do_release_process(port::ProcessId id) override;
  std::size_t do_max_processes() const override { return slots_.size(); }
  std::size_t do_output_capacity() const override { return output_capacity_; }

  Slot* find(port::ProcessId id);
  Slot* find_running(port::ProcessId id);
  bool end(port::ProcessId id, port::ProcessState state, int code);

  std::vector<Slot> slots_;
  std::size_t output_capacity_;
  std::vector<NamedProgram> programs_;
  detail::FailureScript<kOpCount> failures_;
  Status reboot_result_;
  std::uint32_t reboot_requests_ = 0;
  bool config_supported_;
  bool config_present_ = false;
  std::string config_;
  std::uint32_t config_writes_ = 0;
  port::ProcessId next_id_ = 1;
  std::vector<Started> started_;
  std::vector<SignalSent> signals_;
  std::uint32_t released_ = 0;
};

}  // namespace tether::testing
