// Copyright 2026 The Tether Authors. SPDX-License-Identifier: Apache-2.0
// The built-in operations (reboot, set-config, allow-listed run) over the fakes: FakeSystem for the
// device, a scripted adapter for the protocol, MemoryKvStore for the journal, SimulatedClock.
#include <catch2/catch.hpp>
#include <memory>
#include <string>
#include <vector>

#include "commands_test_support.hpp"
#include "test_support.hpp"
#include "tether/agent.hpp"
#include "tether/commands/builtins.hpp"
#include "tether/config.hpp"
#include "tether/port/testing/capturing_log_sink.hpp"
#include "tether/port/testing/fake_mqtt_client.hpp"
#include "tether/port/testing/fake_system.hpp"
#include "tether/port/testing/memory_kv_store.hpp"
#include "tether/port/testing/simulated_clock.hpp"

using namespace tether;
using namespace tether::commands;
using namespace tether::test;
using std::chrono::milliseconds;
using std::chrono::seconds;
using Program = testing::FakeSystem::Program;

namespace {

// A configuration file with a `commands` section; `commands` is the section's inside.
std::string config_file(const std::string& commands) {
  return R"({
  "thing_name": "device-1",
  "endpoint": "127.0.0.1",
  "tls": { "ca_file": "ca.pem", "cert_file": "device.crt", "key": "device.key" },
  "mqtt": { "keep_alive_s": 60 },
  "log": { "level": "info" },
  "commands": {)" +
         commands + "}\n}\n";
}

const std::string kCommands = R"(
    "max_running": 2, "heartbeat_s": 10, "reboot": true, "set_config": true,
    "run": [
      { "name": "echo", "path": "/bin/echo", "args": ["hello"], "extra_args": true, "timeout_s": 30 },
      { "name": "uptime", "path": "/usr/bin/uptime" },
      { "name": "fail", "path": "/bin/false" },
      { "name": "long", "path": "/usr/bin/long-job", "timeout_s": 30 }
    ])";

// The journal, with one put that fails: the one numbered `fail_put` (counting from 1).
class FlakyStore final : public port::KvStore {
 public:
  explicit FlakyStore(port::KvStore& inner) : inner_(inner) {}
  std::uint64_t puts = 0;
  std::uint64_t fail_put = 0;

 private:
  Result<std::size_t> do_get(std::string_view key, Span<std::uint8_t> out) override { return inner_.get(key, out); }
  Result<std::size_t> do_size(std::string_view key) override { return inner_.size(key); }
  Status do_put(std::string_view key, Span<const std::uint8_t> value) override {
    if (++puts == fail_put) return Status(StatusCode::kUnavailable, Origin::kStore, 5);
    return inner_.put(key, value);
  }
  Status do_remove(std::string_view key) override { return inner_.remove(key); }
  std::size_t do_max_value_size() const override { return inner_.max_value_size(); }

  port::KvStore& inner_;
};

class Rig {
 public:
  testing::SimulatedClock clock;
  testing::FakeMqttClient mqtt{&clock};
  testing::CapturingLogSink log;
  testing::MemoryKvStore store;
  FlakyStore journal{store};
  testing::FakeSystem system;
  AgentConfig config;
  BuiltinsSettings settings;
  std::vector<char> workspace = std::vector<char>(4 * 4096);
  std::unique_ptr<Agent> agent;
  std::unique_ptr<Inbox> inbox;
  std::unique_ptr<Builtins> builtins;
  std::unique_ptr<ScriptedAdapter> adapter;

  explicit Rig(const std::string& commands = kCommands) {
    const std::string text = config_file(commands);
    ErrorText why;
    INFO(why.c_str());
    REQUIRE(parse_config(text, "agent.json", config, &why).ok());
    system.set_config_file(text);
    system.add_program("/bin/echo", Program{"", true, 0, false, false});
    system.add_program("/usr/bin/uptime", Program{" 10:00:00 up 3 days\n", false, 0, false, false});
    system.add_program("/bin/false", Program{"no luck\n", false, 1, false, false});
    system.add_program("/usr/bin/long-job", Program{"", false, 0, true, false});
    settings.config_workspace = Span<char>(workspace.data(), workspace.size());
  }

