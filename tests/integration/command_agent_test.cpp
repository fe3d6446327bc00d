// Copyright 2026 The Tether Authors. SPDX-License-Identifier: Apache-2.0
// examples/command-agent as a real process against tools/cloudsim on the TLS test broker: the
// built-in operations the configuration enables (run from the allow-list, set-config, reboot) and
// the application's blink operation, fed by AWS IoT Jobs, AWS IoT Commands and the neutral
// pattern. The operator queues work through cloudsim's HTTP API; every check reads cloudsim's
// record of the execution (parsed), the agent's stdout lines, its exit code and files on disk.

#include <catch2/catch.hpp>

#include <chrono>
#include <fstream>
#include <functional>
#include <sstream>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "broker_fixture.hpp"
#include "cloudsim_fixture.hpp"
#include "json_checks.hpp"
#include "process_util.hpp"
#include "tether/config.hpp"
#include "tether/json.hpp"
#include "tether/limits.hpp"
#include "tether/port/posix/config_file.hpp"
#include "tether/shadow/document.hpp"

using namespace tether;
using std::chrono::milliseconds;
using test::ChildProcess;
using test::Cloudsim;
using test::TestBroker;

namespace {

constexpr std::string_view kThing = "device-1";
constexpr milliseconds kWait{30000};
constexpr int kRestartExitCode = 75;  // PosixSystem::kRestartExitCode

std::string command_agent_path() { return test::program_under_test(nullptr, TETHER_COMMAND_AGENT); }

// The agent's configuration: device-1 on `broker`, the given profile and `commands` section.
std::string config_text(const TestBroker& broker, std::string_view profile, std::string_view commands) {
  std::ostringstream out;
  out << "{\n"
      << "  \"thing_name\": \"device-1\",\n"
      << "  \"profile\": \"" << profile << "\",\n"
      << "  \"endpoint\": \"localhost\",\n"
      << "  \"port\": " << broker.port() << ",\n"
      << "  \"tls\": {\"ca_file\": \"" << broker.path("ca.crt") << "\", \"cert_file\": \""
      << broker.path("devices/device-1.crt") << "\", \"key\": \"" << broker.path("devices/device-1.key") << "\"},\n"
      << "  \"mqtt\": {\"version\": 5, \"connect_timeout_ms\": 10000, \"keep_alive_s\": 30},\n"
      << "  \"reconnect\": {\"initial_ms\": 100, \"max_ms\": 500},\n"
      << "  \"heartbeat\": {\"enabled\": false},\n"
      << "  \"commands\": " << commands << "\n"
      << "}\n";
  return out.str();
}

constexpr std::string_view kAllCommands =
    R"({"heartbeat_s": 1, "reboot": true, "set_config": true,)"
    R"( "run": [{"name": "hello", "path": "/bin/echo", "args": ["hello", "from", "run"]},)"
    R"(         {"name": "fail", "path": "/bin/false"}]})";

// One execution as cloudsim records it: a Jobs execution (GET /jobs/<thing>) or a command
// execution (GET /commands/<thing>/<id>).
struct CloudExecution {
  std::string status;       // "" when cloudsim does not know it
  std::string reason_code;  // Jobs: statusDetails.reasonCode; Commands: statusReason.reasonCode
  std::string details;      // the details / result as compact JSON, for messages and checks
};

class Rig {
 public:
  explicit Rig(std::string_view profile = "aws", std::string_view commands = kAllCommands) : sim(broker) {
    REQUIRE_FALSE(command_agent_path().empty());
    config_path = dir / "agent.json";
    write_config(config_text(broker, profile, commands));
  }

  void write_config(const std::string& text) {
    std::ofstream out(config_path);
    out << text;
    out.close();
    REQUIRE(out.good());
  }

  // Starts command-agent with the journal in dir/journal and waits for its READY line.
  void start_agent(std::vector<std::string> extra = {}) {
    std::vector<std::string> argv = {command_agent_path(), config_path, "--state-dir", dir / "journal"};
    for (std::string& a : extra) argv.push_back(std::move(a));
    agent = std::make_unique<ChildProcess>(std::move(argv));
    require_eventually("the agent's READY line", [&] { return agent->count_lines("READY ") == 1; });
  }

