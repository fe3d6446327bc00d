// Copyright 2026 The Tether Authors. SPDX-License-Identifier: Apache-2.0
// The Jobs adapter with the command inbox over the fakes, against a small in-memory Jobs service
// that answers like tools/cloudsim/cloudsim/jobs_model.py (start-next, $next/get, update, notify-
// next, step timeouts, the error codes), with hooks to lose, throttle or duplicate its answers.
// Assertions are on what is observable: requests published, the service's executions, handler
// runs, statuses returned by the inbox.
#include <catch2/catch.hpp>

#include <algorithm>
#include <cstdio>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "test_support.hpp"
#include "tether/agent.hpp"
#include "tether/commands/inbox.hpp"
#include "tether/commands/jobs_adapter.hpp"
#include "tether/json.hpp"
#include "tether/port/testing/capturing_log_sink.hpp"
#include "tether/port/testing/fake_mqtt_client.hpp"
#include "tether/port/testing/memory_kv_store.hpp"
#include "tether/port/testing/simulated_clock.hpp"

using namespace tether;
using namespace tether::commands;
using std::chrono::milliseconds;
using std::chrono::seconds;

namespace {

const std::string kRoot = "$aws/things/device-1/jobs";

// ---- JSON helpers (parsed, never substrings) -------------------------------------------------------

std::string quote(std::string_view text) {
  std::string out = "\"";
  for (const char c : text) {
    if (c == '"' || c == '\\') {
      out += '\\';
      out += c;
    } else if (static_cast<unsigned char>(c) < 0x20) {
      char buf[8];
      std::snprintf(buf, sizeof buf, "\\u%04x", c);
      out += buf;
    } else {
      out += c;
    }
  }
  return out + "\"";
}

json::Value at_path(json::Value v, std::string_view path) {
  while (!path.empty()) {
    const std::size_t dot = path.find('.');
    v = v[path.substr(0, dot)];
    path = dot == std::string_view::npos ? std::string_view() : path.substr(dot + 1);
  }
  return v;
}

// The string at `path` of the JSON document `doc`, if there is one.
std::optional<std::string> string_at(const std::string& doc, std::string_view path) {
  std::optional<std::string> out;
  json::parse(doc, kMaxJsonInput, [&](const json::Value& root) {
    const Result<std::string_view> s = at_path(root, path).as_string();
    if (s.ok()) out = std::string(s.value());
    return Status();
  }).ignore();
  return out;
}

std::optional<std::int64_t> int_at(const std::string& doc, std::string_view path) {
  std::optional<std::int64_t> out;
  json::parse(doc, kMaxJsonInput, [&](const json::Value& root) {
    const Result<std::int64_t> i = at_path(root, path).as_int();
    if (i.ok()) out = i.value();
    return Status();
  }).ignore();
  return out;
}

bool has(const std::string& doc, std::string_view path) {
  bool out = false;
  json::parse(doc, kMaxJsonInput, [&](const json::Value& root) {
    out = at_path(root, path).valid();
    return Status();
  }).ignore();
  return out;
}

// The members of the object at `path` whose values are strings.
std::map<std::string, std::string> string_map_at(const std::string& doc, std::string_view path) {
  std::map<std::string, std::string> out;
  json::parse(doc, kMaxJsonInput, [&](const json::Value& root) {
    const json::Value object = at_path(root, path);
    for (json::Value m = object.first_child(); m.valid(); m = m.next()) {
      out[std::string(m.key())] = std::string(m.as_string().value_or("<not a string>"));
    }
    return Status();
  }).ignore();
  return out;
}

// ---- a Jobs service like cloudsim's -----------------------------------------------------------------

struct Job {
  std::string id;
  std::string document;  // JSON text
  std::string status = "QUEUED";
  std::map<std::string, std::string> details;
  std::int64_t version = 1;
  std::optional<std::int64_t> step_timeout_min;  // job level: armed when the execution starts
  std::optional<Milliseconds> deadline;
  bool started = false;
};

struct Request {
  std::string topic;
  std::string payload;
  Milliseconds at{0};  // when the service saw it
};

class FakeJobs {
 public:
  FakeJobs(testing::FakeMqttClient& mqtt, testing::SimulatedClock& clock) : mqtt_(mqtt), clock_(clock) {}

  void create(const std::string& id, const std::string& document, std::optional<std::int64_t> step = {}) {
    Job job;
    job.id = id;
    job.document = document;
    job.step_timeout_min = step;
    jobs.push_back(job);
    notify();
  }
  // The operator cancels a pending execution.
  void cancel(const std::string& id) {
    Job* job = find(id);
    REQUIRE(job != nullptr);
    set_status(*job, "CANCELED");
    notify();
  }
  Job* find(const std::string& id) {
    for (Job& j : jobs) {
      if (j.id == id) return &j;
    }
    return nullptr;
  }
  std::string status_of(const std::string& id) {
    const Job* job = find(id);
    return job == nullptr ? "<none>" : job->status;
  }