  // Builds the agent, inbox and built-ins over the same store and system (a restart when repeated).
  void boot() {
    if (agent) {
      mqtt.drop_connection(Status(StatusCode::kUnavailable, Origin::kSocket));
      agent->run_once(milliseconds(0)).ignore();
    }
    builtins.reset();
    inbox.reset();
    adapter = std::make_unique<ScriptedAdapter>(Source::kCommands);
    agent = std::make_unique<Agent>(mqtt, clock, config, &log, 3);
    inbox = std::make_unique<Inbox>(*agent, &journal, inbox_settings(config.commands));
    builtins = std::make_unique<Builtins>(*inbox, system, config.commands, settings);
    ErrorText why;
    REQUIRE(builtins->start(&why).ok());
    REQUIRE(inbox->add_adapter(*adapter).ok());
    REQUIRE(inbox->start(&why).ok());
    REQUIRE(agent->start().ok());
    run(milliseconds(100));
  }
  void run(milliseconds d) {
    const milliseconds end = clock.now() + d;
    while (clock.now() < end) agent->run_once(milliseconds(50)).ignore();
  }
  Delivery deliver(const std::string& id, const std::string& document) { return adapter->deliver_json(id, document); }
  // The last status sent for `id`.
  Sent last(const std::string& id) const {
    for (auto it = adapter->sent.rbegin(); it != adapter->sent.rend(); ++it) {
      if (it->id == id) return *it;
    }
    FAIL("no status sent for " << id);
    return {};
  }
  port::ProcessId last_process() const {
    REQUIRE_FALSE(system.started().empty());
    return system.started().back().id;
  }
};

}  // namespace

// ---- registration ---------------------------------------------------------------------------------

