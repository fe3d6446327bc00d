// Copyright 2026 The Tether Authors. SPDX-License-Identifier: Apache-2.0
// examples/linux-agent (tether-agent) as a real process against tools/cloudsim on the TLS test
// broker: telemetry through the offline queue reaches the cloud, a desired telemetry_interval_s is
// applied and reported, a job runs, a metrics report is accepted; `--check-config` on good and bad
// files with its exact messages. Every check reads what the cloud side saw (cloudsim's records,
// a privileged subscriber), the agent's stdout lines and its exit code. The cross builds run these
// same cases against their arm64/armhf binary under qemu-user (TETHER_LINUX_AGENT, see below).

#include <catch2/catch.hpp>

#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <functional>
#include <sstream>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "broker_fixture.hpp"
#include "cloudsim_fixture.hpp"
#include "offline_support.hpp"
#include "process_util.hpp"
#include "tether/json.hpp"
#include "tether/limits.hpp"

using namespace tether;
using std::chrono::milliseconds;
using test::ChildProcess;
using test::Cloudsim;
using test::TestBroker;

namespace {

constexpr milliseconds kWait{30000};

// The program under test: $TETHER_LINUX_AGENT when set (the aarch64 and armhf builds point it at a
// script that runs their cross-built tether-agent under qemu-user), else this build's tether-agent.
std::string linux_agent_path() { return test::program_under_test("TETHER_LINUX_AGENT", TETHER_LINUX_AGENT); }

// device-1 on `broker` with every section, written to `path`: the queue in `dir`/queue, the
// shadow, commands (one program), metrics every 2 s.
std::string write_full_config(const TestBroker& broker, const test::TempDir& dir, const std::string& path) {
  test::AgentQueueOptions queue;
  queue.queue_dir = dir / "queue";
  queue.max_segments = 4;
  return test::write_agent_config(
      broker, path, queue,
      R"("shadow": {},)"
      R"( "commands": {"heartbeat_s": 1, "run": [{"name": "hello", "path": "/bin/echo", "args": ["hello"]}]},)"
      R"( "metrics": {"interval_s": 2, "allow_short_interval": true, "rules_interval_s": 0})");
}

void write_file(const std::string& path, const std::string& text) {
  std::ofstream out(path);
  out << text;
  out.close();
  REQUIRE(out.good());
}

class Rig {
 public:
  Rig() : sim(broker), cloud(broker) {
    REQUIRE_FALSE(linux_agent_path().empty());
    config_path = write_full_config(broker, dir, dir / "agent.json");
    cloud.connect();
  }

  void start_agent() {
    agent = std::make_unique<ChildProcess>(std::vector<std::string>{linux_agent_path(), config_path});
    require_eventually("the agent's READY line", [&] { return agent->count_lines("READY ") == 1; });
  }

  void stop_agent() {
    test::require_clean_stop(*agent, kWait, [this] { return describe(); });
  }

  // Polls the cloud's subscriber while waiting, so that telemetry is taken in meanwhile.
  void require_eventually(std::string_view what, const std::function<bool()>& done) {
    if (!cloud.poll_until(done, kWait)) {
      FAIL("timed out after " << kWait.count() << " ms waiting for: " << what << "\n" << describe());
    }
  }

  // Telemetry records the subscriber received (the agent's JSON objects on dt/device-1/telemetry).
  std::vector<std::string> telemetry() const {
    std::vector<std::string> out;
    const std::string prefix = std::string(test::TelemetrySubscriber::kTopic) + " ";
    for (const std::string& m : cloud.foreign()) {
      if (m.rfind(prefix, 0) == 0) out.push_back(m.substr(prefix.size()));
    }
    return out;
  }

  std::string job_status(std::string_view job_id) {
    const test::HttpResponse listed = sim.request("GET", "/jobs/device-1");
    REQUIRE(listed.status == 200);
    std::string status;
    REQUIRE(json::parse(listed.body, kMaxJsonInput, [&](const json::Value& root) {
              for (json::Value e = root["executions"].first_child(); e.valid(); e = e.next()) {
                if (e["jobId"].as_string().value_or("") == job_id) {
                  status = std::string(e["status"].as_string().value_or("?"));
                }
              }
              return Status();
            }).ok());
    return status;
  }

  std::int64_t reported_interval() {
    const test::HttpResponse got = sim.get_shadow("device-1");
    if (got.status != 200) return -1;
    std::int64_t value = -1;
    json::parse(got.body, kMaxJsonInput, [&](const json::Value& root) {
      value = root["state"]["reported"]["telemetry_interval_s"].as_int().value_or(-1);
      return Status();
    }).ignore();
    return value;
  }