  // Answers every request published since the last call (and times executions out).
  void process() {
    timeouts();
    const auto& published = mqtt_.published();
    for (; seen_ < published.size(); ++seen_) {
      const testing::FakeMessage& m = published[seen_];
      if (m.topic.rfind(kRoot + "/", 0) != 0) continue;
      const std::string rest = m.topic.substr(kRoot.size() + 1);
      requests.push_back({m.topic, m.payload, clock_.now()});
      if (rest == "start-next") {
        if (drop_start_next > 0) {
          --drop_start_next;
          continue;
        }
        if (reject_start_next > 0) {
          --reject_start_next;
          answer("start-next/rejected", error("RequestThrottled", "slow down", m.payload));
          continue;
        }
        start_next(m.payload);
      } else if (rest == "$next/get") {
        describe_next(m.payload);
      } else if (rest.size() > 7 && rest.compare(rest.size() - 7, 7, "/update") == 0) {
        update(rest.substr(0, rest.size() - 7), m.payload);
      }
    }
  }

  // Requests seen on `suffix` ("start-next", "job-1/update").
  std::vector<std::string> requests_on(const std::string& suffix) const {
    std::vector<std::string> out;
    for (const Request& r : requests) {
      if (r.topic == kRoot + "/" + suffix) out.push_back(r.payload);
    }
    return out;
  }
  // The statuses of the updates of `id`, in order.
  std::vector<std::string> update_statuses(const std::string& id) const {
    std::vector<std::string> out;
    for (const std::string& p : requests_on(id + "/update")) out.push_back(string_at(p, "status").value_or("?"));
    return out;
  }

  std::vector<Job> jobs;
  std::vector<Request> requests;
  std::vector<Request> answers;  // what the service published
  int drop_start_next = 0;       // requests lost
  int reject_start_next = 0;     // answered RequestThrottled
  int throttle_updates = 0;      // answered RequestThrottled
  int drop_update_answers = 0;   // updates applied, answers lost
  bool refuse_terminal = false;  // terminal updates refused InvalidRequest, the execution stays

 private:
  std::int64_t stamp() const { return 1700000000 + clock_.now().count() / 1000; }

  void answer(const std::string& suffix, const std::string& payload) {
    answers.push_back({kRoot + "/" + suffix, payload, clock_.now()});
    mqtt_.inject_message(kRoot + "/" + suffix, payload);
  }

  std::string token_member(const std::string& request) {
    const std::optional<std::string> token = string_at(request, "clientToken");
    return token ? ",\"clientToken\":" + quote(*token) : "";
  }

  std::string error(const std::string& code, const std::string& message, const std::string& request,
                    const Job* state = nullptr) {
    std::string doc = "{\"code\":" + quote(code) + ",\"message\":" + quote(message) +
                      ",\"timestamp\":" + std::to_string(stamp()) + token_member(request);
    if (state != nullptr) {
      doc += ",\"executionState\":{\"status\":" + quote(state->status) + ",\"versionNumber\":" +
             std::to_string(state->version) + "}";
    }
    return doc + "}";
  }

  std::string execution(const Job& j) const {
    std::string doc = "{\"jobId\":" + quote(j.id) + ",\"thingName\":\"device-1\",\"status\":" + quote(j.status) +
                      ",\"queuedAt\":" + std::to_string(stamp()) + ",\"lastUpdatedAt\":" + std::to_string(stamp()) +
                      ",\"versionNumber\":" + std::to_string(j.version) + ",\"executionNumber\":1";
    if (!j.details.empty()) {
      doc += ",\"statusDetails\":{";
      bool first = true;
      for (const auto& [k, v] : j.details) {
        doc += (first ? "" : ",") + quote(k) + ":" + quote(v);
        first = false;
      }
      doc += "}";
    }
    if (j.started) doc += ",\"startedAt\":" + std::to_string(stamp());
    return doc + ",\"jobDocument\":" + j.document + "}";
  }

  Job* next() {
    for (Job& j : jobs) {
      if (j.status == "IN_PROGRESS") return &j;
    }
    for (Job& j : jobs) {
      if (j.status == "QUEUED") return &j;
    }
    return nullptr;
  }

  void notify() {
    const Job* n = next();
    const std::string key = n == nullptr ? "" : n->id;
    if (key == last_next_) return;
    last_next_ = key;
    answer("notify-next", "{\"timestamp\":" + std::to_string(stamp()) +
                              (n == nullptr ? "" : ",\"execution\":" + execution(*n)) + "}");
  }

  void set_status(Job& j, const std::string& status) {
    j.status = status;
    ++j.version;
    if (status != "IN_PROGRESS") j.deadline.reset();
  }

  void arm(Job& j, std::optional<std::int64_t> step) {
    if (!j.started) {
      j.started = true;
      if (j.step_timeout_min) j.deadline = clock_.now() + milliseconds(*j.step_timeout_min * 60000);
    }
    if (step) j.deadline = clock_.now() + milliseconds(*step * 60000);
  }

  void timeouts() {
    bool changed = false;
    for (Job& j : jobs) {
      if (j.status == "IN_PROGRESS" && j.deadline && clock_.now() >= *j.deadline) {
        set_status(j, "TIMED_OUT");
        changed = true;
      }
    }
    if (changed) notify();
  }

  void start_next(const std::string& request) {
    Job* n = next();
    if (n != nullptr && n->status == "QUEUED") {
      arm(*n, int_at(request, "stepTimeoutInMinutes"));
      set_status(*n, "IN_PROGRESS");
    }
    answer("start-next/accepted", "{\"timestamp\":" + std::to_string(stamp()) +
                                      (n == nullptr ? "" : ",\"execution\":" + execution(*n)) + token_member(request) +
                                      "}");
  }

