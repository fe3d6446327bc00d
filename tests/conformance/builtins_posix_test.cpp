// Copyright 2026 The Tether Authors. SPDX-License-Identifier: Apache-2.0
// The built-in commands over a real PosixSystem: allow-listed programs (/bin/echo, /bin/false,
// /bin/sleep, /usr/bin/seq, /bin/sh) run without a shell, timeouts and kills, the process table's
// bound, refused arguments, and set-config on a real file. The agent runs on the fakes (MQTT, clock,
// journal); the clock is simulated, so timeouts of seconds pass in milliseconds while the programs
// run for real.
#include <catch2/catch.hpp>
#include <chrono>
#include <fstream>
#include <functional>
#include <memory>
#include <sstream>
#include <string>
#include <thread>

#include "commands_test_support.hpp"
#include "posix_test_files.hpp"
#include "test_support.hpp"
#include "tether/agent.hpp"
#include "tether/commands/builtins.hpp"
#include "tether/port/posix/posix_system.hpp"
#include "tether/port/testing/capturing_log_sink.hpp"
#include "tether/port/testing/fake_mqtt_client.hpp"
#include "tether/port/testing/memory_kv_store.hpp"
#include "tether/port/testing/simulated_clock.hpp"

using namespace tether;
using namespace tether::commands;
using namespace tether::test;
using std::chrono::milliseconds;

namespace {

using conformance::exists;
using conformance::TempDir;

std::string config_text(const std::string& commands) {
  return R"({"thing_name": "device-1", "endpoint": "127.0.0.1",
  "tls": {"ca_file": "ca.pem", "cert_file": "device.crt", "key": "device.key"},
  "commands": {)" +
         commands + "}}\n";
}

class Rig {
 public:
  TempDir dir{"tether-builtins"};
  testing::SimulatedClock clock;
  testing::FakeMqttClient mqtt{&clock};
  testing::CapturingLogSink log;
  testing::MemoryKvStore store;
  AgentConfig config;
  port::PosixSystemSettings system_settings;
  BuiltinsSettings settings;
  std::vector<char> workspace = std::vector<char>(16384);
  std::unique_ptr<port::PosixSystem> system;
  std::unique_ptr<Agent> agent;
  std::unique_ptr<Inbox> inbox;
  std::unique_ptr<Builtins> builtins;
  ScriptedAdapter adapter{Source::kNeutral};

  explicit Rig(const std::string& commands) {
    const std::string text = config_text(commands);
    ErrorText why;
    INFO(why.c_str());
    REQUIRE(parse_config(text, "agent.json", config, &why).ok());
    system_settings.config_path = dir.path() + "/agent.json";
    std::ofstream(system_settings.config_path) << text;
    system_settings.reboot = [] { return Status(StatusCode::kUnimplemented, Origin::kOs); };
    settings.config_workspace = Span<char>(workspace.data(), workspace.size());
    settings.poll_interval = milliseconds(10);
    settings.kill_grace = milliseconds(500);
  }
  ~Rig() {
    builtins.reset();
    inbox.reset();
  }

  void boot() {
    system = std::make_unique<port::PosixSystem>(system_settings);
    agent = std::make_unique<Agent>(mqtt, clock, config, &log, 3);
    inbox = std::make_unique<Inbox>(*agent, &store, inbox_settings(config.commands));
    builtins = std::make_unique<Builtins>(*inbox, *system, config.commands, settings);
    ErrorText why;
    REQUIRE(builtins->start(&why).ok());
    REQUIRE(inbox->add_adapter(adapter).ok());
    REQUIRE(inbox->start(&why).ok());
    REQUIRE(agent->start().ok());
    for (int i = 0; i < 10; ++i) agent->run_once(milliseconds(10)).ignore();
  }

  // Runs the agent (1 ms of simulated time per real 1 ms pause) until `id` has a terminal status;
  // at most about 20 s of real time.
  Sent finish(const std::string& id) {
    for (int i = 0; i < 20000; ++i) {
      agent->run_once(milliseconds(1)).ignore();
      const auto statuses = adapter.statuses_of(id);
      if (!statuses.empty() && is_terminal(statuses.back())) return last(id);
      std::this_thread::sleep_for(milliseconds(1));
    }
    FAIL("command " << id << " did not finish");
    return {};
  }
  // Delivers `document` as command `id` and waits for its terminal status.
  Sent run(const std::string& id, const std::string& document) {
    REQUIRE(adapter.deliver_json(id, document) == Delivery::kStarted);
    return finish(id);
  }
  Sent last(const std::string& id) const {
    for (auto it = adapter.sent.rbegin(); it != adapter.sent.rend(); ++it) {
      if (it->id == id) return *it;
    }
    FAIL("no status sent for " << id);
    return {};
  }
};

const char* kAllowList = R"(
  "max_running": 2, "set_config": true,
  "run": [
    { "name": "echo", "path": "/bin/echo", "args": ["hello"], "extra_args": true },
    { "name": "literal", "path": "/bin/echo", "args": ["$HOME;", "*", "`id`"] },
    { "name": "false", "path": "/bin/false" },
    { "name": "sleep", "path": "/bin/sleep", "args": ["30"], "timeout_s": 1 },
    { "name": "stubborn", "path": "/bin/sh", "args": ["-c", "trap '' TERM; echo ready; while :; do sleep 1; done"],
      "timeout_s": 1 },
    { "name": "seq", "path": "/usr/bin/seq", "args": ["1", "20000"] }
  ])";

}  // namespace

