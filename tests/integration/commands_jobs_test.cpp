// Copyright 2026 The Tether Authors. SPDX-License-Identifier: Apache-2.0
// commands::JobsAdapter end to end: an in-process device (Agent over the Paho port, a command
// Inbox with its journal in a PosixKvStore in a temporary directory, the Jobs adapter) against
// tools/cloudsim's Jobs service on the TLS test broker. The operator queues jobs through cloudsim's
// HTTP API and reads the executions back from it; every check parses the documents.

#include <catch2/catch.hpp>

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <random>
#include <sstream>
#include <string>
#include <string_view>
#include <vector>

#include "broker_fixture.hpp"
#include "cloudsim_fixture.hpp"
#include "device_loop.hpp"
#include "process_util.hpp"
#include "test_support.hpp"
#include "tether/agent.hpp"
#include "tether/commands/inbox.hpp"
#include "tether/commands/jobs_adapter.hpp"
#include "tether/json.hpp"
#include "tether/port/paho/paho_mqtt_client.hpp"
#include "tether/port/posix/posix_clock.hpp"
#include "tether/port/posix/posix_kv_store.hpp"
#include "tether/port/testing/capturing_log_sink.hpp"

using namespace tether;
using namespace tether::commands;
using std::chrono::milliseconds;
using test::Cloudsim;
using test::TestBroker;

namespace {

constexpr std::string_view kThing = "device-1";
constexpr milliseconds kTimeout{30000};

// One execution as cloudsim lists it (GET /jobs/<thing>).
struct CloudExecution {
  std::string status;                 // "" when cloudsim does not know the job
  std::string reason_code;            // statusDetails.reasonCode
  std::string details;                // statusDetails as compact "k=v;" pairs, for messages
  std::optional<std::int64_t> blinks; // statusDetails.blinks as a number
};

AgentConfig device_config() {
  AgentConfig config;
  REQUIRE(config.thing_name.assign(kThing).ok());
  REQUIRE(config.client_id.assign(kThing).ok());
  config.reconnect.initial = milliseconds(200);
  config.reconnect.max = milliseconds(2000);
  config.mqtt.connect_timeout = milliseconds(5000);
  config.log_level = LogLevel::kDebug;  // clientTokens and retries, for failure messages
  return config;
}

JobsAdapterSettings test_settings() {
  JobsAdapterSettings settings;
  settings.request_timeout = milliseconds(3000);
  settings.retry = BackoffSettings{milliseconds(200), milliseconds(2000), milliseconds(5000), milliseconds(10000)};
  return settings;
}

// A handler run: the job, its operation, the handle, the document's "times" member.
struct Run {
  std::string id;
  std::string operation;
  Execution execution;
  std::int64_t times = -1;
};

// device-1 in this process: the real Paho port, the journal in `store_dir` (kept by the caller, so
// a new JobsDevice over the same directory is a reboot). Not started: start() connects.
class JobsDevice {
 public:
  JobsDevice(const TestBroker& broker, const std::string& store_dir, const JobsAdapterSettings& settings,
             const InboxSettings& inbox_settings)
      : config_(device_config()),
        mqtt_(broker.client_settings(kThing), &log_),
        store_(port::PosixKvStoreSettings{store_dir, 65536}),
        agent_(mqtt_, clock_, config_, &log_, std::random_device{}()),
        adapter_(settings, std::random_device{}()),
        inbox_(agent_, &store_, inbox_settings) {
    const Status opened = store_.open();
    INFO("PosixKvStore open " << store_dir << ": " << opened << " " << store_.last_error());
    REQUIRE(opened.ok());
    REQUIRE(inbox_.add_adapter(adapter_).ok());
    for (const char* operation : {"blink", "reboot"}) {
      REQUIRE(inbox_.on_command(operation, [this](const CommandContext& c) {
        runs.push_back({std::string(c.id), std::string(c.operation), c.execution,
                        c.document["times"].as_int().value_or(-1)});
      }).ok());
    }
    ErrorText why;
    const Status started = inbox_.start(&why);
    INFO("inbox start: " << started << " " << why.c_str());
    REQUIRE(started.ok());
  }

  void start() {
    const Status started = agent_.start();
    INFO("agent start: " << started);
    REQUIRE(started.ok());
  }

  void run_for(milliseconds duration) { test::run_agent_for(agent_, duration); }