  void describe_next(const std::string& request) {
    const Job* n = next();
    answer("$next/get/accepted", "{\"timestamp\":" + std::to_string(stamp()) +
                                     (n == nullptr ? "" : ",\"execution\":" + execution(*n)) + token_member(request) + "}");
  }

  void update(const std::string& id, const std::string& request) {
    const std::string suffix = id + "/update/";
    Job* j = find(id);
    const std::string status = string_at(request, "status").value_or("");
    const std::optional<std::int64_t> step = int_at(request, "stepTimeoutInMinutes");
    if (j == nullptr) return answer(suffix + "rejected", error("ResourceNotFound", "no such job", request));
    if (throttle_updates > 0) {
      --throttle_updates;
      return answer(suffix + "rejected", error("RequestThrottled", "slow down", request));
    }
    if (j->status != "QUEUED" && j->status != "IN_PROGRESS") {
      return answer(suffix + "rejected", error("TerminalStateReached", "terminal: " + j->status, request, j));
    }
    if (status != "IN_PROGRESS" && status != "SUCCEEDED" && status != "FAILED" && status != "REJECTED") {
      return answer(suffix + "rejected", error("InvalidStateTransition", "cannot set " + status, request, j));
    }
    if (step && status != "IN_PROGRESS") {
      return answer(suffix + "rejected", error("InvalidRequest", "stepTimeoutInMinutes needs IN_PROGRESS", request));
    }
    if (refuse_terminal && status != "IN_PROGRESS") {
      return answer(suffix + "rejected", error("InvalidRequest", "not today", request));
    }
    if (status == "IN_PROGRESS") arm(*j, step);
    if (has(request, "statusDetails")) j->details = string_map_at(request, "statusDetails");
    set_status(*j, status);
    if (drop_update_answers > 0) {
      --drop_update_answers;
    } else {
      answer(suffix + "accepted", "{\"timestamp\":" + std::to_string(stamp()) + token_member(request) + "}");
    }
    notify();
  }

  testing::FakeMqttClient& mqtt_;
  testing::SimulatedClock& clock_;
  std::size_t seen_ = 0;
  std::string last_next_;
};

// A push protocol holding the slot: a command that is not a job.
class OtherAdapter final : public Adapter {
 public:
  Source source() const override { return Source::kNeutral; }
  Status start(Inbox& inbox, ErrorText*) override {
    inbox_ = &inbox;
    return Status();
  }
  Status send_status(std::string_view, const StatusReport&) override { return Status(); }
  Delivery deliver(std::string_view id) {
    Incoming in;
    in.id = id;
    in.operation = "blink";
    return inbox_->deliver(*this, in);
  }

 private:
  Inbox* inbox_ = nullptr;
};
// ---- the device ------------------------------------------------------------------------------------

class Rig {
 public:
  testing::SimulatedClock clock;
  testing::FakeMqttClient mqtt{&clock};
  testing::CapturingLogSink log;
  testing::MemoryKvStore store;
  FakeJobs service{mqtt, clock};
  AgentConfig config;
  InboxSettings inbox_settings;
  JobsAdapterSettings settings;
  std::unique_ptr<Agent> agent;
  std::unique_ptr<JobsAdapter> adapter;
  std::unique_ptr<Inbox> inbox;  // destroyed before the adapter
  std::vector<std::string> runs;  // "<id>:<operation>[:resumed]"
  std::vector<Execution> executions;
  std::vector<std::string> documents;  // the documents the handlers got
  bool resumable = false;
  Adapter* extra = nullptr;  // a second protocol, if any

  Rig() {
    REQUIRE(config.thing_name.assign("device-1").ok());
    inbox_settings.heartbeat = milliseconds(0);
  }

  // Starts (or restarts, over the same store and service) the device. Not run yet.
  void boot() {
    if (agent) {
      mqtt.drop_connection(Status(StatusCode::kUnavailable, Origin::kSocket));
      agent->run_once(milliseconds(0)).ignore();
    }
    inbox.reset();
    adapter.reset();
    agent = std::make_unique<Agent>(mqtt, clock, config, &log, 3);
    adapter = std::make_unique<JobsAdapter>(settings, 42);
    inbox = std::make_unique<Inbox>(*agent, &store, inbox_settings);
    executions.clear();
    REQUIRE(inbox->add_adapter(*adapter).ok());
    if (extra != nullptr) REQUIRE(inbox->add_adapter(*extra).ok());
    const auto handler = [this](const CommandContext& c) {
      runs.push_back(std::string(c.id) + ":" + std::string(c.operation) + (c.resumed ? ":resumed" : ""));
      executions.push_back(c.execution);
      documents.push_back(c.document.valid() ? "object" : "none");
    };
    REQUIRE(inbox->on_command("reboot", handler, resumable).ok());
    REQUIRE(inbox->on_command("blink", handler, resumable).ok());
    ErrorText why;
    const Status started = inbox->start(&why);
    INFO(why.c_str());
    REQUIRE(started.ok());
    REQUIRE(agent->start().ok());
  }
  // Queues a blink job for each of `ids`, boots and runs until the first one is handed out.
  void boot_with_jobs(std::initializer_list<const char*> ids) {
    for (const char* id : ids) service.create(id, R"({"operation":"blink"})");
    boot();
    run(seconds(1));
    REQUIRE(runs.size() == 1);
  }
  void run(milliseconds d) {
    const milliseconds end = clock.now() + d;
    while (clock.now() < end) {
      agent->run_once(milliseconds(50)).ignore();
      service.process();
    }
  }
  ExecStatus local_status(const std::string& id) const {
    return inbox->status_of(Source::kJobs, id).value_or(ExecStatus::kQueued);
  }
};

}  // namespace