  // Stops the agent with SIGTERM and expects a clean exit.
  void stop_agent() {
    test::require_clean_stop(*agent, kWait, [this] { return describe(); });
  }

  void require_eventually(std::string_view what, const std::function<bool()>& done) {
    const auto deadline = std::chrono::steady_clock::now() + kWait;
    while (!done()) {
      if (std::chrono::steady_clock::now() >= deadline) {
        FAIL("timed out after " << kWait.count() << " ms waiting for: " << what << "\n" << describe());
      }
      std::this_thread::sleep_for(milliseconds(100));
    }
  }

  // Waits until cloudsim has every one of `ids` in a terminal state.
  void require_jobs_ended(const std::vector<std::string>& ids) {
    require_eventually("every job ended", [&] {
      for (const std::string& id : ids) {
        const std::string status = job(id).status;
        if (status == "QUEUED" || status == "IN_PROGRESS" || status.empty()) return false;
      }
      return true;
    });
  }

  void create_job(std::string_view job_id, std::string_view document) {
    const std::string body = "{\"jobId\":\"" + std::string(job_id) + "\",\"document\":" + std::string(document) + "}";
    const test::HttpResponse created = sim.create_job(kThing, body);
    INFO("create_job " << body << ": " << created.body);
    REQUIRE(created.status == 201);
  }

  void send_command(std::string_view body) {
    const test::HttpResponse sent = sim.send_command(kThing, body);
    INFO("send_command " << body << ": " << sent.status << " " << sent.body);
    REQUIRE(sent.status == 201);
  }

  CloudExecution job(std::string_view job_id) {
    const test::HttpResponse listed = sim.request("GET", "/jobs/device-1");
    INFO("GET /jobs/device-1: " << listed.body);
    REQUIRE(listed.status == 200);
    CloudExecution out;
    const Status parsed = json::parse(listed.body, kMaxJsonInput, [&](const json::Value& root) {
      for (json::Value e = root["executions"].first_child(); e.valid(); e = e.next()) {
        if (e["jobId"].as_string().value_or("") != job_id) continue;
        out.status = std::string(e["status"].as_string().value_or("?"));
        const json::Value details = e["statusDetails"];
        out.reason_code = std::string(details["reasonCode"].as_string().value_or(""));
        out.details = compact(details);
      }
      return Status();
    });
    REQUIRE(parsed.ok());
    return out;
  }

  CloudExecution command(std::string_view id) {
    const test::HttpResponse got = sim.request("GET", "/commands/device-1/" + std::string(id));
    CloudExecution out;
    if (got.status != 200) return out;
    const Status parsed = json::parse(got.body, kMaxJsonInput, [&](const json::Value& root) {
      out.status = std::string(root["status"].as_string().value_or("?"));
      out.reason_code = std::string(root["statusReason"]["reasonCode"].as_string().value_or(""));
      out.details = compact(root["result"]);
      return Status();
    });
    INFO("GET /commands/device-1/" << id << ": " << got.body);
    REQUIRE(parsed.ok());
    return out;
  }

  std::string describe() {
    std::ostringstream out;
    if (agent) {
      out << "command-agent: " << agent->describe_exit() << "\nstdout:\n";
      for (const std::string& line : agent->stdout_lines()) out << "  " << line << "\n";
      out << "stderr:\n" << agent->stderr_text() << "\n";
    }
    out << "cloudsim jobs: " << (sim.running() ? sim.request("GET", "/jobs/device-1").body : "(not running)") << "\n";
    out << "cloudsim log:\n" << sim.log_tail();
    return out.str();
  }

  TestBroker broker;
  Cloudsim sim;
  test::TempDir dir{"tether-command-agent"};
  std::string config_path;
  std::unique_ptr<ChildProcess> agent;

 private:
  static std::string compact(const json::Value& value) { return value.valid() ? test::json_text(value) : ""; }
};

bool contains(const std::string& text, std::string_view part) { return text.find(part) != std::string::npos; }

}  // namespace