  std::size_t accepted_reports() {
    const test::HttpResponse got = sim.request("GET", "/metrics/device-1");
    if (got.status != 200) return 0;
    std::size_t n = 0;
    json::parse(got.body, kMaxJsonInput, [&](const json::Value& root) {
      for (json::Value r = root["reports"].first_child(); r.valid(); r = r.next()) ++n;
      return Status();
    }).ignore();
    return n;
  }

  std::string describe() {
    std::ostringstream out;
    if (agent) out << "tether-agent: " << agent->describe_exit() << "\n" << agent->transcript() << "\n";
    out << "cloudsim log:\n" << sim.log_tail();
    return out.str();
  }

  TestBroker broker;
  Cloudsim sim;
  test::TelemetrySubscriber cloud;
  test::TempDir dir{"tether-linux-agent"};
  std::string config_path;
  std::unique_ptr<ChildProcess> agent;
};

// What systemd's notification socket would receive: an AF_UNIX datagram socket at `path`.
class NotifySocket {
 public:
  explicit NotifySocket(const std::string& path) : path_(path) {
    fd_ = ::socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    REQUIRE(fd_ >= 0);
    sockaddr_un address{};
    address.sun_family = AF_UNIX;
    REQUIRE(path.size() < sizeof address.sun_path);
    std::memcpy(address.sun_path, path.c_str(), path.size() + 1);
    REQUIRE(::bind(fd_, reinterpret_cast<const sockaddr*>(&address), sizeof address) == 0);
  }
  ~NotifySocket() {
    ::close(fd_);
    ::unlink(path_.c_str());
  }
  NotifySocket(const NotifySocket&) = delete;
  NotifySocket& operator=(const NotifySocket&) = delete;

  // Every datagram received so far (one notification each: "READY=1\nSTATUS=...").
  const std::vector<std::string>& received() {
    char buf[4096];
    for (;;) {
      const ssize_t n = ::recv(fd_, buf, sizeof buf, 0);
      if (n <= 0) break;
      messages_.emplace_back(buf, static_cast<std::size_t>(n));
    }
    return messages_;
  }
  std::size_t count(std::string_view field) {
    std::size_t n = 0;
    for (const std::string& m : received()) n += m.find(field) != std::string::npos ? 1 : 0;
    return n;
  }

 private:
  std::string path_;
  int fd_ = -1;
  std::vector<std::string> messages_;
};

// Runs `tether-agent --check-config <path>`: exit code, stdout, stderr.
struct CheckResult {
  int exit_code = -1;
  std::string out;
  std::string err;
};

CheckResult check_config(const std::string& path) {
  REQUIRE_FALSE(linux_agent_path().empty());
  ChildProcess p({linux_agent_path(), "--check-config", path});
  REQUIRE(p.wait_exit(kWait));
  CheckResult r;
  r.exit_code = p.exit_code();
  for (const std::string& line : p.stdout_lines()) r.out += line + "\n";
  r.err = p.stderr_text();
  return r;
}

}  // namespace

TEST_CASE("tether-agent: telemetry reaches the cloud and the shadow's telemetry_interval_s is applied and reported",
          "[linux-agent]") {
  Rig rig;
  rig.start_agent();
  CHECK(rig.agent->count_lines("READY features=telemetry,shadow,commands,metrics") == 1);
  rig.require_eventually("the first telemetry record", [&] { return !rig.telemetry().empty(); });
  const std::string first = rig.telemetry().front();
  INFO("telemetry: " << first);
  // This machine has /proc/meminfo and /proc/loadavg (a thermal zone perhaps not: then it is absent).
  CHECK(first.find("\"mem_total_kb\":") != std::string::npos);
  CHECK(first.find("\"load_1m\":") != std::string::npos);
  REQUIRE(json::parse(first, kMaxJsonInput, [](const json::Value& root) {
            CHECK(root.is_object());
            CHECK(root["mem_available_kb"].as_int().value_or(-1) > 0);
            return Status();
          }).ok());

  REQUIRE(rig.sim.set_desired("device-1", R"({"telemetry_interval_s": 1})").status == 200);
  rig.require_eventually("the interval applied", [&] { return rig.agent->count_lines("INTERVAL 1") == 1; });
  CHECK(rig.agent->count_lines("DESIRED path=telemetry_interval_s value=1 decision=accept") == 1);
  rig.require_eventually("telemetry_interval_s reported", [&] { return rig.reported_interval() == 1; });
  const std::size_t before = rig.telemetry().size();
  rig.require_eventually("three records a second apart", [&] { return rig.telemetry().size() >= before + 3; });

  REQUIRE(rig.sim.set_desired("device-1", R"({"telemetry_interval_s": 0})").status == 200);
  rig.require_eventually("an interval of 0 refused", [&] {
    return rig.agent->count_lines("DESIRED path=telemetry_interval_s value=0 decision=reject "
                                  "reason=telemetry_interval_s must be an integer from 1 to 86400") == 1;
  });
  rig.stop_agent();
  CHECK(rig.agent->stderr_text().find("tether-agent: stream \"telemetry\": enqueued") != std::string::npos);

  // A restart takes the interval from the replica: no INTERVAL line, records every second at once.
  rig.start_agent();
  const std::size_t restarted = rig.telemetry().size();
  rig.require_eventually("records a second apart after the restart",
                         [&] { return rig.telemetry().size() >= restarted + 3; });
  CHECK(rig.agent->count_lines("INTERVAL ") == 0);
  rig.stop_agent();
}