TEST_CASE("builtins: only the operations the configuration enables are offered") {
  Rig rig(R"("reboot": false, "set_config": false)");
  rig.boot();
  for (const char* op : {"reboot", "set-config", "run"}) {
    const std::string id = std::string("c-") + op;
    CHECK(rig.deliver(id, std::string(R"({"operation":")") + op + R"("})") == Delivery::kRejected);
    CHECK(rig.last(id).reason_code == "UNKNOWN_OPERATION");
  }
  CHECK(rig.system.reboot_requests() == 0);
}

TEST_CASE("builtins: start refuses set_config without a workspace, before registering anything") {
  Rig rig;
  rig.settings.config_workspace = Span<char>();
  testing::FakeMqttClient mqtt(&rig.clock);
  Agent agent(mqtt, rig.clock, rig.config);
  Inbox inbox(agent, &rig.store);
  Builtins builtins(inbox, rig.system, rig.config.commands, rig.settings);
  ErrorText why;
  CHECK(builtins.start(&why).code() == StatusCode::kInvalidArgument);
  CHECK(why.view().find("config_workspace") != std::string_view::npos);
}

TEST_CASE("builtins: inbox_settings takes max_running and the heartbeat from the section") {
  Rig rig;
  const InboxSettings s = inbox_settings(rig.config.commands);
  CHECK(s.max_running == 2);
  CHECK(s.heartbeat == seconds(10));
}

// ---- reboot ---------------------------------------------------------------------------------------

TEST_CASE(
    "builtins: reboot is journaled as succeeding after the restart before the system is asked, and the next start "
    "reports SUCCEEDED") {
  Rig rig;
  rig.boot();
  REQUIRE(rig.deliver("r-1", R"({"operation":"reboot"})") == Delivery::kStarted);
  CHECK(rig.system.reboot_requests() == 0);  // the handler returned at once
  CHECK(rig.last("r-1").status == ExecStatus::kInProgress);
  CHECK(rig.last("r-1").details == R"({"step":"rebooting"})");
  rig.run(milliseconds(100));
  CHECK(rig.system.reboot_requests() == 1);
  CHECK(rig.builtins->stats().reboots_requested == 1);
  CHECK(rig.inbox->status_of(Source::kCommands, "r-1").value_or(ExecStatus::kQueued) == ExecStatus::kInProgress);

  rig.boot();  // the device came back
  CHECK(rig.last("r-1").status == ExecStatus::kSucceeded);
  CHECK(rig.system.reboot_requests() == 1);
}

TEST_CASE("builtins: programs still running when a reboot starts are stopped and FAILED REBOOTING") {
  Rig rig;
  rig.system.set_reboot_result(Status(StatusCode::kUnimplemented, Origin::kOs));
  rig.boot();
  REQUIRE(rig.deliver("x-1", R"({"operation":"run","name":"long"})") == Delivery::kStarted);
  rig.run(milliseconds(500));
  REQUIRE(rig.deliver("r-1", R"({"operation":"reboot"})") == Delivery::kStarted);
  rig.run(milliseconds(100));
  CHECK(rig.system.reboot_requests() == 1);
  CHECK(rig.system.slots_in_use() == 0);
  CHECK(rig.last("x-1").status == ExecStatus::kFailed);
  CHECK(rig.last("x-1").reason_code == "REBOOTING");
  CHECK(rig.last("r-1").reason_code == "REBOOT_FAILED");  // and the program stays stopped
  CHECK(rig.builtins->running() == 0);
}

TEST_CASE("builtins: reboot waits for reboot_delay before asking the system") {
  Rig rig;
  rig.settings.reboot_delay = seconds(2);
  rig.boot();
  REQUIRE(rig.deliver("r-1", R"({"operation":"reboot"})") == Delivery::kStarted);
  rig.run(milliseconds(1900));
  CHECK(rig.system.reboot_requests() == 0);
  rig.run(milliseconds(200));
  CHECK(rig.system.reboot_requests() == 1);
}

TEST_CASE(
    "builtins: a reboot the system refuses is FAILED REBOOT_FAILED and the next start does not call it a success") {
  Rig rig;
  rig.system.set_reboot_result(Status(StatusCode::kPermissionDenied, Origin::kOs, 1));
  rig.boot();
  REQUIRE(rig.deliver("r-1", R"({"operation":"reboot"})") == Delivery::kStarted);
  rig.run(milliseconds(100));
  CHECK(rig.last("r-1").status == ExecStatus::kFailed);
  CHECK(rig.last("r-1").reason_code == "REBOOT_FAILED");
  CHECK(rig.last("r-1").reason.find("permission_denied") != std::string::npos);
  rig.boot();
  CHECK(rig.inbox->status_of(Source::kCommands, "r-1").value_or(ExecStatus::kQueued) == ExecStatus::kFailed);
}

TEST_CASE("builtins: a reboot whose journal write fails is FAILED NOT_JOURNALED and the system is not asked") {
  Rig rig;
  rig.boot();
  // The delivery's journal write (IN_PROGRESS) succeeds, succeed_after_restart's is the next one.
  rig.journal.fail_put = rig.journal.puts + 2;
  REQUIRE(rig.deliver("r-1", R"({"operation":"reboot"})") == Delivery::kStarted);
  rig.run(milliseconds(100));
  CHECK(rig.system.reboot_requests() == 0);
  CHECK(rig.last("r-1").status == ExecStatus::kFailed);
  CHECK(rig.last("r-1").reason_code == "NOT_JOURNALED");
}

TEST_CASE("builtins: a second reboot while one is under way is rejected BUSY") {
  Rig rig;
  rig.settings.reboot_delay = seconds(5);
  rig.boot();
  REQUIRE(rig.deliver("r-1", R"({"operation":"reboot"})") == Delivery::kStarted);
  REQUIRE(rig.deliver("r-2", R"({"operation":"reboot"})") == Delivery::kStarted);
  CHECK(rig.last("r-2").status == ExecStatus::kRejected);
  CHECK(rig.last("r-2").reason_code == "BUSY");
  rig.run(seconds(6));
  CHECK(rig.system.reboot_requests() == 1);
}

// ---- run ------------------------------------------------------------------------------------------

TEST_CASE(
    "builtins: run starts the allow-listed program with its fixed arguments and reports exit code 0 and the output") {
  Rig rig;
  rig.boot();
  REQUIRE(rig.deliver("x-1", R"({"operation":"run","name":"echo"})") == Delivery::kStarted);
  REQUIRE(rig.system.started().size() == 1);
  CHECK(rig.system.started()[0].path == "/bin/echo");
  CHECK(rig.system.started()[0].args == std::vector<std::string>{"hello"});
  rig.run(milliseconds(500));
  CHECK(rig.last("x-1").status == ExecStatus::kSucceeded);
  CHECK(rig.last("x-1").details == R"({"exit_code":0,"output":"hello\n","output_cut":0})");
  CHECK(rig.system.slots_in_use() == 0);  // released
  CHECK(rig.builtins->running() == 0);
  CHECK(rig.builtins->stats().runs_succeeded == 1);
}

TEST_CASE("builtins: extra arguments are appended when the entry allows them") {
  Rig rig;
  rig.boot();
  REQUIRE(rig.deliver("x-1", R"({"operation":"run","name":"echo","args":["a.b_c","k=v,w:1@h%2+/x-y"]})") ==
          Delivery::kStarted);
  rig.run(milliseconds(500));
  CHECK(rig.system.started()[0].args == std::vector<std::string>{"hello", "a.b_c", "k=v,w:1@h%2+/x-y"});
  CHECK(rig.last("x-1").status == ExecStatus::kSucceeded);
}

TEST_CASE("builtins: shell metacharacters, options and spaces in extra arguments are rejected and nothing runs") {
  Rig rig;
  rig.boot();
  // JSON string literals.
  const char* bad[] = {R"j("a;b")j",   R"j("$(id)")j",  R"j("`id`")j", R"j("a b")j",    R"j("a|b")j",    R"j("a&b")j",
                       R"j("x>y")j",   R"j("*")j",      R"j("?")j",    R"j("-rf")j",    R"j("--help")j", R"j("'q'")j",
                       R"j("\"q\"")j", R"j("a\\b")j",   R"j("a\nb")j", R"j("")j",       R"j("~root")j",  R"j("a!b")j",
                       R"j("{a,b}")j", R"j("\u00e9")j", R"j("a\tb")j", R"j("a\u0001")j"};
  std::uint32_t n = 0;
  for (const char* arg : bad) {
    const std::string id = "x-" + std::to_string(++n);
    INFO(arg);
    REQUIRE(rig.deliver(id, std::string(R"({"operation":"run","name":"echo","args":[)") + arg + "]}") ==
            Delivery::kStarted);
    CHECK(rig.last(id).status == ExecStatus::kRejected);
    CHECK(rig.last(id).reason_code == "INVALID_ARGUMENTS");
  }
  CHECK(rig.system.started().empty());
  CHECK(rig.builtins->stats().runs_refused == n);
}

