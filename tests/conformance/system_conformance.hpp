// Copyright 2026 The Tether Authors. SPDX-License-Identifier: Apache-2.0
#pragma once

/// @file
/// System conformance suite: the behaviours every implementation of the System port
/// (include/tether/port/system.hpp) must have, written once and run against each implementation
/// by that implementation's test file:
///
/// ```
/// class MyTarget final : public tether::conformance::SystemTarget { ... };
/// TETHER_SYSTEM_CONFORMANCE_TESTS("system conformance (mine)", MyTarget)
/// ```
///
/// expands to one TEST_CASE per behaviour, named "<prefix>: <behaviour>", each with a fresh target.
/// Restart is left to each implementation's own tests (what it does is the integrator's choice).
/// Portable (no OS calls, no exceptions needed).

#include <catch2/catch.hpp>

#include <cstddef>
#include <string>
#include <vector>

#include "tether/port/system.hpp"

namespace tether::conformance {

/// A program as the suite starts it.
struct ProgramSpec {
  std::string path;
  std::vector<std::string> args;
};

/// What the suite needs from an implementation.
class SystemTarget {
 public:
  virtual ~SystemTarget() = default;
  /// A new System with `max_processes` slots keeping `output_capacity` bytes of output each, whose
  /// configuration file holds `config_text`. The target owns it; the reference stays valid until
  /// the next create().
  virtual port::System& create(std::size_t max_processes, std::size_t output_capacity,
                               const std::string& config_text) = 0;
  /// Writes its arguments separated by single spaces and a newline to stdout, exits 0 (/bin/echo).
  virtual ProgramSpec echo() = 0;
  /// Exits 1 (/bin/false).
  virtual ProgramSpec fail() = 0;
  /// Runs (silently) until a signal ends it; SIGTERM does.
  virtual ProgramSpec sleeper() = 0;
  /// Runs until SIGKILL: it ignores SIGTERM, and writes a line once it does.
  virtual ProgramSpec stubborn() = 0;
  /// An absolute path where there is no program.
  virtual std::string missing() = 0;
  /// Lets running programs make progress (a real system: a few milliseconds; a fake: nothing).
  virtual void pause() = 0;
};

void a_program_output_and_exit_code_zero_are_reported(SystemTarget& target);
void a_failing_program_reports_its_exit_code(SystemTarget& target);
void bad_paths_and_arguments_are_invalid_and_start_nothing(SystemTarget& target);
void a_missing_program_is_not_found(SystemTarget& target);
void terminate_and_kill_end_a_program_with_their_signal(SystemTarget& target);
void a_program_that_ignores_terminate_ends_with_kill(SystemTarget& target);
void the_slot_table_is_bounded_and_release_frees_a_slot(SystemTarget& target);
void unknown_and_released_ids_are_not_found(SystemTarget& target);
void output_beyond_the_capacity_keeps_the_most_recent_bytes_and_counts_the_cut(SystemTarget& target);
void signalling_a_finished_program_is_ok_and_changes_nothing(SystemTarget& target);
void the_configuration_file_is_read_and_replaced_whole(SystemTarget& target);

}  // namespace tether::conformance

#define TETHER_SYSTEM_CONFORMANCE_CASE_(PREFIX, TARGET, SENTENCE, FUNCTION) \
  TEST_CASE(PREFIX ": " SENTENCE, "[system][conformance]") {                \
    TARGET target;                                                          \
    ::tether::conformance::FUNCTION(target);                                \
  }

/// One TEST_CASE per behaviour of the System contract, against `TARGET` (a default-constructible
/// SystemTarget), named "PREFIX: <behaviour>" (PREFIX: a string literal).
#define TETHER_SYSTEM_CONFORMANCE_TESTS(PREFIX, TARGET)                                                       \
  TETHER_SYSTEM_CONFORMANCE_CASE_(PREFIX, TARGET, "a program's output and exit code 0 are reported",           \
                                  a_program_output_and_exit_code_zero_are_reported)                            \
  TETHER_SYSTEM_CONFORMANCE_CASE_(PREFIX, TARGET, "a failing program reports its exit code",                   \
                                  a_failing_program_reports_its_exit_code)                                     \
  TETHER_SYSTEM_CONFORMANCE_CASE_(PREFIX, TARGET, "bad paths and arguments are invalid and start nothing",     \
                                  bad_paths_and_arguments_are_invalid_and_start_nothing)                       \
  TETHER_SYSTEM_CONFORMANCE_CASE_(PREFIX, TARGET, "a missing program is not found",                            \
                                  a_missing_program_is_not_found)                                              \
  TETHER_SYSTEM_CONFORMANCE_CASE_(PREFIX, TARGET, "terminate and kill end a program with their signal",        \
                                  terminate_and_kill_end_a_program_with_their_signal)                          \
  TETHER_SYSTEM_CONFORMANCE_CASE_(PREFIX, TARGET, "a program that ignores terminate ends with kill",           \
                                  a_program_that_ignores_terminate_ends_with_kill)                             \
  TETHER_SYSTEM_CONFORMANCE_CASE_(PREFIX, TARGET, "the slot table is bounded and release frees a slot",        \
                                  the_slot_table_is_bounded_and_release_frees_a_slot)                          \
  TETHER_SYSTEM_CONFORMANCE_CASE_(PREFIX, TARGET, "unknown and released ids are not found",                    \
                                  unknown_and_released_ids_are_not_found)                                      \
  TETHER_SYSTEM_CONFORMANCE_CASE_(PREFIX, TARGET,                                                              \
                                  "output beyond the capacity keeps the most recent bytes and counts the cut", \
                                  output_beyond_the_capacity_keeps_the_most_recent_bytes_and_counts_the_cut)   \
  TETHER_SYSTEM_CONFORMANCE_CASE_(PREFIX, TARGET, "signalling a finished program is ok and changes nothing",   \
                                  signalling_a_finished_program_is_ok_and_changes_nothing)                     \
  TETHER_SYSTEM_CONFORMANCE_CASE_(PREFIX, TARGET, "the configuration file is read and replaced whole",         \
                                  the_configuration_file_is_read_and_replaced_whole)