TEST_CASE("tether-agent: a job from the allow-list runs and a metrics report is accepted", "[linux-agent]") {
  Rig rig;
  rig.start_agent();
  REQUIRE(rig.sim.create_job("device-1", R"({"jobId": "job-1", "document": {"operation": "run", "name": "hello"}})")
              .status == 201);
  rig.require_eventually("job-1 SUCCEEDED", [&] { return rig.job_status("job-1") == "SUCCEEDED"; });
  rig.require_eventually("a report ACCEPTED", [&] { return rig.agent->count_lines("ACCEPTED") >= 1; });
  CHECK(rig.accepted_reports() >= 1);
  rig.stop_agent();
}

// With the shadow, Jobs and metrics on, the agent also takes AWS IoT Commands: its subscriptions share
// one pool of filter bytes (TETHER_SUBSCRIPTION_FILTER_BYTES) instead of 256 bytes each.
TEST_CASE("tether-agent: an AWS IoT Command runs next to the shadow, Jobs and metrics", "[linux-agent]") {
  Rig rig;
  rig.start_agent();
  rig.require_eventually("the commands adapter started", [&] {
    return rig.agent->stderr_text().find("commands command adapter started on \"$aws/commands/things/device-1/"
                                         "executions\"") != std::string::npos;
  });
  // The Commands service publishes a request once, to whoever is subscribed then: wait until the
  // agent's subscriptions are in place. The command filters are sent before the metrics ones on the
  // same connection, so an accepted metrics report means they are acknowledged.
  rig.require_eventually("a metrics report ACCEPTED", [&] { return rig.agent->count_lines("ACCEPTED") >= 1; });
  CHECK(rig.agent->stderr_text().find("subscription slots in use") == std::string::npos);
  CHECK(rig.agent->stderr_text().find("TETHER_SUBSCRIPTION_FILTER_BYTES") == std::string::npos);
  const test::HttpResponse sent = rig.sim.send_command(
      "device-1", R"({"executionId": "exec-1", "payload": {"operation": "run", "name": "hello"}, "timeoutSeconds": 60})");
  INFO("send_command: " << sent.status << " " << sent.body);
  REQUIRE(sent.status == 201);
  rig.require_eventually("exec-1 SUCCEEDED in cloudsim", [&] {
    const test::HttpResponse got = rig.sim.request("GET", "/commands/device-1/exec-1");
    return got.status == 200 && got.body.find("\"status\": \"SUCCEEDED\"") != std::string::npos;
  });
  // Jobs still work on the same connection.
  REQUIRE(rig.sim.create_job("device-1", R"({"jobId": "job-2", "document": {"operation": "run", "name": "hello"}})")
              .status == 201);
  rig.require_eventually("job-2 SUCCEEDED", [&] { return rig.job_status("job-2") == "SUCCEEDED"; });
  rig.stop_agent();
}

TEST_CASE("tether-agent under systemd: READY, then WATCHDOG from the loop, and STOPPING on SIGTERM", "[linux-agent]") {
  Rig rig;
  NotifySocket notify(rig.dir / "notify");
  // As systemd starts a Type=notify unit with WatchdogSec=1: pings are due every 500 ms.
  ::setenv("NOTIFY_SOCKET", (rig.dir / "notify").c_str(), 1);
  ::setenv("WATCHDOG_USEC", "1000000", 1);
  rig.start_agent();
  ::unsetenv("NOTIFY_SOCKET");
  ::unsetenv("WATCHDOG_USEC");
  rig.require_eventually("three watchdog pings", [&] { return notify.count("WATCHDOG=1") >= 3; });
  rig.stop_agent();
  const std::vector<std::string>& messages = notify.received();
  INFO(rig.describe());
  REQUIRE(messages.size() >= 5);
  CHECK(messages.front().find("READY=1") != std::string::npos);
  CHECK(messages.front().find("STATUS=telemetry,shadow,commands,metrics") != std::string::npos);
  CHECK(messages.back().find("STOPPING=1") != std::string::npos);  // the queue is closed next
  CHECK(notify.count("READY=1") == 1);
  CHECK(notify.count("STOPPING=1") == 1);
}