TEST_CASE("builtins: an entry without extra_args takes no arguments from the request") {
  Rig rig;
  rig.boot();
  REQUIRE(rig.deliver("x-1", R"({"operation":"run","name":"uptime","args":["-p"]})") == Delivery::kStarted);
  CHECK(rig.last("x-1").reason_code == "INVALID_ARGUMENTS");
  REQUIRE(rig.deliver("x-2", R"({"operation":"run","name":"uptime","args":["p"]})") == Delivery::kStarted);
  CHECK(rig.last("x-2").reason_code == "INVALID_ARGUMENTS");
  REQUIRE(rig.deliver("x-3", R"({"operation":"run","name":"uptime","args":[]})") == Delivery::kStarted);
  rig.run(milliseconds(500));
  CHECK(rig.last("x-3").status == ExecStatus::kSucceeded);
  REQUIRE(rig.system.started().size() == 1);
  CHECK(rig.system.started()[0].args.empty());
}

TEST_CASE("builtins: a program not in the allow-list is rejected whatever the request names") {
  Rig rig;
  rig.boot();
  for (const char* name : {"/bin/sh", "sh", "/bin/echo", "ECHO", "echo ", ""}) {
    const std::string id = std::string("x-") + name;
    REQUIRE(rig.deliver(id, std::string(R"({"operation":"run","name":")") + name + R"("})") == Delivery::kStarted);
    CHECK(rig.last(id).status == ExecStatus::kRejected);
    CHECK(rig.last(id).reason_code == "NOT_ALLOWED");
  }
  CHECK(rig.system.started().empty());
}

TEST_CASE("builtins: a run document with a path, unknown members or the wrong types is rejected") {
  Rig rig;
  rig.boot();
  const char* documents[] = {
      R"({"operation":"run","name":"echo","path":"/bin/sh"})",
      R"({"operation":"run","name":"echo","env":{"X":"1"}})",
      R"({"operation":"run","name":7})",
      R"({"operation":"run"})",
      R"({"operation":"run","name":"echo","args":"hello"})",
      R"({"operation":"run","name":"echo","args":[1]})",
  };
  const char* codes[] = {"INVALID_DOCUMENT", "INVALID_DOCUMENT", "INVALID_DOCUMENT",
                         "INVALID_DOCUMENT", "INVALID_DOCUMENT", "INVALID_ARGUMENTS"};
  for (std::size_t i = 0; i < 6; ++i) {
    const std::string id = "x-" + std::to_string(i);
    INFO(documents[i]);
    REQUIRE(rig.deliver(id, documents[i]) == Delivery::kStarted);
    CHECK(rig.last(id).status == ExecStatus::kRejected);
    CHECK(rig.last(id).reason_code == codes[i]);
  }
  CHECK(rig.system.started().empty());
}

TEST_CASE("builtins: too many extra arguments are rejected") {
  Rig rig;
  rig.boot();
  std::string args;
  for (std::size_t i = 0; i <= kMaxRunArgs; ++i) args += std::string(i ? "," : "") + "\"a\"";
  REQUIRE(rig.deliver("x-1", R"({"operation":"run","name":"echo","args":[)" + args + "]}") == Delivery::kStarted);
  CHECK(rig.last("x-1").reason_code == "INVALID_ARGUMENTS");
  const std::string long_arg(kMaxRunArg + 1, 'a');
  REQUIRE(rig.deliver("x-2", R"({"operation":"run","name":"echo","args":[")" + long_arg + "\"]}") ==
          Delivery::kStarted);
  CHECK(rig.last("x-2").reason_code == "INVALID_ARGUMENTS");
  CHECK(rig.system.started().empty());
}

