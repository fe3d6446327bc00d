// Copyright 2026 The Tether Authors. SPDX-License-Identifier: Apache-2.0
// The System conformance suite against FakeSystem, and the fake's own scripting and fault
// injection: programs driven by the test, restart results, configuration faults.
#include <catch2/catch.hpp>
#include <memory>

#include "system_conformance.hpp"
#include "test_support.hpp"
#include "tether/port/testing/fake_system.hpp"

using namespace tether;
using testing::FakeSystem;
using Program = FakeSystem::Program;

namespace {

class FakeTarget final : public conformance::SystemTarget {
 public:
  port::System& create(std::size_t max_processes, std::size_t output_capacity,
                       const std::string& config_text) override {
    system_ = std::make_unique<FakeSystem>(max_processes, output_capacity);
    system_->set_config_file(config_text);
    system_->add_program("/bin/echo", Program{"", true, 0, false, false});
    system_->add_program("/bin/false", Program{"", false, 1, false, false});
    system_->add_program("/bin/sleep", Program{"", false, 0, true, false});
    system_->add_program("/usr/bin/stubborn", Program{"ready\n", false, 0, true, true});
    return *system_;
  }
  conformance::ProgramSpec echo() override { return {"/bin/echo", {}}; }
  conformance::ProgramSpec fail() override { return {"/bin/false", {}}; }
  conformance::ProgramSpec sleeper() override { return {"/bin/sleep", {"60"}}; }
  conformance::ProgramSpec stubborn() override { return {"/usr/bin/stubborn", {}}; }
  std::string missing() override { return "/usr/bin/not-installed"; }
  void pause() override {}

 private:
  std::unique_ptr<FakeSystem> system_;
};

port::ProcessStatus polled(FakeSystem& system, port::ProcessId id) {
  const Result<port::ProcessStatus> s = system.poll_process(id);
  REQUIRE(s.status() == Status());
  return *s;
}

}  // namespace

TETHER_SYSTEM_CONFORMANCE_TESTS("system conformance (fake)", FakeTarget)

// --- the fake's own behaviour ------------------------------------------------------------------------

TEST_CASE("fake system: a running program's output and end become visible at the next poll") {
  FakeSystem system;
  system.add_program("/bin/job", Program{"start\n", false, 0, true, false});
  const std::string_view args[] = {"--fast"};
  const Result<port::ProcessId> id = system.start_process("/bin/job", Span<const std::string_view>(args, 1));
  REQUIRE(id.ok());
  REQUIRE(system.started().size() == 1);
  CHECK(system.started()[0].args == std::vector<std::string>{"--fast"});
  CHECK(polled(system, *id).output_total == 6);
  CHECK(system.write_output(*id, "more\n"));
  CHECK(system.exit(*id, 3));
  CHECK(system.running() == 0);
  CHECK_FALSE(system.write_output(*id, "late"));  // it has ended
  const port::ProcessStatus s = polled(system, *id);
  CHECK(s.state == port::ProcessState::kExited);
  CHECK(s.exit_code == 3);
  CHECK(s.output_total == 11);
  CHECK(system.release_process(*id) == Status());
  CHECK(system.released() == 1);
  CHECK(system.signals().empty());  // it had ended: nothing to kill
}

TEST_CASE("fake system: releasing a running program records a kill") {
  FakeSystem system;
  system.add_program("/bin/job", Program{"", false, 0, true, false});
  const Result<port::ProcessId> id = system.start_process("/bin/job", {});
  REQUIRE(id.ok());
  CHECK(system.release_process(*id) == Status());
  REQUIRE(system.signals().size() == 1);
  CHECK(system.signals()[0].signal == port::ProcessSignal::kKill);
  CHECK(system.slots_in_use() == 0);
}

TEST_CASE("fake system: injected failures are returned once and change nothing") {
  FakeSystem system;
  system.add_program("/bin/job", Program{"", false, 0, true, false});
  const Status injected(StatusCode::kUnavailable, Origin::kOs, 11);
  system.fail_next(FakeSystem::Op::kStartProcess, injected);
  CHECK(system.start_process("/bin/job", {}).status() == injected);
  CHECK(system.started().empty());
  const Result<port::ProcessId> id = system.start_process("/bin/job", {});
  REQUIRE(id.ok());
  system.fail_next(FakeSystem::Op::kPollProcess, injected);
  CHECK(system.poll_process(*id).status() == injected);
  system.fail_next(FakeSystem::Op::kSignalProcess, injected);
  CHECK(system.signal_process(*id, port::ProcessSignal::kKill) == injected);
  CHECK(polled(system, *id).state == port::ProcessState::kRunning);

  system.set_config_file("{}");
  system.fail_next(FakeSystem::Op::kReplaceConfig, injected);
  CHECK(system.replace_config("{\"a\":1}") == injected);
  CHECK(system.config_file() == "{}");
  CHECK(system.config_writes() == 0);
  char buf[16];
  system.fail_next(FakeSystem::Op::kReadConfig, injected);
  CHECK(system.read_config(Span<char>(buf, sizeof buf)).status() == injected);
  system.remove_config_file();
  CHECK(system.read_config(Span<char>(buf, sizeof buf)).status().code() == StatusCode::kNotFound);
}

TEST_CASE("fake system: restarts are counted and answer what the test set") {
  FakeSystem system;
  CHECK(system.request_reboot() == Status());
  system.set_reboot_result(Status(StatusCode::kUnimplemented, Origin::kOs));
  CHECK(system.request_reboot().code() == StatusCode::kUnimplemented);
  system.fail_next(FakeSystem::Op::kRequestReboot, Status(StatusCode::kPermissionDenied, Origin::kOs, 1));
  CHECK(system.request_reboot().code() == StatusCode::kPermissionDenied);
  CHECK(system.reboot_requests() == 3);
}

TEST_CASE("fake system: without a configuration file both configuration calls are unimplemented") {
  FakeSystem system(4, 4096, false);
  char buf[16];
  CHECK(system.read_config(Span<char>(buf, sizeof buf)).status().code() == StatusCode::kUnimplemented);
  CHECK(system.replace_config("{}").code() == StatusCode::kUnimplemented);
}

TEST_CASE("output tail: wraps around, keeps the most recent bytes and counts what it dropped") {
  char storage[8];
  port::OutputTail tail(Span<char>(storage, sizeof storage));
  char out[16];
  tail.append("abcde", 5);
  CHECK(std::string(out, tail.copy_tail(Span<char>(out, sizeof out))) == "abcde");
  tail.append("fghij", 5);  // wraps
  CHECK(std::string(out, tail.copy_tail(Span<char>(out, sizeof out))) == "cdefghij");
  CHECK(std::string(out, tail.copy_tail(Span<char>(out, 3))) == "hij");
  CHECK(tail.total() == 10);
  CHECK(tail.cut() == 2);
  tail.append("0123456789ABC", 13);  // more than the capacity at once
  CHECK(std::string(out, tail.copy_tail(Span<char>(out, sizeof out))) == "56789ABC");
  CHECK(tail.cut() == 15);
  tail.clear();
  CHECK(tail.copy_tail(Span<char>(out, sizeof out)) == 0);
  CHECK(tail.total() == 0);
}