TEST_CASE("jobs adapter: a job queued while the device was offline is delivered once after the connect") {
  Rig rig;
  rig.service.create("job-1", R"({"operation":"blink","times":3})");
  rig.boot();
  rig.run(seconds(2));
  REQUIRE(rig.runs == std::vector<std::string>{"job-1:blink"});
  CHECK(rig.documents[0] == "object");
  CHECK(rig.service.status_of("job-1") == "IN_PROGRESS");
  CHECK(rig.service.update_statuses("job-1") == std::vector<std::string>{"IN_PROGRESS"});
  CHECK(rig.adapter->running_job() == "job-1");
  REQUIRE(rig.inbox->progress(rig.executions[0], R"({"blinks":1})").ok());
  rig.run(seconds(1));
  CHECK(rig.service.find("job-1")->details == std::map<std::string, std::string>{{"blinks", "1"}});
  REQUIRE(rig.inbox->succeed(rig.executions[0]).ok());
  rig.run(seconds(30));
  CHECK(rig.service.status_of("job-1") == "SUCCEEDED");
  CHECK(rig.service.find("job-1")->details.empty());  // statusDetails {} replaced the progress
  CHECK(rig.runs.size() == 1);
  CHECK(rig.adapter->running_job().empty());
  // Asked once after the connect, once after the job ended (nothing pending): then idle.
  CHECK(rig.service.requests_on("start-next").size() == 2);
  CHECK(rig.adapter->stats().updates_accepted == 3);
}

TEST_CASE("jobs adapter: asks for work only once every answer topic is subscribed") {
  Rig rig;
  rig.service.create("job-1", R"({"operation":"blink"})");
  rig.mqtt.refuse_subscription(kRoot + "/+/update/accepted", Status(StatusCode::kPermissionDenied, Origin::kMqtt, 0x87));
  rig.boot();
  rig.run(seconds(20));
  CHECK(rig.service.requests_on("start-next").empty());
  CHECK(rig.runs.empty());
  CHECK_FALSE(rig.adapter->ready());
  CHECK(rig.log.count(LogLevel::kError, "jobs cannot start") == 1);
  // The subscriptions of the adapter, as the broker saw them.
  const auto& subs = rig.mqtt.subscribe_calls();
  for (const char* suffix : {"notify-next", "start-next/accepted", "start-next/rejected", "+/update/rejected",
                             "$next/get/accepted", "$next/get/rejected"}) {
    CHECK(std::find(subs.begin(), subs.end(), kRoot + "/" + suffix) != subs.end());
  }
}

TEST_CASE("jobs adapter: a second queued job starts only after the service has taken the end of the first") {
  Rig rig;
  rig.service.create("job-1", R"({"operation":"blink"})");
  rig.service.create("job-2", R"({"operation":"reboot"})");
  rig.boot();
  rig.run(seconds(5));
  REQUIRE(rig.runs == std::vector<std::string>{"job-1:blink"});
  CHECK(rig.service.status_of("job-2") == "QUEUED");
  CHECK(rig.service.requests_on("start-next").size() == 1);
  REQUIRE(rig.inbox->fail(rig.executions[0], "LED_BROKEN", "no current").ok());
  rig.run(seconds(2));
  REQUIRE(rig.runs == std::vector<std::string>{"job-1:blink", "job-2:reboot"});
  CHECK(rig.service.status_of("job-1") == "FAILED");
  CHECK(rig.service.find("job-1")->details ==
        std::map<std::string, std::string>{{"reasonCode", "LED_BROKEN"}, {"reason", "no current"}});
  CHECK(rig.service.status_of("job-2") == "IN_PROGRESS");
  // The start-next for job-2 followed the answer to job-1's FAILED, never preceded it.
  std::size_t failed_at = 0;
  std::size_t next_at = 0;
  for (std::size_t i = 0; i < rig.service.requests.size(); ++i) {
    const Request& r = rig.service.requests[i];
    if (r.topic == kRoot + "/job-1/update" && string_at(r.payload, "status") == "FAILED") failed_at = i;
    if (r.topic == kRoot + "/start-next") next_at = i;
  }
  CHECK(failed_at < next_at);
}

TEST_CASE("jobs adapter: a notify-next wakes an idle adapter") {
  Rig rig;
  rig.boot();
  rig.run(seconds(5));
  CHECK(rig.service.requests_on("start-next").size() == 1);
  CHECK(rig.adapter->stats().nothing_pending == 1);
  rig.run(seconds(60));
  CHECK(rig.service.requests_on("start-next").size() == 1);  // idle: no polling
  rig.service.create("job-1", R"({"operation":"blink"})");
  rig.run(seconds(1));
  CHECK(rig.runs == std::vector<std::string>{"job-1:blink"});
  CHECK(rig.adapter->stats().notifications >= 1);
}

