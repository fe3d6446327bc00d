// Copyright 2026 The Tether Authors. SPDX-License-Identifier: Apache-2.0
#include "system_conformance.hpp"

#include <string_view>

#include "test_support.hpp"

namespace tether::conformance {

namespace {

using port::ProcessId;
using port::ProcessSignal;
using port::ProcessState;
using port::ProcessStatus;
using port::System;

// Polls at most this often (with the target's pause between) for a program to end.
constexpr int kMaxPolls = 4000;

Result<ProcessId> start(System& system, const ProgramSpec& program, const std::vector<std::string>& extra = {}) {
  std::vector<std::string_view> args;
  for (const std::string& a : program.args) args.emplace_back(a);
  for (const std::string& a : extra) args.emplace_back(a);
  return system.start_process(program.path, Span<const std::string_view>(args.data(), args.size()));
}

ProcessId started(System& system, const ProgramSpec& program, const std::vector<std::string>& extra = {}) {
  const Result<ProcessId> id = start(system, program, extra);
  REQUIRE(id.status() == Status());
  CHECK(*id != 0);
  return *id;
}

ProcessStatus wait_end(SystemTarget& target, System& system, ProcessId id) {
  for (int i = 0; i < kMaxPolls; ++i) {
    const Result<ProcessStatus> s = system.poll_process(id);
    REQUIRE(s.status() == Status());
    if (s->state != ProcessState::kRunning) return *s;
    target.pause();
  }
  FAIL("the program did not end");
  return {};
}

std::string output_of(System& system, ProcessId id, std::size_t max = 1 << 16) {
  std::string out(max, '\0');
  const Result<std::size_t> n = system.read_output(id, Span<char>(&out[0], out.size()));
  REQUIRE(n.status() == Status());
  out.resize(*n);
  return out;
}

// A few polls while the program runs: it is still running afterwards.
void check_still_running(SystemTarget& target, System& system, ProcessId id) {
  for (int i = 0; i < 3; ++i) {
    target.pause();
    const Result<ProcessStatus> s = system.poll_process(id);
    REQUIRE(s.status() == Status());
    REQUIRE(s->state == ProcessState::kRunning);
  }
}

}  // namespace

void a_program_output_and_exit_code_zero_are_reported(SystemTarget& target) {
  System& system = target.create(2, 1024, "{}");
  const ProcessId id = started(system, target.echo(), {"hello", "world"});
  const ProcessStatus s = wait_end(target, system, id);
  CHECK(s.state == ProcessState::kExited);
  CHECK(s.exit_code == 0);
  CHECK(output_of(system, id) == "hello world\n");
  CHECK(s.output_total == 12);
  CHECK(s.output_cut == 0);
  // The finished program keeps its slot, status and output until released.
  const Result<ProcessStatus> again = system.poll_process(id);
  REQUIRE(again.status() == Status());
  CHECK(again->state == ProcessState::kExited);
  CHECK(output_of(system, id, 6) == "world\n");
  CHECK(system.release_process(id) == Status());
}

void a_failing_program_reports_its_exit_code(SystemTarget& target) {
  System& system = target.create(2, 1024, "{}");
  const ProcessId id = started(system, target.fail());
  const ProcessStatus s = wait_end(target, system, id);
  CHECK(s.state == ProcessState::kExited);
  CHECK(s.exit_code == 1);
  CHECK(system.release_process(id) == Status());
}

void bad_paths_and_arguments_are_invalid_and_start_nothing(SystemTarget& target) {
  System& system = target.create(1, 1024, "{}");
  const ProgramSpec echo = target.echo();
  const auto invalid = [](std::uint16_t detail) { return Status(StatusCode::kInvalidArgument, Origin::kOs, detail); };
  const std::string relative = echo.path.substr(echo.path.rfind('/') + 1);
  CHECK(start(system, ProgramSpec{relative, {}}).status() == invalid(0));
  CHECK(start(system, ProgramSpec{"", {}}).status() == invalid(0));
  CHECK(start(system, ProgramSpec{"./" + relative, {}}).status() == invalid(0));
  CHECK(start(system, ProgramSpec{echo.path + std::string(1, '\0'), {}}).status() == invalid(0));
  CHECK(start(system, echo, {"a", std::string("b\0c", 3)}).status() ==
        invalid(static_cast<std::uint16_t>(echo.args.size() + 2)));
  std::vector<std::string> many(kMaxProcessArgs + 1 - echo.args.size(), "x");
  CHECK(start(system, echo, many).status().code() == StatusCode::kInvalidArgument);
  // kMaxProcessArgs arguments are fine, and the one slot was free all along.
  many.pop_back();
  const ProcessId id = started(system, echo, many);
  CHECK(wait_end(target, system, id).exit_code == 0);
}

void a_missing_program_is_not_found(SystemTarget& target) {
  System& system = target.create(1, 1024, "{}");
  CHECK(start(system, ProgramSpec{target.missing(), {}}).status().code() == StatusCode::kNotFound);
  const ProcessId id = started(system, target.echo());  // the slot is free
  CHECK(wait_end(target, system, id).state == ProcessState::kExited);
}

void terminate_and_kill_end_a_program_with_their_signal(SystemTarget& target) {
  System& system = target.create(2, 1024, "{}");
  const ProcessId a = started(system, target.sleeper());
  const ProcessId b = started(system, target.sleeper());
  check_still_running(target, system, a);
  CHECK(system.signal_process(a, ProcessSignal::kTerminate) == Status());
  CHECK(system.signal_process(b, ProcessSignal::kKill) == Status());
  const ProcessStatus sa = wait_end(target, system, a);
  const ProcessStatus sb = wait_end(target, system, b);
  CHECK(sa.state == ProcessState::kKilled);
  CHECK(sa.signal == 15);
  CHECK(sb.state == ProcessState::kKilled);
  CHECK(sb.signal == 9);
}

void a_program_that_ignores_terminate_ends_with_kill(SystemTarget& target) {
  System& system = target.create(1, 1024, "{}");
  const ProcessId id = started(system, target.stubborn());
  for (int i = 0; i < kMaxPolls; ++i) {  // until it says it ignores SIGTERM
    const Result<ProcessStatus> s = system.poll_process(id);
    REQUIRE(s.status() == Status());
    REQUIRE(s->state == ProcessState::kRunning);
    if (s->output_total > 0) break;
    target.pause();
  }
  CHECK(system.signal_process(id, ProcessSignal::kTerminate) == Status());
  check_still_running(target, system, id);
  CHECK(system.signal_process(id, ProcessSignal::kKill) == Status());
  const ProcessStatus s = wait_end(target, system, id);
  CHECK(s.state == ProcessState::kKilled);
  CHECK(s.signal == 9);
}

void the_slot_table_is_bounded_and_release_frees_a_slot(SystemTarget& target) {
  System& system = target.create(2, 1024, "{}");
  CHECK(system.max_processes() == 2);
  CHECK(system.output_capacity() == 1024);
  const ProcessId a = started(system, target.sleeper());
  const ProcessId b = started(system, target.echo());
  CHECK(wait_end(target, system, b).state == ProcessState::kExited);
  // A finished program still holds its slot.
  CHECK(start(system, target.echo()).status().code() == StatusCode::kResourceExhausted);
  CHECK(system.release_process(b) == Status());
  const ProcessId c = started(system, target.sleeper());
  CHECK(c != a);
  CHECK(start(system, target.echo()).status().code() == StatusCode::kResourceExhausted);
  // Releasing a running program kills it and frees its slot at once.
  CHECK(system.release_process(a) == Status());
  const ProcessId d = started(system, target.echo());
  CHECK(wait_end(target, system, d).exit_code == 0);
  CHECK(system.release_process(c) == Status());
  CHECK(system.release_process(d) == Status());
}

void unknown_and_released_ids_are_not_found(SystemTarget& target) {
  System& system = target.create(1, 1024, "{}");
  char buf[8];
  for (ProcessId id : {ProcessId{0}, ProcessId{12345}}) {
    CHECK(system.poll_process(id).status().code() == StatusCode::kNotFound);
    CHECK(system.read_output(id, Span<char>(buf, sizeof buf)).status().code() == StatusCode::kNotFound);
    CHECK(system.signal_process(id, ProcessSignal::kKill).code() == StatusCode::kNotFound);
    CHECK(system.release_process(id).code() == StatusCode::kNotFound);
  }
  const ProcessId id = started(system, target.echo());
  wait_end(target, system, id);
  REQUIRE(system.release_process(id) == Status());
  CHECK(system.poll_process(id).status().code() == StatusCode::kNotFound);
  CHECK(system.release_process(id).code() == StatusCode::kNotFound);
  // A new program in the same slot gets another id.
  const ProcessId next = started(system, target.echo());
  CHECK(next != id);
  CHECK(system.poll_process(id).status().code() == StatusCode::kNotFound);
  wait_end(target, system, next);
}

void output_beyond_the_capacity_keeps_the_most_recent_bytes_and_counts_the_cut(SystemTarget& target) {
  System& system = target.create(1, 256, "{}");
  std::string text;
  for (int i = 0; text.size() < 3000; ++i) text += std::to_string(i) + ",";
  const ProcessId id = started(system, target.echo(), {text});
  const ProcessStatus s = wait_end(target, system, id);
  const std::string written = text + "\n";
  CHECK(s.exit_code == 0);
  CHECK(s.output_total == written.size());
  CHECK(s.output_cut == written.size() - 256);
  CHECK(output_of(system, id) == written.substr(written.size() - 256));
  CHECK(output_of(system, id, 10) == written.substr(written.size() - 10));
  CHECK(output_of(system, id, 0).empty());
}

void signalling_a_finished_program_is_ok_and_changes_nothing(SystemTarget& target) {
  System& system = target.create(1, 1024, "{}");
  const ProcessId id = started(system, target.fail());
  wait_end(target, system, id);
  CHECK(system.signal_process(id, ProcessSignal::kTerminate) == Status());
  CHECK(system.signal_process(id, ProcessSignal::kKill) == Status());
  const Result<ProcessStatus> s = system.poll_process(id);
  REQUIRE(s.status() == Status());
  CHECK(s->state == ProcessState::kExited);
  CHECK(s->exit_code == 1);
}

void the_configuration_file_is_read_and_replaced_whole(SystemTarget& target) {
  const std::string before = "{\n  \"thing_name\": \"a\"\n}\n";
  System& system = target.create(1, 1024, before);
  std::string buf(4096, '\0');
  Result<std::size_t> n = system.read_config(Span<char>(&buf[0], buf.size()));
  REQUIRE(n.status() == Status());
  CHECK(buf.substr(0, *n) == before);
  char small[8];
  const Result<std::size_t> too_small = system.read_config(Span<char>(small, sizeof small));
  CHECK(too_small.status().code() == StatusCode::kResourceExhausted);
  CHECK(too_small.status().detail() == before.size());

  const std::string after = "{\"thing_name\": \"b\"}";  // shorter: nothing of the old text may remain
  REQUIRE(system.replace_config(after) == Status());
  n = system.read_config(Span<char>(&buf[0], buf.size()));
  REQUIRE(n.status() == Status());
  CHECK(buf.substr(0, *n) == after);
  REQUIRE(system.replace_config("") == Status());
  n = system.read_config(Span<char>(&buf[0], buf.size()));
  REQUIRE(n.status() == Status());
  CHECK(*n == 0);
}

}  // namespace tether::conformance