  bool run_until(const std::function<bool()>& done, milliseconds timeout) {
    return test::run_agent_until(agent_, done, timeout);
  }

  Inbox& inbox() { return inbox_; }
  JobsAdapter& adapter() { return adapter_; }
  std::optional<ExecStatus> local_status(std::string_view id) const {
    const Result<ExecStatus> s = inbox_.status_of(Source::kJobs, id);
    return s.ok() ? std::optional<ExecStatus>(s.value()) : std::nullopt;
  }
  // The service has answered every status the adapter sent and no job runs here.
  bool quiet() const { return adapter_.running_job().empty() && adapter_.ready() && pending_answers() == 0; }
  std::uint32_t pending_answers() const {
    const JobsAdapterStats& s = adapter_.stats();
    return s.updates_sent - s.updates_accepted - s.updates_final - s.updates_retry;
  }

  std::string describe() const {
    const JobsAdapterStats& s = adapter_.stats();
    const InboxStats& box = inbox_.stats();
    std::ostringstream out;
    out << "agent: " << to_string(agent_.state()) << ", connects=" << agent_.stats().connects
        << "\n  adapter: ready=" << adapter_.ready() << " running=\"" << adapter_.running_job()
        << "\" start_next=" << s.start_next_sent << " describe=" << s.describe_sent << " executions=" << s.executions
        << " nothing_pending=" << s.nothing_pending << " notifications=" << s.notifications
        << " updates_sent=" << s.updates_sent << " accepted=" << s.updates_accepted << " retry=" << s.updates_retry
        << " final=" << s.updates_final << " foreign=" << s.foreign_answers << " malformed=" << s.malformed
        << "\n  inbox: delivered=" << box.delivered << " started=" << box.started << " rejected=" << box.rejected
        << " succeeded=" << box.succeeded << " failed=" << box.failed << " expired=" << box.expired
        << " statuses_sent=" << box.statuses_sent << " final=" << box.statuses_final << "\n  runs:";
    for (const Run& r : runs) out << " " << r.id << ":" << r.operation;
    out << "\n";
    test::write_log_tail(out, log_);
    return out.str();
  }

  std::vector<Run> runs;

 private:
  port::PosixClock clock_;
  testing::CapturingLogSink log_;
  AgentConfig config_;
  port::PahoMqttClient mqtt_;
  port::PosixKvStore store_;
  Agent agent_;
  JobsAdapter adapter_;  // after the agent, before the inbox: destroyed in the reverse order
  Inbox inbox_;
};

// The broker, cloudsim (with `cloudsim_args`), a directory for the device's journal and device-1
// (not started). Destroying the device and booting a new one over the same store is a reboot.
class Rig {
 public:
  explicit Rig(std::vector<std::string> cloudsim_args = {}) : sim(broker, std::move(cloudsim_args)) { boot(); }

  JobsDevice& device() { return *device_; }
  void power_off() { device_.reset(); }
  void boot() {
    device_.reset();  // the store's directory lock goes first
    device_ = std::make_unique<JobsDevice>(broker, dir / "kv", settings, inbox_settings);
  }

  // Runs the device until `done()`; on timeout fails the test with what was awaited, the device's
  // state and log, cloudsim's executions and cloudsim's log.
  void require_eventually(std::string_view what, const std::function<bool()>& done) {
    if (device_->run_until(done, kTimeout)) return;
    FAIL("timed out after " << kTimeout.count() << " ms waiting for: " << what << "\n"
                            << device_->describe() << "cloudsim executions: "
                            << (sim.running() ? sim.request("GET", "/jobs/device-1").body : std::string("(not running)"))
                            << "\ncloudsim log:\n" << sim.log_tail());
  }

  void create_job(std::string_view job_id, std::string_view document, std::optional<int> step_minutes = {}) {
    std::string body = "{\"jobId\":\"" + std::string(job_id) + "\",\"document\":" + std::string(document);
    if (step_minutes) body += ",\"stepTimeoutInMinutes\":" + std::to_string(*step_minutes);
    body += "}";
    const test::HttpResponse created = sim.create_job(kThing, body);
    INFO("create_job " << body << ": " << created.body);
    REQUIRE(created.status == 201);
  }