TEST_CASE("jobs adapter: start-next carries the step timeout, IN_PROGRESS updates refresh it, the deadline follows it") {
  Rig rig;
  rig.settings.step_timeout_minutes = 3;
  rig.inbox_settings.heartbeat = seconds(60);
  rig.boot_with_jobs({"job-1"});
  const auto start_next = rig.service.requests_on("start-next");
  REQUIRE(start_next.size() == 1);
  CHECK(int_at(start_next[0], "stepTimeoutInMinutes") == 3);
  CHECK_FALSE(has(start_next[0], "expectedVersion"));
  // Heartbeats every minute keep the service's 3-minute step timer from firing...
  rig.run(seconds(150));
  CHECK(rig.service.status_of("job-1") == "IN_PROGRESS");
  for (const std::string& u : rig.service.requests_on("job-1/update")) {
    CHECK(string_at(u, "status") == "IN_PROGRESS");
    CHECK(int_at(u, "stepTimeoutInMinutes") == 3);
    CHECK_FALSE(has(u, "expectedVersion"));
  }
  // ...and the local deadline (the step timeout from the delivery) ends the command itself.
  rig.run(seconds(35));
  CHECK(rig.service.status_of("job-1") == "FAILED");
  CHECK(rig.service.find("job-1")->details.at("reasonCode") == "TIMEOUT");
  const auto statuses = rig.service.update_statuses("job-1");
  CHECK(std::find(statuses.begin(), statuses.end(), "TIMED_OUT") == statuses.end());
  CHECK_FALSE(has(rig.service.requests_on("job-1/update").back(), "stepTimeoutInMinutes"));
  CHECK(rig.inbox->succeed(rig.executions[0]).code() == StatusCode::kDeadlineExceeded);
}

TEST_CASE("jobs adapter: TIMED_OUT is sent as FAILED with reasonCode TIMEOUT, never as TIMED_OUT") {
  Rig rig;
  rig.settings.deadline = seconds(5);
  rig.service.create("job-1", R"({"operation":"blink"})");
  rig.service.create("job-2", R"({"operation":"blink"})");
  rig.boot();
  rig.run(seconds(7));
  CHECK(rig.local_status("job-1") == ExecStatus::kTimedOut);
  CHECK(rig.service.status_of("job-1") == "FAILED");
  CHECK(rig.service.find("job-1")->details.at("reasonCode") == "TIMEOUT");
  CHECK(rig.service.find("job-1")->details.count("reason") == 1);
  CHECK(rig.inbox->succeed(rig.executions[0]).code() == StatusCode::kDeadlineExceeded);
  // The queue moves on.
  CHECK(rig.runs == std::vector<std::string>{"job-1:blink", "job-2:blink"});
}

TEST_CASE("jobs adapter: statusDetails hold the reason and the details flattened to strings") {
  Rig rig;
  rig.service.create("job-1", R"({"operation":"blink"})");
  rig.boot();
  rig.run(seconds(1));
  REQUIRE(rig.executions.size() == 1);
  REQUIRE(rig.inbox->progress(rig.executions[0], R"({"step":"1/2","pct":50,"ok":true,"o":{"a":[1,2.5,null]}})").ok());
  rig.run(seconds(1));
  CHECK(rig.service.find("job-1")->details ==
        std::map<std::string, std::string>{{"step", "1/2"}, {"pct", "50"}, {"ok", "true"}, {"o", R"({"a":[1,2.5,null]})"}});
  // Members the service would refuse are left out, loudly; the rest goes. Characters it refuses in
  // a value (controls: a program's output lines) are replaced, the value kept.
  REQUIRE(rig.inbox->succeed(rig.executions[0],
                             R"({"bad key":1,"empty":"","ctl":"a\u0001b","out":"line 1\nline 2\n","reason":"mine","fine":"yes"})")
              .ok());
  rig.run(seconds(1));
  CHECK(rig.service.status_of("job-1") == "SUCCEEDED");
  CHECK(rig.service.find("job-1")->details ==
        std::map<std::string, std::string>{
            {"ctl", "a?b"}, {"out", "line 1 line 2 "}, {"reason", "mine"}, {"fine", "yes"}});
  CHECK(rig.adapter->stats().details_dropped == 2);
  CHECK(rig.log.count(LogLevel::kWarn, "left out") == 2);
}

TEST_CASE("jobs adapter: over-long statusDetails values are cut to 1024 characters") {
  Rig rig;
  rig.boot();
  rig.run(seconds(1));
  rig.mqtt.clear_published();
  // The inbox keeps reasons short; an adapter caller may not.
  const std::string reason = std::string(1000, 'a') + std::string(500, 'b');
  StatusReport report;
  report.status = ExecStatus::kFailed;
  report.reason_code = "TOO_LONG";
  report.reason = reason;
  REQUIRE(rig.adapter->send_status("job-1", report).ok());
  REQUIRE(rig.mqtt.published().size() == 1);
  const std::string& update = rig.mqtt.published()[0].payload;
  CHECK(rig.mqtt.published()[0].topic == kRoot + "/job-1/update");
  CHECK(string_at(update, "status") == "FAILED");
  CHECK(string_at(update, "statusDetails.reason") == reason.substr(0, 1024));
  CHECK(string_at(update, "statusDetails.reasonCode") == "TOO_LONG");
}