TEST_CASE("builtins: a program that exits non-zero is FAILED with the exit code and the end of its output") {
  Rig rig;
  rig.boot();
  REQUIRE(rig.deliver("x-1", R"({"operation":"run","name":"fail"})") == Delivery::kStarted);
  rig.run(milliseconds(500));
  CHECK(rig.last("x-1").status == ExecStatus::kFailed);
  CHECK(rig.last("x-1").reason_code == "NONZERO_EXIT");
  CHECK(rig.last("x-1").reason == "exit code 1; output: no luck\n");
  CHECK(rig.builtins->stats().runs_failed == 1);
}

TEST_CASE("builtins: a program killed by a signal is FAILED KILLED") {
  Rig rig;
  rig.boot();
  REQUIRE(rig.deliver("x-1", R"({"operation":"run","name":"long"})") == Delivery::kStarted);
  rig.run(milliseconds(500));
  REQUIRE(rig.system.kill(rig.last_process(), 11));
  rig.run(milliseconds(500));
  CHECK(rig.last("x-1").status == ExecStatus::kFailed);
  CHECK(rig.last("x-1").reason_code == "KILLED");
  CHECK(rig.last("x-1").reason == "killed by signal 11");
}

TEST_CASE("builtins: the reason of a failed run keeps the end of a long output within the inbox's limit") {
  Rig rig;
  rig.boot();
  REQUIRE(rig.deliver("x-1", R"({"operation":"run","name":"long"})") == Delivery::kStarted);
  std::string output;
  for (int i = 0; i < 100; ++i) output += "line " + std::to_string(i) + "\n";
  REQUIRE(rig.system.write_output(rig.last_process(), output + "fatal: disk full"));
  REQUIRE(rig.system.exit(rig.last_process(), 2));
  rig.run(milliseconds(500));
  const Sent s = rig.last("x-1");
  CHECK(s.reason_code == "NONZERO_EXIT");
  CHECK(s.reason.size() == kMaxReason);
  CHECK(s.reason.rfind("exit code 2; output: ", 0) == 0);
  CHECK(s.reason.substr(s.reason.size() - 16) == "fatal: disk full");
}

TEST_CASE("builtins: a program past its timeout gets SIGTERM and is FAILED TIMEOUT") {
  Rig rig;
  rig.boot();
  REQUIRE(rig.deliver("x-1", R"({"operation":"run","name":"long"})") == Delivery::kStarted);
  rig.run(seconds(29));
  CHECK(rig.system.signals().empty());
  rig.run(seconds(2));  // the entry's timeout_s is 30
  REQUIRE(rig.system.signals().size() == 1);
  CHECK(rig.system.signals()[0].signal == port::ProcessSignal::kTerminate);
  CHECK(rig.last("x-1").status == ExecStatus::kFailed);  // long-job ends on SIGTERM
  CHECK(rig.last("x-1").reason_code == "TIMEOUT");
  CHECK(rig.last("x-1").reason == "ran past its timeout; stopped with SIGTERM");
  CHECK(rig.builtins->stats().runs_timed_out == 1);
}

TEST_CASE("builtins: a program that ignores SIGTERM is killed after the grace") {
  Rig rig(R"("run": [{ "name": "stubborn", "path": "/usr/bin/stubborn", "timeout_s": 5 }])");
  rig.system.add_program("/usr/bin/stubborn", Program{"", false, 0, true, true});
  rig.settings.kill_grace = seconds(3);
  rig.boot();
  REQUIRE(rig.deliver("x-1", R"({"operation":"run","name":"stubborn"})") == Delivery::kStarted);
  rig.run(seconds(6));
  REQUIRE(rig.system.signals().size() == 1);
  CHECK(rig.last("x-1").status == ExecStatus::kInProgress);
  rig.run(seconds(3));
  REQUIRE(rig.system.signals().size() == 2);
  CHECK(rig.system.signals()[1].signal == port::ProcessSignal::kKill);
  rig.run(milliseconds(500));
  CHECK(rig.last("x-1").reason_code == "TIMEOUT");
  CHECK(rig.last("x-1").reason == "ran past its timeout; stopped with SIGKILL");
}

TEST_CASE("builtins: the command's own deadline stops the program too") {
  Rig rig;
  rig.boot();
  REQUIRE(rig.adapter->deliver_json("x-1", R"({"operation":"run","name":"long"})", rig.clock.now() + seconds(5)) ==
          Delivery::kStarted);
  rig.run(seconds(6));
  CHECK(rig.last("x-1").status == ExecStatus::kTimedOut);  // the inbox's deadline
  REQUIRE(rig.system.signals().size() == 1);
  CHECK(rig.system.signals()[0].signal == port::ProcessSignal::kTerminate);
  rig.run(seconds(1));
  CHECK(rig.system.slots_in_use() == 0);
  CHECK(rig.last("x-1").status == ExecStatus::kTimedOut);  // not overwritten
}