  // cloudsim's view of one execution of device-1.
  CloudExecution cloud(std::string_view job_id) {
    const test::HttpResponse listed = sim.request("GET", "/jobs/device-1");
    INFO("GET /jobs/device-1: " << listed.body);
    REQUIRE(listed.status == 200);
    CloudExecution out;
    const Status parsed = json::parse(listed.body, kMaxJsonInput, [&](const json::Value& root) {
      const json::Value executions = root["executions"];
      for (json::Value e = executions.first_child(); e.valid(); e = e.next()) {
        if (e["jobId"].as_string().value_or("") != job_id) continue;
        out.status = std::string(e["status"].as_string().value_or("?"));
        const json::Value details = e["statusDetails"];
        out.reason_code = std::string(details["reasonCode"].as_string().value_or(""));
        for (json::Value d = details.first_child(); d.valid(); d = d.next()) {
          out.details += std::string(d.key()) + "=" + std::string(d.as_string().value_or("?")) + ";";
        }
        const std::string blinks(details["blinks"].as_string().value_or(""));
        if (!blinks.empty()) out.blinks = std::stoll(blinks);
      }
      return Status();
    });
    REQUIRE(parsed.ok());
    return out;
  }

  TestBroker broker;
  Cloudsim sim;
  test::TempDir dir{"tether-jobs"};
  JobsAdapterSettings settings = test_settings();
  InboxSettings inbox_settings;

 private:
  std::unique_ptr<JobsDevice> device_;
};

}  // namespace

TEST_CASE("commands jobs: a job queued while the device is offline runs after the connect and ends SUCCEEDED",
          "[commands][jobs][cloudsim][integration]") {
  Rig rig;
  rig.create_job("job-1", R"({"operation": "blink", "times": 2})");
  rig.device().run_for(milliseconds(500));  // not started: nothing reaches the device
  CHECK(rig.device().runs.empty());
  rig.device().start();
  rig.require_eventually("job-1 handed to the blink handler", [&] { return rig.device().runs.size() == 1; });
  const Run run = rig.device().runs[0];
  CHECK(run.id == "job-1");
  CHECK(run.operation == "blink");
  CHECK(run.times == 2);
  rig.require_eventually("IN_PROGRESS acknowledged", [&] { return rig.device().adapter().stats().updates_accepted == 1; });
  CHECK(rig.cloud("job-1").status == "IN_PROGRESS");

  REQUIRE(rig.device().inbox().succeed(run.execution, R"({"blinks": 2})").ok());
  rig.require_eventually("SUCCEEDED acknowledged, nothing pending",
                         [&] { return rig.device().quiet() && rig.device().adapter().stats().nothing_pending >= 1; });
  rig.device().run_for(milliseconds(1000));  // a second delivery would come now
  INFO(rig.device().describe());
  const CloudExecution job = rig.cloud("job-1");
  INFO("statusDetails: " << job.details);
  CHECK(job.status == "SUCCEEDED");
  CHECK(job.blinks == 2);
  CHECK(rig.device().runs.size() == 1);
  CHECK(rig.device().local_status("job-1") == ExecStatus::kSucceeded);
}

TEST_CASE("commands jobs: two queued jobs run one after the other, in order",
          "[commands][jobs][cloudsim][integration]") {
  Rig rig;
  rig.create_job("job-a", R"({"operation": "blink", "times": 1})");
  rig.create_job("job-b", R"({"operation": "blink", "times": 2})");
  rig.device().start();
  rig.require_eventually("job-a handed out", [&] { return rig.device().runs.size() == 1; });
  rig.device().run_for(milliseconds(1000));  // job-b must wait for the end of job-a
  REQUIRE(rig.device().runs.size() == 1);
  CHECK(rig.device().runs[0].id == "job-a");
  CHECK(rig.cloud("job-b").status == "QUEUED");

  REQUIRE(rig.device().inbox().succeed(rig.device().runs[0].execution).ok());
  rig.require_eventually("job-b handed out", [&] { return rig.device().runs.size() == 2; });
  CHECK(rig.device().runs[1].id == "job-b");
  CHECK(rig.device().runs[1].times == 2);
  CHECK(rig.cloud("job-a").status == "SUCCEEDED");
  REQUIRE(rig.device().inbox().succeed(rig.device().runs[1].execution).ok());
  rig.require_eventually("job-b acknowledged", [&] { return rig.device().quiet(); });
  CHECK(rig.cloud("job-b").status == "SUCCEEDED");
  CHECK(rig.device().runs.size() == 2);
}