TEST_CASE("command-agent: jobs queued while it is off run in order through blink and the run allow-list",
          "[commands][command-agent][cloudsim][integration]") {
  Rig rig;
  rig.create_job("blink-1", R"({"operation": "blink", "times": 3, "period_ms": 100})");
  rig.create_job("run-hello", R"({"operation": "run", "name": "hello"})");
  rig.create_job("run-fail", R"({"operation": "run", "name": "fail"})");
  rig.create_job("run-shell", R"({"operation": "run", "name": "sh"})");
  rig.create_job("format-disk", R"({"operation": "format-disk"})");
  rig.create_job("blink-bad", R"({"operation": "blink", "times": 1000})");
  rig.start_agent();
  rig.require_jobs_ended({"blink-1", "run-hello", "run-fail", "run-shell", "format-disk", "blink-bad"});
  INFO(rig.describe());
  const CloudExecution blink = rig.job("blink-1");
  CHECK(blink.status == "SUCCEEDED");
  CHECK(contains(blink.details, R"("blinks":"3")"));
  CHECK(rig.agent->count_lines("BLINK id=blink-1 n=") == 3);
  CHECK(rig.agent->count_lines("BLINK-DONE id=blink-1 status=SUCCEEDED") == 1);

  const CloudExecution hello = rig.job("run-hello");
  CHECK(hello.status == "SUCCEEDED");
  CHECK(contains(hello.details, R"("exit_code":"0")"));
  CHECK(contains(hello.details, "hello from run"));

  const CloudExecution fail = rig.job("run-fail");
  CHECK(fail.status == "FAILED");
  CHECK(fail.reason_code == "NONZERO_EXIT");

  const CloudExecution shell = rig.job("run-shell");
  CHECK(shell.status == "REJECTED");
  CHECK(shell.reason_code == "NOT_ALLOWED");

  const CloudExecution unknown = rig.job("format-disk");
  CHECK(unknown.status == "REJECTED");
  CHECK(unknown.reason_code == "UNKNOWN_OPERATION");

  const CloudExecution bad = rig.job("blink-bad");
  CHECK(bad.status == "REJECTED");
  CHECK(bad.reason_code == "INVALID_DOCUMENT");
  rig.stop_agent();
}

TEST_CASE("command-agent: a reboot job restarts the agent (exit 75) and reports SUCCEEDED after it comes back",
          "[commands][command-agent][cloudsim][integration]") {
  Rig rig;
  rig.create_job("reboot-1", R"({"operation": "reboot"})");
  rig.create_job("blink-after", R"({"operation": "blink", "times": 1, "period_ms": 50})");
  rig.start_agent();
  INFO(rig.describe());
  REQUIRE(rig.agent->wait_exit(kWait));
  REQUIRE(rig.agent->exit_code() == kRestartExitCode);
  // The device went before reporting the end (IN_PROGRESS went out first, unless it was lost).
  CHECK(rig.job("reboot-1").status != "SUCCEEDED");
  CHECK(rig.job("blink-after").status == "QUEUED");

  rig.start_agent();  // what systemd's Restart=on-failure does
  rig.require_eventually("reboot-1 SUCCEEDED and blink-after SUCCEEDED", [&] {
    return rig.job("reboot-1").status == "SUCCEEDED" && rig.job("blink-after").status == "SUCCEEDED";
  });
  CHECK(rig.agent->count_lines("BLINK id=blink-after") == 1);
  rig.stop_agent();
}