TEST_CASE(
    "builtins: a running program reports IN_PROGRESS with its output tail every heartbeat, only when there is more") {
  Rig rig;
  rig.boot();
  REQUIRE(rig.deliver("x-1", R"({"operation":"run","name":"long"})") == Delivery::kStarted);
  rig.adapter->answer("x-1", StatusAnswer::kAccepted);
  REQUIRE(rig.system.write_output(rig.last_process(), "step 1\n"));
  rig.run(seconds(10) + milliseconds(100));
  CHECK(rig.last("x-1").status == ExecStatus::kInProgress);
  CHECK(rig.last("x-1").details == R"({"output":"step 1\n","output_cut":0})");
  REQUIRE(rig.system.write_output(rig.last_process(), "step 2\n"));
  rig.run(seconds(10));
  CHECK(rig.last("x-1").details == R"({"output":"step 1\nstep 2\n","output_cut":0})");
  REQUIRE(rig.system.exit(rig.last_process(), 0));
  rig.run(milliseconds(500));
  CHECK(rig.last("x-1").details == R"({"exit_code":0,"output":"step 1\nstep 2\n","output_cut":0})");
}

TEST_CASE("builtins: output beyond the tail is cut and the cut reported; control and non-ASCII bytes are shown as ?") {
  Rig rig;
  rig.boot();
  REQUIRE(rig.deliver("x-1", R"({"operation":"run","name":"long"})") == Delivery::kStarted);
  std::string output(5000, 'a');
  output += "\x01\xC3\xA9\"end";
  REQUIRE(rig.system.write_output(rig.last_process(), output));
  REQUIRE(rig.system.exit(rig.last_process(), 0));
  rig.run(milliseconds(500));
  const std::string expected_tail = std::string(kRunOutputTail - 7, 'a') + "???\\\"end";
  CHECK(rig.last("x-1").details == R"({"exit_code":0,"output":")" + expected_tail + R"(","output_cut":)" +
                                       std::to_string(output.size() - kRunOutputTail) + "}");
}

TEST_CASE("builtins: a program that cannot be started is FAILED START_FAILED") {
  Rig rig(R"("run": [{ "name": "gone", "path": "/usr/bin/not-installed" }])");
  rig.boot();
  REQUIRE(rig.deliver("x-1", R"({"operation":"run","name":"gone"})") == Delivery::kStarted);
  CHECK(rig.last("x-1").status == ExecStatus::kFailed);
  CHECK(rig.last("x-1").reason_code == "START_FAILED");
  CHECK(rig.last("x-1").reason.find("not_found") != std::string::npos);
}

TEST_CASE("builtins: commands beyond max_running are refused BUSY by the inbox") {
  Rig rig;
  rig.boot();
  REQUIRE(rig.deliver("x-1", R"({"operation":"run","name":"long"})") == Delivery::kStarted);
  REQUIRE(rig.deliver("x-2", R"({"operation":"run","name":"long"})") == Delivery::kStarted);
  CHECK(rig.deliver("x-3", R"({"operation":"run","name":"long"})") == Delivery::kRejected);
  CHECK(rig.last("x-3").reason_code == "BUSY");
  CHECK(rig.system.running() == 2);
  CHECK(rig.builtins->running() == 2);
}

TEST_CASE("builtins: a program running at a restart is released and its command reported FAILED INTERRUPTED") {
  Rig rig;
  rig.boot();
  REQUIRE(rig.deliver("x-1", R"({"operation":"run","name":"long"})") == Delivery::kStarted);
  rig.run(milliseconds(500));
  rig.boot();
  CHECK(rig.system.slots_in_use() == 0);
  CHECK(rig.system.released() == 1);
  CHECK(rig.last("x-1").status == ExecStatus::kFailed);
  CHECK(rig.last("x-1").reason_code == "INTERRUPTED");
}

// ---- set-config -----------------------------------------------------------------------------------

TEST_CASE(
    "builtins: set-config with a patch writes the merged file and reports what changed, applied at the next start") {
  Rig rig;
  rig.boot();
  REQUIRE(
      rig.deliver(
          "s-1",
          R"({"operation":"set-config","patch":{"mqtt":{"keep_alive_s":300},"log":null,"heartbeat":{"interval_s":5}}})") ==
      Delivery::kStarted);
  CHECK(rig.system.config_writes() == 0);  // the handler returned at once
  rig.run(milliseconds(100));
  CHECK(rig.system.config_writes() == 1);
  CHECK(rig.last("s-1").status == ExecStatus::kSucceeded);
  CHECK(rig.last("s-1").details == R"({"applied":"at_restart","changed":["mqtt.keep_alive_s","heartbeat","log"]})");
  AgentConfig written;
  ErrorText why;
  REQUIRE(parse_config(rig.system.config_file(), "written", written, &why).ok());
  CHECK(written.mqtt.keep_alive_s == 300);
  CHECK(written.heartbeat.interval_s == 5);
  CHECK(written.log_level == LogLevel::kInfo);  // the default again
  CHECK(written.commands.run_count == 4);
  CHECK(rig.config.mqtt.keep_alive_s == 60);  // not applied live
  // Written for people: indented, one member per line.
  CHECK(rig.system.config_file().find("\n  \"mqtt\": {\n    \"keep_alive_s\": 300\n  },") != std::string::npos);
}