TEST_CASE("commands jobs: a reboot job reports SUCCEEDED after the device restarts, then the next job runs",
          "[commands][jobs][cloudsim][integration]") {
  Rig rig;
  rig.create_job("reboot-1", R"({"operation": "reboot"})");
  rig.create_job("blink-1", R"({"operation": "blink"})");
  rig.device().start();
  rig.require_eventually("the reboot job handed out", [&] { return rig.device().runs.size() == 1; });
  REQUIRE(rig.device().runs[0].id == "reboot-1");
  rig.require_eventually("IN_PROGRESS acknowledged", [&] { return rig.device().adapter().stats().updates_accepted == 1; });
  REQUIRE(rig.device().inbox().succeed_after_restart(rig.device().runs[0].execution).ok());
  rig.power_off();  // agent, inbox, adapter, MQTT client and store destroyed
  CHECK(rig.cloud("reboot-1").status == "IN_PROGRESS");
  CHECK(rig.cloud("blink-1").status == "QUEUED");

  rig.boot();
  CHECK(rig.device().local_status("reboot-1") == ExecStatus::kSucceeded);  // from the journal
  rig.device().start();
  rig.require_eventually("the next job handed out after the restart", [&] { return rig.device().runs.size() == 1; });
  CHECK(rig.device().runs[0].id == "blink-1");  // the reboot job did not run again
  const CloudExecution reboot = rig.cloud("reboot-1");
  INFO("statusDetails: " << reboot.details);
  CHECK(reboot.status == "SUCCEEDED");
  CHECK(rig.cloud("blink-1").status == "IN_PROGRESS");
}

TEST_CASE("commands jobs: a job with an unknown operation ends REJECTED and the queue moves on",
          "[commands][jobs][cloudsim][integration]") {
  Rig rig;
  rig.create_job("job-x", R"({"operation": "format-disk"})");
  rig.create_job("job-y", R"({"action": "blink"})");  // no operation member at all
  rig.create_job("job-z", R"({"operation": "blink"})");
  rig.device().start();
  rig.require_eventually("job-z handed out", [&] { return rig.device().runs.size() == 1; });
  CHECK(rig.device().runs[0].id == "job-z");
  for (const char* id : {"job-x", "job-y"}) {
    INFO(id);
    const CloudExecution job = rig.cloud(id);
    INFO("statusDetails: " << job.details);
    CHECK(job.status == "REJECTED");
    CHECK(job.reason_code == "UNKNOWN_OPERATION");
    CHECK(rig.device().local_status(id) == ExecStatus::kRejected);
  }
}

TEST_CASE("commands jobs: a job whose step timeout passes ends TIMED_OUT and a late completion is refused locally",
          "[commands][jobs][cloudsim][integration]") {
  // A timeout minute lasts one second in cloudsim; the device's own deadline is 3 s.
  Rig rig({"--time-scale", "60"});
  rig.settings.step_timeout_minutes = 1;
  rig.settings.deadline = milliseconds(3000);
  rig.inbox_settings.status_retry = milliseconds(1000);
  rig.boot();
  rig.create_job("slow-1", R"({"operation": "blink"})");
  rig.device().start();
  rig.require_eventually("slow-1 handed out", [&] { return rig.device().runs.size() == 1; });
  rig.require_eventually("the local deadline passed", [&] {
    return rig.device().local_status("slow-1") == ExecStatus::kTimedOut;
  });
  // The device sent FAILED (TIMEOUT); cloudsim had timed the execution out already and refused it
  // for good.
  rig.require_eventually("the FAILED status answered", [&] { return rig.device().quiet(); });
  const CloudExecution job = rig.cloud("slow-1");
  INFO("statusDetails: " << job.details << "\n" << rig.device().describe());
  CHECK(job.status == "TIMED_OUT");
  CHECK(rig.device().adapter().stats().updates_final == 1);
  CHECK(rig.device().inbox().succeed(rig.device().runs[0].execution).code() == StatusCode::kDeadlineExceeded);
  // Nothing is sent in a loop: no status goes out any more (status_retry is 1 s).
  const std::uint32_t sent = rig.device().adapter().stats().updates_sent;
  rig.device().run_for(milliseconds(4000));
  CHECK(rig.device().adapter().stats().updates_sent == sent);
  CHECK(rig.cloud("slow-1").status == "TIMED_OUT");
}