TEST_CASE("jobs adapter: a final refusal ends the retries of a status and the queue moves on") {
  Rig rig;
  rig.inbox_settings.status_retry = seconds(5);
  rig.boot_with_jobs({"job-1", "job-2"});
  rig.service.cancel("job-1");  // the operator cancels it while it runs
  REQUIRE(rig.inbox->succeed(rig.executions[0]).ok());
  rig.run(seconds(60));
  // One SUCCEEDED, answered TerminalStateReached: never sent again.
  CHECK(rig.service.update_statuses("job-1") == std::vector<std::string>{"IN_PROGRESS", "SUCCEEDED"});
  CHECK(rig.service.status_of("job-1") == "CANCELED");
  CHECK(rig.adapter->stats().updates_final == 1);
  CHECK(rig.inbox->stats().statuses_final == 1);
  CHECK(rig.runs == std::vector<std::string>{"job-1:blink", "job-2:blink"});
}

TEST_CASE("jobs adapter: a throttled status is sent again, then the next job starts") {
  Rig rig;
  rig.inbox_settings.status_retry = seconds(5);
  rig.boot_with_jobs({"job-1", "job-2"});
  rig.service.throttle_updates = 1;
  REQUIRE(rig.inbox->succeed(rig.executions[0]).ok());
  rig.run(seconds(15));
  CHECK(rig.service.update_statuses("job-1") == std::vector<std::string>{"IN_PROGRESS", "SUCCEEDED", "SUCCEEDED"});
  CHECK(rig.service.status_of("job-1") == "SUCCEEDED");
  CHECK(rig.runs == std::vector<std::string>{"job-1:blink", "job-2:blink"});
  CHECK(rig.adapter->stats().updates_retry == 1);
}

TEST_CASE("jobs adapter: an update answer that never comes counts as a retry") {
  Rig rig;
  rig.inbox_settings.status_retry = seconds(5);
  rig.settings.request_timeout = seconds(3);
  rig.boot_with_jobs({"job-1"});
  rig.service.drop_update_answers = 1;
  REQUIRE(rig.inbox->succeed(rig.executions[0]).ok());
  rig.run(seconds(30));
  // Sent again after the timeout + status_retry, refused TerminalStateReached: the end.
  CHECK(rig.service.update_statuses("job-1") == std::vector<std::string>{"IN_PROGRESS", "SUCCEEDED", "SUCCEEDED"});
  // The next start-next waited for the answer to SUCCEEDED (here: until it counted as lost).
  Milliseconds succeeded_at{0};
  Milliseconds next_at{0};
  for (const Request& r : rig.service.requests) {
    if (r.topic == kRoot + "/job-1/update" && string_at(r.payload, "status") == "SUCCEEDED" && succeeded_at.count() == 0) {
      succeeded_at = r.at;
    }
    if (r.topic == kRoot + "/start-next" && succeeded_at.count() != 0 && next_at.count() == 0) next_at = r.at;
  }
  CHECK(next_at - succeeded_at >= seconds(3));
  CHECK(rig.adapter->stats().updates_retry == 1);
  CHECK(rig.adapter->stats().updates_final + rig.adapter->stats().updates_accepted == 2);
}

TEST_CASE("jobs adapter: a job handed out again after its end is not run, and not asked for in a tight loop") {
  Rig rig;
  rig.boot_with_jobs({"job-1"});
  rig.service.refuse_terminal = true;  // a service that keeps the execution IN_PROGRESS
  REQUIRE(rig.inbox->succeed(rig.executions[0]).ok());
  rig.run(seconds(120));
  CHECK(rig.runs.size() == 1);
  CHECK(rig.service.status_of("job-1") == "IN_PROGRESS");
  // Each round (start-next, the same job, SUCCEEDED again, refused) waits longer than the last:
  // 1 s doubling up to 60 s gives at most a dozen rounds in two minutes.
  const std::size_t rounds = rig.service.requests_on("start-next").size();
  CHECK(rounds >= 3);
  CHECK(rounds <= 12);
  rig.service.refuse_terminal = false;
  rig.run(seconds(70));
  CHECK(rig.service.status_of("job-1") == "SUCCEEDED");
  CHECK(rig.runs.size() == 1);
}

TEST_CASE("jobs adapter: a reboot job reports SUCCEEDED after the restart, then the next job starts") {
  Rig rig;
  rig.service.create("job-1", R"({"operation":"reboot"})");
  rig.service.create("job-2", R"({"operation":"blink"})");
  rig.boot();
  rig.run(seconds(1));
  REQUIRE(rig.runs == std::vector<std::string>{"job-1:reboot"});
  REQUIRE(rig.inbox->succeed_after_restart(rig.executions[0]).ok());
  rig.boot();  // the device restarts
  rig.run(seconds(2));
  CHECK(rig.service.status_of("job-1") == "SUCCEEDED");
  CHECK(rig.runs == std::vector<std::string>{"job-1:reboot", "job-2:blink"});
  CHECK(rig.service.status_of("job-2") == "IN_PROGRESS");
}