TEST_CASE("builtins: set-config with a whole configuration replaces the file") {
  Rig rig;
  rig.boot();
  std::string whole = config_file(kCommands);
  const std::size_t at = whole.find("\"keep_alive_s\": 60");
  REQUIRE(at != std::string::npos);
  whole.replace(at, 18, "\"keep_alive_s\": 120");
  REQUIRE(rig.deliver("s-1", R"({"operation":"set-config","config":)" + whole + "}") == Delivery::kStarted);
  rig.run(milliseconds(100));
  CHECK(rig.last("s-1").status == ExecStatus::kSucceeded);
  CHECK(rig.last("s-1").details == R"({"applied":"at_restart","changed":["mqtt.keep_alive_s"]})");
  AgentConfig written;
  ErrorText why;
  REQUIRE(parse_config(rig.system.config_file(), "written", written, &why).ok());
  CHECK(written.mqtt.keep_alive_s == 120);
}

TEST_CASE(
    "builtins: set-config with an invalid value is FAILED with the parser's text naming the key, the file untouched") {
  Rig rig;
  rig.boot();
  const std::string before = rig.system.config_file();
  REQUIRE(rig.deliver("s-1", R"({"operation":"set-config","patch":{"mqtt":{"keep_alive_s":70000}}})") ==
          Delivery::kStarted);
  REQUIRE(rig.deliver("s-2", R"({"operation":"set-config","patch":{"mqtt":{"keepalive":1}}})") == Delivery::kStarted);
  rig.run(milliseconds(100));
  CHECK(rig.last("s-1").status == ExecStatus::kFailed);
  CHECK(rig.last("s-1").reason_code == "INVALID_CONFIG");
  CHECK(rig.last("s-1").reason == "mqtt.keep_alive_s: must be an integer between 0 and 65535, got 70000");
  CHECK(rig.last("s-2").status == ExecStatus::kRejected);  // one at a time
  CHECK(rig.last("s-2").reason_code == "BUSY");
  REQUIRE(rig.deliver("s-3", R"({"operation":"set-config","patch":{"mqtt":{"keepalive":1}}})") == Delivery::kStarted);
  rig.run(milliseconds(100));
  CHECK(rig.last("s-3").reason == "mqtt: unknown key \"keepalive\"");
  CHECK(rig.system.config_file() == before);
  CHECK(rig.system.config_writes() == 0);
}

TEST_CASE("builtins: set-config cannot change the identity, the credentials, the commands or the gpio section") {
  Rig rig;
  rig.boot();
  const char* patches[] = {
      R"({"thing_name":"other-device"})",
      R"({"client_id":"other"})",
      R"({"tls":{"key":"/etc/tether/other.key"}})",
      R"({"commands":{"run":[{"name":"sh","path":"/bin/sh","extra_args":true}]}})",
      R"({"commands":null})",
      R"({"pkcs11":{"module":"/tmp/evil.so","pin_env":"PIN"}})",
      R"({"gpio":{"chip":"gpiochip0","outputs":[{"name":"relay","line":4,"initial":true}]}})",
  };
  int n = 0;
  for (const char* patch : patches) {
    const std::string id = "s-" + std::to_string(++n);
    INFO(patch);
    REQUIRE(rig.deliver(id, std::string(R"({"operation":"set-config","patch":)") + patch + "}") == Delivery::kStarted);
    rig.run(milliseconds(100));
    CHECK(rig.last(id).status == ExecStatus::kRejected);
    CHECK(rig.last(id).reason_code == "PROTECTED_KEY");
  }
  CHECK(rig.last("s-4").reason == "\"commands\" cannot be changed by a command");
  CHECK(rig.last("s-7").reason == "\"gpio\" cannot be changed by a command");
  CHECK(rig.system.config_writes() == 0);
}