TEST_CASE("tether-agent --check-config: a valid file passes and says what would run", "[linux-agent]") {
  TestBroker broker;  // its certificates are the files the configuration names
  test::TempDir dir{"tether-check-config"};
  const std::string path = write_full_config(broker, dir, dir / "agent.json");
  const CheckResult r = check_config(path);
  INFO(r.out << r.err);
  CHECK(r.exit_code == 0);
  CHECK(r.err.empty());
  CHECK(r.out == "tether-agent: " + path + " is valid\n" +
                     "  thing device-1 on localhost:" + std::to_string(broker.port()) +
                     " (profile aws, MQTT 5), key file\n"
                     "  telemetry: every 60 s (until the shadow's telemetry_interval_s says otherwise) through the "
                     "offline queue in " + dir / "queue" + "\n" +
                     "  shadow: on (desired telemetry_interval_s)\n"
                     "  commands: on (run:hello)\n"
                     "  metrics: a report every 2 s\n"
                     "  gpio: off (no gpio section)\n");
  // Nothing was created: no queue directory.
  struct stat info {};
  CHECK(::stat((dir / "queue").c_str(), &info) != 0);
}

TEST_CASE("tether-agent --check-config: a missing file, a bad key and a missing module are refused", "[linux-agent]") {
  TestBroker broker;
  test::TempDir dir{"tether-check-config"};
  const std::string path = write_full_config(broker, dir, dir / "agent.json");
  std::string text = test::read_file(path);

  SECTION("a file the configuration names does not exist") {
    const std::string ca = broker.path("ca.crt");
    text.replace(text.find(ca), ca.size(), dir / "missing-ca.crt");
    write_file(path, text);
    const CheckResult r = check_config(path);
    CHECK(r.exit_code == 1);
    CHECK(r.out.empty());
    CHECK(r.err == "tether-agent: " + path + ": tls.ca_file: " + dir / "missing-ca.crt" +
                       ": No such file or directory\n");
  }
  SECTION("an unknown key") {
    text.replace(text.find("\"ca_file\""), 9, "\"cafile\"");
    write_file(path, text);
    const CheckResult r = check_config(path);
    CHECK(r.exit_code == 1);
    CHECK(r.err == "tether-agent: " + path + ": tls: unknown key \"cafile\"\n");
  }
  SECTION("the configuration file itself is missing") {
    const CheckResult r = check_config(dir / "none.json");
    CHECK(r.exit_code == 1);
    CHECK(r.err == "tether-agent: " + dir / "none.json" + ": cannot open: No such file or directory\n");
  }
  SECTION("under systemd, an error reaches the journal at priority err") {
    // stderr is the journal (systemd sets JOURNAL_STREAM): journald reads "<3>" as the priority.
    ::setenv("JOURNAL_STREAM", "8:12345", 1);
    const CheckResult r = check_config(dir / "none.json");
    ::unsetenv("JOURNAL_STREAM");
    CHECK(r.exit_code == 1);
    CHECK(r.err == "<3>tether-agent: " + dir / "none.json" + ": cannot open: No such file or directory\n");
  }
  SECTION("a gpio section naming a chip the machine does not have, and a bad line") {
    // The chip is opened as the service would (tests/gpio_vm_test.py runs the lines on a real chip).
    text.replace(text.rfind('}'), 1,
                 ", \"gpio\": {\"chip\": \"gpiochip999\", \"outputs\": [{\"name\": \"led\", \"line\": 27}]}}");
    write_file(path, text);
    CheckResult r = check_config(path);
    CHECK(r.exit_code == 1);
    CHECK(r.err == "tether-agent: " + path +
                       ": gpio.chip: /dev/gpiochip999: No such file or directory (gpiodetect lists the chips)\n");
    const std::string line = "\"line\": 27";
    text.replace(text.find(line), line.size(), "\"line\": 2048");
    write_file(path, text);
    r = check_config(path);
    CHECK(r.exit_code == 1);
    CHECK(r.err == "tether-agent: " + path + ": gpio.outputs[0].line: must be an integer between 0 and 1023, got 2048\n");
  }
  SECTION("a pkcs11 section whose module does not exist, a run program that is not there") {
    text.replace(text.rfind('}'), 1,
                 ", \"pkcs11\": {\"module\": \"/nonexistent/libpkcs11.so\", \"pin_env\": \"TETHER_PIN\"}}");
    text.replace(text.find("/bin/echo"), 9, "/nonexistent/echo");
    write_file(path, text);
    const CheckResult r = check_config(path);
    CHECK(r.exit_code == 1);
    CHECK(r.err == "tether-agent: " + path + ": pkcs11.module: /nonexistent/libpkcs11.so: No such file or directory\n" +
                       "tether-agent: " + path + ": commands.run[0].path: /nonexistent/echo: No such file or directory\n");
  }
}