TEST_CASE("jobs adapter: a resumable job interrupted by a restart is found with $next/get and resumed") {
  Rig rig;
  rig.resumable = true;
  rig.boot_with_jobs({"job-1", "job-2"});
  rig.boot();
  rig.run(seconds(2));
  REQUIRE(rig.runs == std::vector<std::string>{"job-1:blink", "job-1:blink:resumed"});
  CHECK(rig.adapter->stats().describe_sent + rig.adapter->stats().start_next_sent >= 1);
  REQUIRE(rig.inbox->succeed(rig.executions.back()).ok());
  rig.run(seconds(2));
  CHECK(rig.service.status_of("job-1") == "SUCCEEDED");
  CHECK(rig.runs.back() == "job-2:blink");
}

TEST_CASE("jobs adapter: duplicate and foreign start-next answers do not run a job twice") {
  Rig rig;
  rig.boot_with_jobs({"job-1"});
  const auto answers = rig.service.answers;
  const auto it = std::find_if(answers.begin(), answers.end(),
                               [](const Request& a) { return a.topic == kRoot + "/start-next/accepted"; });
  REQUIRE(it != answers.end());
  rig.mqtt.inject_message(it->topic, it->payload);  // the broker delivers it again
  // Another client of the thing asked too: an answer with its clientToken.
  std::string other = it->payload;
  const std::string token = *string_at(other, "clientToken");
  other.replace(other.find(token), token.size(), "someone-else");
  rig.mqtt.inject_message(it->topic, other);
  rig.run(seconds(2));
  CHECK(rig.runs.size() == 1);
  CHECK(rig.adapter->stats().foreign_answers == 2);
  REQUIRE(rig.inbox->succeed(rig.executions[0]).ok());
  rig.run(seconds(2));
  CHECK(rig.service.status_of("job-1") == "SUCCEEDED");
  CHECK(rig.runs.size() == 1);
}

TEST_CASE("jobs adapter: a lost or throttled start-next is retried with backoff") {
  Rig rig;
  rig.settings.request_timeout = seconds(3);
  rig.service.create("job-1", R"({"operation":"blink"})");
  rig.service.drop_start_next = 1;
  rig.service.reject_start_next = 1;
  rig.boot();
  rig.run(seconds(2));
  CHECK(rig.runs.empty());
  rig.run(seconds(30));
  CHECK(rig.runs == std::vector<std::string>{"job-1:blink"});
  CHECK(rig.service.requests_on("start-next").size() == 3);
  CHECK(rig.adapter->stats().request_timeouts == 1);
  CHECK(rig.adapter->stats().request_rejections == 1);
}

TEST_CASE("jobs adapter: documents the device cannot run are REJECTED through the inbox and the queue moves on") {
  Rig rig;
  rig.service.create("no-op", R"({"times":3})");
  rig.service.create("not-string", R"({"operation":7})");
  rig.service.create("unknown", R"({"operation":"format-disk"})");
  std::string huge = R"({"operation":"blink","blob":")" + std::string(jobs::kMaxJobDocument, 'x') + "\"}";
  rig.service.create("huge", huge);
  rig.service.create("fine", R"({"operation":"blink"})");
  rig.boot();
  rig.run(seconds(10));
  for (const char* id : {"no-op", "not-string", "unknown", "huge"}) {
    INFO(id);
    CHECK(rig.service.status_of(id) == "REJECTED");
    CHECK(rig.service.find(id)->details.at("reasonCode") == "UNKNOWN_OPERATION");
    CHECK(rig.local_status(id) == ExecStatus::kRejected);
  }
  CHECK(rig.runs == std::vector<std::string>{"fine:blink"});
  CHECK(rig.adapter->stats().invalid_documents == 3);
  CHECK(rig.log.count(LogLevel::kWarn, "cannot be used") == 1);  // the huge one, with the codec's reason
}

TEST_CASE("jobs adapter: malformed messages and executions of another thing are dropped with a log line") {
  Rig rig;
  rig.boot();
  rig.run(seconds(2));  // idle: nothing pending
  const std::size_t requests = rig.service.requests_on("start-next").size();
  rig.mqtt.inject_message(kRoot + "/notify-next", "not json");
  rig.mqtt.inject_message(kRoot + "/start-next/accepted", R"({"execution":{"jobId":"bad id!","status":"QUEUED"}})");
  rig.mqtt.inject_message(kRoot + "/job-1/update/accepted", "[]");
  rig.run(seconds(1));
  CHECK(rig.adapter->stats().malformed == 3);
  CHECK(rig.log.count(LogLevel::kWarn, "malformed jobs message") == 3);
  // Topics of another thing do not reach the adapter at all.
  rig.mqtt.inject_message("$aws/things/device-2/jobs/notify-next",
                          R"({"timestamp":1,"execution":{"jobId":"x","status":"QUEUED","jobDocument":{"operation":"blink"}}})");
  rig.run(seconds(1));
  CHECK(rig.adapter->stats().notifications == 0);
  CHECK(rig.service.requests_on("start-next").size() == requests);
  CHECK(rig.runs.empty());
}