TEST_CASE("builtins over posix: /bin/echo runs with its fixed and extra arguments and succeeds with its output") {
  Rig rig(kAllowList);
  rig.boot();
  const Sent s = rig.run("c-1", R"({"operation":"run","name":"echo","args":["world","x=1"]})");
  CHECK(s.status == ExecStatus::kSucceeded);
  CHECK(s.details == R"({"exit_code":0,"output":"hello world x=1\n","output_cut":0})");
}

TEST_CASE("builtins over posix: fixed arguments from the configuration reach the program literally") {
  Rig rig(kAllowList);
  rig.boot();
  CHECK(rig.run("c-1", R"({"operation":"run","name":"literal"})").details ==
        R"({"exit_code":0,"output":"$HOME; * `id`\n","output_cut":0})");
}

TEST_CASE("builtins over posix: /bin/false is FAILED with its exit code") {
  Rig rig(kAllowList);
  rig.boot();
  const Sent s = rig.run("c-1", R"({"operation":"run","name":"false"})");
  CHECK(s.status == ExecStatus::kFailed);
  CHECK(s.reason_code == "NONZERO_EXIT");
  CHECK(s.reason == "exit code 1");
}

TEST_CASE("builtins over posix: shell metacharacters in a request are refused and nothing runs") {
  Rig rig(kAllowList);
  rig.boot();
  const std::string victim = rig.dir.path() + "/pwned";
  const std::string attempts[] = {"x; touch " + victim, "$(touch " + victim + ")", "`touch " + victim + "`",
                                  "x|touch " + victim,  "x&&touch " + victim,      "x>" + victim};
  int n = 0;
  for (const std::string& arg : attempts) {
    const std::string id = "c-" + std::to_string(++n);
    INFO(arg);
    REQUIRE(rig.adapter.deliver_json(id, R"({"operation":"run","name":"echo","args":[")" + arg + R"("]})") ==
            Delivery::kStarted);
    CHECK(rig.last(id).status == ExecStatus::kRejected);
    CHECK(rig.last(id).reason_code == "INVALID_ARGUMENTS");
  }
  for (int i = 0; i < 50; ++i) rig.agent->run_once(milliseconds(1)).ignore();
  CHECK_FALSE(exists(victim));
}

TEST_CASE("builtins over posix: /bin/sleep past its timeout is stopped with SIGTERM and FAILED TIMEOUT") {
  Rig rig(kAllowList);
  rig.boot();
  const Sent s = rig.run("c-1", R"({"operation":"run","name":"sleep"})");
  CHECK(s.status == ExecStatus::kFailed);
  CHECK(s.reason_code == "TIMEOUT");
  CHECK(s.reason == "ran past its timeout; stopped with SIGTERM");
  CHECK(rig.builtins->running() == 0);
}

TEST_CASE("builtins over posix: a program that ignores SIGTERM is killed after the grace") {
  Rig rig(kAllowList);
  rig.boot();
  const Sent s = rig.run("c-1", R"({"operation":"run","name":"stubborn"})");
  CHECK(s.reason_code == "TIMEOUT");
  CHECK(s.reason == "ran past its timeout; stopped with SIGKILL; output: ready\n");
}

TEST_CASE("builtins over posix: more output than the tail holds is cut and the cut reported") {
  Rig rig(kAllowList);
  rig.boot();
  const Sent s = rig.run("c-1", R"({"operation":"run","name":"seq"})");
  REQUIRE(s.status == ExecStatus::kSucceeded);
  // seq 1 20000 writes 108894 bytes; the status shows the last kRunOutputTail of them.
  CHECK(s.details.find(R"(19999\n20000\n","output_cut":)" + std::to_string(108894 - kRunOutputTail) + "}") !=
        std::string::npos);
}

TEST_CASE("builtins over posix: the system's process table bounds the programs running at once") {
  Rig rig(kAllowList);
  rig.system_settings.max_processes = 1;
  rig.boot();
  REQUIRE(rig.adapter.deliver_json("c-1", R"({"operation":"run","name":"sleep"})") == Delivery::kStarted);
  REQUIRE(rig.adapter.deliver_json("c-2", R"({"operation":"run","name":"echo"})") == Delivery::kStarted);
  const Sent s = rig.last("c-2");
  CHECK(s.status == ExecStatus::kFailed);
  CHECK(s.reason_code == "START_FAILED");
  CHECK(s.reason == "cannot start /bin/echo (resource_exhausted/os/0)");
  CHECK(rig.builtins->running() == 1);
  CHECK(rig.finish("c-1").reason_code == "TIMEOUT");
}

TEST_CASE("builtins over posix: set-config replaces the file on disk, applied at the next start") {
  Rig rig(kAllowList);
  rig.boot();
  const Sent s = rig.run("c-1", R"({"operation":"set-config","patch":{"heartbeat":{"interval_s":10}}})");
  CHECK(s.status == ExecStatus::kSucceeded);
  CHECK(s.details == R"({"applied":"at_restart","changed":["heartbeat"]})");
  AgentConfig reread;
  ErrorText why;
  std::ifstream in(rig.system_settings.config_path);
  std::stringstream text;
  text << in.rdbuf();
  REQUIRE(parse_config(text.str(), "agent.json", reread, &why).ok());
  CHECK(reread.heartbeat.interval_s == 10);
  CHECK(reread.commands.run_count == 6);
  CHECK_FALSE(exists(rig.system_settings.config_path + ".tmp"));
}