TEST_CASE("command-agent: set-config writes a valid configuration for the next start and refuses protected keys",
          "[commands][command-agent][cloudsim][integration]") {
  Rig rig;
  rig.create_job("cfg-1", R"({"operation": "set-config", "patch": {"mqtt": {"keep_alive_s": 45}}})");
  rig.create_job("cfg-allow", R"({"operation": "set-config", "patch": {"commands": {"run": []}}})");
  rig.create_job("cfg-bad", R"({"operation": "set-config", "patch": {"mqtt": {"keep_alive_s": "often"}}})");
  rig.start_agent();
  rig.require_jobs_ended({"cfg-1", "cfg-allow", "cfg-bad"});
  INFO(rig.describe());
  const CloudExecution applied = rig.job("cfg-1");
  CHECK(applied.status == "SUCCEEDED");
  CHECK(contains(applied.details, "at_restart"));
  CHECK(contains(applied.details, "mqtt.keep_alive_s"));
  const CloudExecution protected_key = rig.job("cfg-allow");
  CHECK(protected_key.status == "REJECTED");
  CHECK(protected_key.reason_code == "PROTECTED_KEY");
  const CloudExecution invalid = rig.job("cfg-bad");
  CHECK(invalid.status == "FAILED");
  CHECK(invalid.reason_code == "INVALID_CONFIG");
  rig.stop_agent();

  // The file on disk is a configuration the agent loads, with the new value and the old allow-list.
  AgentConfig loaded;
  ErrorText why;
  const Status status = port::load_config_file(rig.config_path.c_str(), loaded, &why);
  INFO("loading the written configuration: " << why.c_str() << "\n" << test::read_file(rig.config_path));
  REQUIRE(status.ok());
  CHECK(loaded.mqtt.keep_alive_s == 45);
  CHECK(loaded.commands.run_count == 2);
  // And the agent starts with it.
  rig.start_agent();
  rig.require_eventually("the agent connected with the new configuration",
                         [&] { return rig.agent->count_lines("CONNECTED") >= 1; });
  rig.stop_agent();
}

TEST_CASE("command-agent: AWS IoT Commands and the neutral pattern reach the same operations",
          "[commands][command-agent][cloudsim][integration]") {
  SECTION("aws") {
    Rig rig("aws");
    rig.start_agent();
    rig.require_eventually("connected", [&] { return rig.agent->count_lines("CONNECTED") >= 1; });
    rig.send_command(R"({"executionId": "exec-1", "payload": {"operation": "run", "name": "hello"}, "timeoutSeconds": 60})");
    rig.require_eventually("exec-1 SUCCEEDED", [&] { return rig.command("exec-1").status == "SUCCEEDED"; });
    CHECK(contains(rig.command("exec-1").details, "hello from run"));
    rig.stop_agent();
  }
  SECTION("neutral") {
    Rig rig("neutral");
    rig.start_agent();
    CHECK(rig.agent->count_lines("READY operations=blink,reboot,set-config,run sources=neutral") == 1);
    rig.require_eventually("connected", [&] { return rig.agent->count_lines("CONNECTED") >= 1; });
    rig.send_command(R"({"executionId": "exec-2", "payload": {"operation": "blink", "times": 2, "period_ms": 50},)"
                     R"( "timeoutSeconds": 60, "profile": "neutral"})");
    rig.require_eventually("exec-2 SUCCEEDED", [&] { return rig.command("exec-2").status == "SUCCEEDED"; });
    CHECK(rig.agent->count_lines("BLINK id=exec-2") == 2);
    rig.stop_agent();
  }
}

TEST_CASE("command-agent: a configuration without commands, a bad allow-list or an unusable journal stops it with a clear error",
          "[commands][command-agent][integration]") {
  TestBroker broker;
  test::TempDir dir("tether-command-agent-bad");
  const auto run_with = [&](const std::string& config, const std::string& state_dir) {
    const std::string path = dir / "agent.json";
    {
      std::ofstream out(path);
      out << config;
    }
    ChildProcess agent({command_agent_path(), path, "--state-dir", state_dir});
    REQUIRE(agent.wait_exit(kWait));
    return std::make_pair(agent.exit_code(), agent.stderr_text());
  };
  {
    INFO("no commands section");
    std::string config = config_text(broker, "aws", "{}");
    config.replace(config.find("  \"commands\": {}\n"), std::string("  \"commands\": {}\n").size(), "");
    config.replace(config.rfind(",\n}"), 3, "\n}");
    const auto [code, err] = run_with(config, dir / "journal");
    INFO(err);
    CHECK(code == 1);
    CHECK(contains(err, "commands are off"));
  }
  {
    INFO("a relative path in the allow-list");
    const auto [code, err] =
        run_with(config_text(broker, "aws", R"({"run": [{"name": "x", "path": "bin/x"}]})"), dir / "journal");
    INFO(err);
    CHECK(code == 1);
    CHECK(contains(err, "commands.run[0].path"));
  }
  {
    INFO("a journal directory whose parent does not exist");
    const auto [code, err] = run_with(config_text(broker, "aws", "{}"), dir / "missing/journal");
    INFO(err);
    CHECK(code == 2);
    CHECK(contains(err, "command journal"));
  }
}