TEST_CASE("builtins: set-config that changes nothing does not write") {
  Rig rig;
  rig.boot();
  REQUIRE(rig.deliver("s-1", R"({"operation":"set-config","patch":{"mqtt":{"keep_alive_s":60.0}}})") ==
          Delivery::kStarted);
  rig.run(milliseconds(100));
  CHECK(rig.last("s-1").status == ExecStatus::kSucceeded);
  CHECK(rig.last("s-1").details == R"({"applied":"unchanged","changed":[]})");
  CHECK(rig.system.config_writes() == 0);
  CHECK(rig.builtins->stats().configs_unchanged == 1);
}

TEST_CASE("builtins: set-config whose write fails is FAILED WRITE_FAILED and the old file stays") {
  Rig rig;
  rig.boot();
  const std::string before = rig.system.config_file();
  rig.system.fail_next(testing::FakeSystem::Op::kReplaceConfig,
                       Status(StatusCode::kResourceExhausted, Origin::kOs, 28));
  REQUIRE(rig.deliver("s-1", R"({"operation":"set-config","patch":{"mqtt":{"keep_alive_s":300}}})") ==
          Delivery::kStarted);
  rig.run(milliseconds(100));
  CHECK(rig.last("s-1").status == ExecStatus::kFailed);
  CHECK(rig.last("s-1").reason_code == "WRITE_FAILED");
  CHECK(rig.last("s-1").reason ==
        "cannot write the configuration file (resource_exhausted/os/28); the old file is kept");
  CHECK(rig.system.config_file() == before);
}

TEST_CASE("builtins: set-config fails when the current file cannot be read or does not fit the workspace") {
  Rig rig;
  rig.boot();
  rig.system.remove_config_file();
  REQUIRE(rig.deliver("s-1", R"({"operation":"set-config","patch":{"mqtt":{"keep_alive_s":300}}})") ==
          Delivery::kStarted);
  rig.run(milliseconds(100));
  CHECK(rig.last("s-1").reason_code == "READ_FAILED");
  rig.system.set_config_file(config_file(kCommands) + std::string(20000, ' '));
  REQUIRE(rig.deliver("s-2", R"({"operation":"set-config","patch":{"mqtt":{"keep_alive_s":300}}})") ==
          Delivery::kStarted);
  rig.run(milliseconds(100));
  CHECK(rig.last("s-2").reason_code == "READ_FAILED");
  CHECK(rig.last("s-2").reason.find("larger than the workspace") != std::string::npos);
}

TEST_CASE("builtins: a malformed set-config document is rejected INVALID_DOCUMENT") {
  Rig rig;
  rig.boot();
  const char* documents[] = {
      R"({"operation":"set-config"})",
      R"({"operation":"set-config","patch":{},"config":{}})",
      R"({"operation":"set-config","patch":[1]})",
      R"({"operation":"set-config","config":"x"})",
      R"({"operation":"set-config","mqtt":{"keep_alive_s":1}})",
  };
  int n = 0;
  for (const char* doc : documents) {
    const std::string id = "s-" + std::to_string(++n);
    INFO(doc);
    REQUIRE(rig.deliver(id, doc) == Delivery::kStarted);
    CHECK(rig.last(id).status == ExecStatus::kRejected);
    CHECK(rig.last(id).reason_code == "INVALID_DOCUMENT");
  }
  CHECK(rig.last("s-5").reason == "unknown member \"mqtt\" (expected \"config\" or \"patch\")");
  rig.run(milliseconds(100));
  CHECK(rig.system.config_writes() == 0);
}

TEST_CASE("builtins: a set-config request larger than the workspace is FAILED CONFIG_TOO_LARGE") {
  Rig rig;
  rig.workspace.resize(256);
  rig.settings.config_workspace = Span<char>(rig.workspace.data(), rig.workspace.size());
  rig.boot();
  const std::string big = R"({"operation":"set-config","patch":{"shadow":{"x":")" + std::string(300, 'x') + R"("}}})";
  REQUIRE(rig.deliver("s-1", big) == Delivery::kStarted);
  CHECK(rig.last("s-1").status == ExecStatus::kFailed);
  CHECK(rig.last("s-1").reason_code == "CONFIG_TOO_LARGE");
  CHECK(rig.system.config_writes() == 0);
}

TEST_CASE("builtins: a program the system can no longer report on is FAILED LOST and released") {
  Rig rig;
  rig.boot();
  REQUIRE(rig.deliver("x-1", R"({"operation":"run","name":"long"})") == Delivery::kStarted);
  rig.system.fail_next(testing::FakeSystem::Op::kPollProcess, Status(StatusCode::kUnavailable, Origin::kOs, 10));
  rig.run(milliseconds(500));
  CHECK(rig.last("x-1").status == ExecStatus::kFailed);
  CHECK(rig.last("x-1").reason_code == "LOST");
  CHECK(rig.system.slots_in_use() == 0);
  CHECK(rig.builtins->running() == 0);
}