TEST_CASE("jobs adapter: an execution naming another thing is dropped") {
  Rig rig;
  rig.service.drop_start_next = 1;  // the test answers the first start-next itself
  rig.settings.request_timeout = seconds(3);
  rig.service.create("job-1", R"({"operation":"blink"})");
  rig.boot();
  rig.run(seconds(1));
  const auto requests = rig.service.requests_on("start-next");
  REQUIRE(requests.size() == 1);
  const std::string token = *string_at(requests[0], "clientToken");
  rig.mqtt.inject_message(kRoot + "/start-next/accepted",
                          R"({"timestamp":1,"clientToken":)" + quote(token) +
                              R"(,"execution":{"jobId":"job-1","thingName":"device-2","status":"IN_PROGRESS",)"
                              R"("versionNumber":2,"executionNumber":1,"jobDocument":{"operation":"blink"}}})");
  rig.run(seconds(1));
  CHECK(rig.runs.empty());
  CHECK(rig.log.count(LogLevel::kWarn, "names another thing") == 1);
}

TEST_CASE("jobs adapter: while a job runs, a reconnect asks for no other job") {
  Rig rig;
  rig.inbox_settings.max_running = 2;
  rig.boot_with_jobs({"job-1", "job-2"});
  rig.mqtt.drop_connection(Status(StatusCode::kUnavailable, Origin::kSocket));
  rig.run(seconds(10));
  REQUIRE(rig.agent->connected());
  CHECK(rig.adapter->ready());
  CHECK(rig.service.requests_on("start-next").size() == 1);
  CHECK(rig.service.requests_on("$next/get").empty());
  CHECK(rig.runs.size() == 1);
  REQUIRE(rig.inbox->succeed(rig.executions[0]).ok());
  rig.run(seconds(1));
  CHECK(rig.runs == std::vector<std::string>{"job-1:blink", "job-2:blink"});
}

TEST_CASE("jobs adapter: a job handed out while another protocol holds the slot waits for it") {
  Rig rig;
  rig.service.drop_start_next = 1;  // the test answers the first start-next itself
  rig.settings.request_timeout = seconds(30);
  rig.service.create("job-1", R"({"operation":"blink"})");
  OtherAdapter other;
  rig.extra = &other;
  rig.boot();
  rig.run(seconds(1));
  const auto requests = rig.service.requests_on("start-next");
  REQUIRE(requests.size() == 1);
  REQUIRE(other.deliver("cmd-1") == Delivery::kStarted);  // the slot is taken before the answer
  rig.mqtt.inject_message(kRoot + "/start-next/accepted",
                          R"({"timestamp":1,"clientToken":)" + quote(*string_at(requests[0], "clientToken")) +
                              R"(,"execution":{"jobId":"job-1","thingName":"device-1","status":"IN_PROGRESS",)"
                              R"("versionNumber":2,"executionNumber":1,"jobDocument":{"operation":"blink"}}})");
  rig.run(seconds(1));
  CHECK(rig.runs == std::vector<std::string>{"cmd-1:blink"});
  CHECK(rig.adapter->stats().deferred == 1);
  CHECK_FALSE(rig.inbox->status_of(Source::kJobs, "job-1").ok());  // not refused BUSY either
  REQUIRE(rig.inbox->succeed(rig.executions[0]).ok());
  rig.run(seconds(1));
  CHECK(rig.runs == std::vector<std::string>{"cmd-1:blink", "job-1:blink"});
  CHECK(rig.service.status_of("job-1") == "IN_PROGRESS");
}

TEST_CASE("jobs adapter: an update answer with another clientToken is not taken for ours") {
  Rig rig;
  rig.settings.request_timeout = seconds(30);
  rig.service.create("job-1", R"({"operation":"blink"})");
  rig.service.drop_update_answers = 1;  // the answer to IN_PROGRESS is lost
  rig.boot();
  rig.run(seconds(1));
  REQUIRE(rig.runs.size() == 1);
  rig.mqtt.inject_message(kRoot + "/job-1/update/rejected",
                          R"({"code":"TerminalStateReached","message":"x","timestamp":1,"clientToken":"not-ours"})");
  rig.run(seconds(1));
  CHECK(rig.adapter->stats().foreign_answers == 1);
  CHECK(rig.adapter->stats().updates_final == 0);
  CHECK(rig.inbox->stats().statuses_final == 0);
}

TEST_CASE("jobs adapter: QUEUED is never sent, nor a status for an id that is not a job ID") {
  Rig rig;
  rig.boot();
  rig.run(seconds(1));
  rig.mqtt.clear_published();
  StatusReport report;
  report.status = ExecStatus::kQueued;
  CHECK(rig.adapter->send_status("job-1", report).code() == StatusCode::kInvalidArgument);
  report.status = ExecStatus::kSucceeded;
  CHECK(rig.adapter->send_status("job 1", report).code() == StatusCode::kInvalidArgument);
  CHECK(rig.mqtt.published().empty());
}

TEST_CASE("jobs adapter: settings are validated when the inbox starts") {
  testing::SimulatedClock clock;
  testing::FakeMqttClient mqtt{&clock};
  AgentConfig config;
  REQUIRE(config.thing_name.assign("device-1").ok());
  Agent agent(mqtt, clock, config);
  JobsAdapterSettings settings;
  SECTION("empty operation key") { settings.operation_key = ""; }
  SECTION("step timeout beyond a week") { settings.step_timeout_minutes = 10081; }
  SECTION("no request timeout") { settings.request_timeout = milliseconds(0); }
  JobsAdapter adapter(settings);
  Inbox inbox(agent, nullptr);
  REQUIRE(inbox.add_adapter(adapter).ok());
  ErrorText why;
  CHECK_FALSE(inbox.start(&why).ok());
  CHECK_FALSE(why.empty());
}
