// Copyright 2026 The Tether Authors. SPDX-License-Identifier: Apache-2.0
// The command inbox over the fakes, with a scripted adapter: deliveries, the journal, redelivery,
// completions, deadlines, heartbeats, retries and restarts at every step of a command's life.
#include <catch2/catch.hpp>

#include <memory>
#include <string>
#include <vector>

#include "commands_test_support.hpp"
#include "test_support.hpp"
#include "tether/agent.hpp"
#include "tether/commands/inbox.hpp"
#include "tether/port/testing/capturing_log_sink.hpp"
#include "tether/port/testing/fake_mqtt_client.hpp"
#include "tether/port/testing/memory_kv_store.hpp"
#include "tether/port/testing/simulated_clock.hpp"

using namespace tether;
using namespace tether::commands;
using namespace tether::test;
using std::chrono::milliseconds;
using std::chrono::seconds;

namespace {

class Rig {
 public:
  testing::SimulatedClock clock;
  testing::FakeMqttClient mqtt{&clock};
  testing::CapturingLogSink log;
  testing::MemoryKvStore store;
  AgentConfig config;
  InboxSettings settings;
  std::unique_ptr<Agent> agent;
  std::unique_ptr<Inbox> inbox;
  std::unique_ptr<ScriptedAdapter> adapter;
  std::vector<std::string> runs;  // "<id>:<operation>[:resumed]"
  std::vector<Execution> executions;
  bool resumable = false;

  Rig() { REQUIRE(config.thing_name.assign("device-1").ok()); }

  void boot(Source source = Source::kCommands, bool pulls = false) {
    if (agent) {
      mqtt.drop_connection(Status(StatusCode::kUnavailable, Origin::kSocket));
      agent->run_once(milliseconds(0)).ignore();
    }
    inbox.reset();
    adapter = std::make_unique<ScriptedAdapter>(source, pulls);
    agent = std::make_unique<Agent>(mqtt, clock, config, &log, 3);
    inbox = std::make_unique<Inbox>(*agent, &store, settings);
    executions.clear();
    REQUIRE(inbox->add_adapter(*adapter).ok());
    const auto handler = [this](const CommandContext& c) {
      runs.push_back(std::string(c.id) + ":" + std::string(c.operation) + (c.resumed ? ":resumed" : ""));
      executions.push_back(c.execution);
    };
    REQUIRE(inbox->on_command("reboot", handler, resumable).ok());
    REQUIRE(inbox->on_command("blink", handler, resumable).ok());
    REQUIRE(inbox->start().ok());
    REQUIRE(agent->start().ok());
    run(milliseconds(100));
  }
  void run(milliseconds d) {
    const milliseconds end = clock.now() + d;
    while (clock.now() < end) agent->run_once(milliseconds(50)).ignore();
  }
};

}  // namespace

TEST_CASE("inbox: a command is journaled before its handler runs and its result is sent") {
  Rig rig;
  rig.boot();
  const auto puts = rig.store.put_count();
  CHECK(rig.adapter->deliver("c-1", "blink") == Delivery::kStarted);
  CHECK(rig.store.put_count() == puts + 1);  // written before the handler saw it
  REQUIRE(rig.runs == std::vector<std::string>{"c-1:blink"});
  REQUIRE(rig.inbox->progress(rig.executions[0], R"({"step":"1/2"})").ok());
  REQUIRE(rig.inbox->succeed(rig.executions[0], R"({"blinks":3})").ok());
  REQUIRE(rig.adapter->sent.size() == 3);
  CHECK(rig.adapter->sent[0].status == ExecStatus::kInProgress);
  CHECK(rig.adapter->sent[1].details == R"({"step":"1/2"})");
  CHECK(rig.adapter->sent[2].status == ExecStatus::kSucceeded);
  CHECK(rig.adapter->sent[2].details == R"({"blinks":3})");
  CHECK(rig.inbox->status_of(Source::kCommands, "c-1").value_or(ExecStatus::kQueued) == ExecStatus::kSucceeded);
  CHECK(rig.adapter->slot_free_calls == 1);
  // The handle is stale now.
  CHECK(rig.inbox->succeed(rig.executions[0]).code() == StatusCode::kNotFound);
}

TEST_CASE("inbox: a redelivered command is never run twice, its recorded status is sent again") {
  Rig rig;
  rig.boot();
  REQUIRE(rig.adapter->deliver("c-1", "blink") == Delivery::kStarted);
  CHECK(rig.adapter->deliver("c-1", "blink") == Delivery::kDuplicate);  // while running
  CHECK(rig.adapter->sent.back().status == ExecStatus::kInProgress);
  REQUIRE(rig.inbox->fail(rig.executions[0], "LED_BROKEN", "no current").ok());
  CHECK(rig.adapter->deliver("c-1", "blink") == Delivery::kDuplicate);  // after it ended
  CHECK(rig.adapter->sent.back().status == ExecStatus::kFailed);
  CHECK(rig.adapter->sent.back().reason_code == "LED_BROKEN");
  rig.boot();  // and after a restart
  CHECK(rig.adapter->deliver("c-1", "blink") == Delivery::kDuplicate);
  CHECK(rig.runs.size() == 1);
  CHECK(rig.inbox->stats().duplicates == 1);
}

TEST_CASE("inbox: unknown operations, busy devices and expired commands are refused and journaled") {
  Rig rig;
  rig.boot();
  CHECK(rig.adapter->deliver("c-1", "format-disk") == Delivery::kRejected);
  CHECK(rig.adapter->sent.back().status == ExecStatus::kRejected);
  CHECK(rig.adapter->sent.back().reason_code == "UNKNOWN_OPERATION");
  REQUIRE(rig.adapter->deliver("c-2", "blink") == Delivery::kStarted);
  CHECK(rig.adapter->deliver("c-3", "blink") == Delivery::kRejected);  // max_running 1
  CHECK(rig.adapter->sent.back().reason_code == "BUSY");
  CHECK(rig.adapter->deliver("c-4", "blink", rig.clock.now() - milliseconds(1)) == Delivery::kExpired);
  CHECK(rig.adapter->sent.back().status == ExecStatus::kTimedOut);
  // The same answer for a redelivery, without running anything.
  CHECK(rig.adapter->deliver("c-1", "format-disk") == Delivery::kDuplicate);
  CHECK(rig.adapter->sent.back().reason_code == "UNKNOWN_OPERATION");
  CHECK(rig.runs.size() == 1);
}

TEST_CASE("inbox: a command past its deadline is reported TIMED_OUT and its handle goes stale") {
  Rig rig;
  rig.boot();
  REQUIRE(rig.adapter->deliver("c-1", "blink", rig.clock.now() + seconds(5)) == Delivery::kStarted);
  rig.run(seconds(6));
  CHECK(rig.adapter->statuses_of("c-1").back() == ExecStatus::kTimedOut);
  CHECK(rig.inbox->succeed(rig.executions[0]).code() == StatusCode::kDeadlineExceeded);
  CHECK(rig.inbox->free_slots() == 1);
}

TEST_CASE("inbox: long commands send IN_PROGRESS heartbeats") {
  Rig rig;
  rig.settings.heartbeat = seconds(10);
  rig.boot();
  REQUIRE(rig.adapter->deliver("c-1", "blink") == Delivery::kStarted);
  rig.adapter->answer("c-1", StatusAnswer::kAccepted);
  rig.run(seconds(35));
  const auto statuses = rig.adapter->statuses_of("c-1");
  CHECK(statuses.size() == 4);  // at 0, 10, 20, 30 s
  for (ExecStatus s : statuses) CHECK(s == ExecStatus::kInProgress);
}

TEST_CASE("inbox: an unacknowledged status is sent again until the service answers, a final refusal stops it") {
  Rig rig;
  rig.settings.status_retry = seconds(5);
  rig.settings.heartbeat = milliseconds(0);
  rig.boot();
  REQUIRE(rig.adapter->deliver("c-1", "blink") == Delivery::kStarted);
  rig.adapter->answer("c-1", StatusAnswer::kAccepted);
  REQUIRE(rig.inbox->succeed(rig.executions[0]).ok());
  rig.run(seconds(12));
  CHECK(rig.adapter->statuses_of("c-1").size() == 4);  // IN_PROGRESS, SUCCEEDED, 2 retries
  rig.adapter->answer("c-1", StatusAnswer::kRetry);
  rig.run(seconds(6));
  CHECK(rig.adapter->statuses_of("c-1").size() == 5);
  for (int i = 0; i < 3; ++i) rig.adapter->answer("c-1", StatusAnswer::kFinal);
  rig.run(seconds(30));
  CHECK(rig.adapter->statuses_of("c-1").size() == 5);
  CHECK(rig.inbox->stats().statuses_final >= 1);
}

TEST_CASE("inbox: statuses made while offline are sent after the reconnect") {
  Rig rig;
  rig.boot();
  REQUIRE(rig.adapter->deliver("c-1", "blink") == Delivery::kStarted);
  rig.mqtt.drop_connection(Status(StatusCode::kUnavailable, Origin::kSocket));
  rig.run(milliseconds(10));
  REQUIRE(rig.inbox->succeed(rig.executions[0]).ok());
  CHECK(rig.adapter->statuses_of("c-1").size() == 1);
  rig.run(seconds(5));
  CHECK(rig.adapter->statuses_of("c-1").back() == ExecStatus::kSucceeded);
}

TEST_CASE("inbox: a reboot command reports SUCCEEDED after the device comes back") {
  Rig rig;
  rig.boot(Source::kJobs, true);
  REQUIRE(rig.adapter->deliver("job-1", "reboot") == Delivery::kStarted);
  REQUIRE(rig.inbox->succeed_after_restart(rig.executions[0]).ok());
  rig.boot(Source::kJobs, true);  // the device reboots
  CHECK(rig.adapter->statuses_of("job-1") == std::vector<ExecStatus>{ExecStatus::kSucceeded});
  CHECK(rig.adapter->deliver("job-1", "reboot") == Delivery::kDuplicate);  // Jobs hands it out again
  CHECK(rig.runs.size() == 1);
}

TEST_CASE("inbox: a command interrupted by a restart is reported FAILED or resumed") {
  SECTION("not resumable: FAILED INTERRUPTED") {
    Rig rig;
    rig.boot();
    REQUIRE(rig.adapter->deliver("c-1", "blink") == Delivery::kStarted);
    rig.boot();
    REQUIRE(!rig.adapter->sent.empty());
    CHECK(rig.adapter->sent.back().status == ExecStatus::kFailed);
    CHECK(rig.adapter->sent.back().reason_code == "INTERRUPTED");
    CHECK(rig.inbox->stats().interrupted == 1);
  }
  SECTION("resumable on a pulling adapter: run again when the service hands it out") {
    Rig rig;
    rig.resumable = true;
    rig.boot(Source::kJobs, true);
    REQUIRE(rig.adapter->deliver("job-1", "blink") == Delivery::kStarted);
    rig.boot(Source::kJobs, true);
    for (const Sent& s : rig.adapter->sent) CHECK(s.status == ExecStatus::kInProgress);  // not failed
    CHECK(rig.adapter->deliver("job-1", "blink") == Delivery::kStarted);
    CHECK(rig.runs.back() == "job-1:blink:resumed");
    REQUIRE(rig.inbox->succeed(rig.executions.back()).ok());
    CHECK(rig.adapter->sent.back().status == ExecStatus::kSucceeded);
  }
}

TEST_CASE("inbox: a power cut at every journal write never runs a command twice nor loses a finished one") {
  for (std::uint64_t cut = 0; cut < 6; ++cut) {
    for (std::uint32_t seed = 0; seed < 2; ++seed) {
      Rig rig;
      rig.boot();
      rig.store.arm_power_cut(cut, seed);
      Delivery first = rig.adapter->deliver("c-1", "blink");
      if (!rig.store.powered_off() && !rig.executions.empty()) rig.inbox->succeed(rig.executions[0]).ignore();
      rig.store.disarm_power_cut();
      rig.store.reboot();
      rig.boot();
      const std::size_t runs_before = rig.runs.size();
      const Delivery again = rig.adapter->deliver("c-1", "blink");
      INFO("cut after " << cut << " ops, seed " << seed << ": first " << to_string(first) << ", again "
                        << to_string(again));
      if (first == Delivery::kStarted && rig.inbox->status_of(Source::kCommands, "c-1").ok()) {
        // The journal kept it: never run a second time.
        CHECK(rig.runs.size() == runs_before);
        CHECK(again == Delivery::kDuplicate);
      }
      if (again == Delivery::kStarted) CHECK(rig.runs.size() == runs_before + 1);
    }
  }
}

TEST_CASE("inbox: a journal that cannot be written does not start the command") {
  Rig rig;
  rig.boot();
  rig.store.fail_next(testing::MemoryKvStore::Op::kPut, Status(StatusCode::kResourceExhausted, Origin::kStore, 28));
  CHECK(rig.adapter->deliver("c-1", "blink") == Delivery::kNotStored);
  CHECK(rig.runs.empty());
  CHECK(rig.adapter->sent.empty());
  CHECK(rig.adapter->deliver("c-1", "blink") == Delivery::kStarted);
}

TEST_CASE("inbox: a damaged journal is discarded loudly") {
  Rig rig;
  rig.boot();
  REQUIRE(rig.adapter->deliver("c-1", "blink") == Delivery::kStarted);
  REQUIRE(rig.store.corrupt("commands", 3, 0x40));
  rig.boot();
  CHECK(rig.log.count(LogLevel::kError, "unreadable") == 1);
}

TEST_CASE("inbox: completion arguments are validated") {
  Rig rig;
  rig.boot();
  REQUIRE(rig.adapter->deliver("c-1", "blink") == Delivery::kStarted);
  const Execution e = rig.executions[0];
  CHECK(rig.inbox->progress(e, "[1]").code() == StatusCode::kInvalidArgument);
  CHECK(rig.inbox->succeed(e, "{").code() == StatusCode::kInvalidArgument);
  CHECK(rig.inbox->fail(e, "lower case").code() == StatusCode::kInvalidArgument);
  CHECK(rig.inbox->succeed(e, std::string(600, ' ')).code() == StatusCode::kInvalidArgument);
  CHECK(rig.inbox->succeed(Execution()).code() == StatusCode::kNotFound);
  CHECK(rig.inbox->on_command("bad name", [](const CommandContext&) {}).code() == StatusCode::kInvalidArgument);
  CHECK(rig.inbox->on_command("blink", [](const CommandContext&) {}).code() == StatusCode::kAlreadyExists);
  // A handler's refusal counts as rejected, not failed.
  REQUIRE(rig.inbox->reject(e, "INVALID_DOCUMENT", "times must be 1..100").ok());
  CHECK(rig.inbox->stats().rejected == 1);
  CHECK(rig.inbox->stats().failed == 0);
  CHECK(rig.adapter->sent.back().status == ExecStatus::kRejected);
}

TEST_CASE("inbox: a running command the service ended for good stops its heartbeats and frees its slot") {
  Rig rig;
  rig.settings.heartbeat = seconds(10);
  rig.boot();
  REQUIRE(rig.adapter->deliver("c-1", "blink") == Delivery::kStarted);
  rig.adapter->answer("c-1", StatusAnswer::kFinal);  // e.g. the job timed out on the service
  CHECK(rig.inbox->free_slots() == 1);
  const std::size_t sent = rig.adapter->sent.size();
  rig.run(seconds(35));
  CHECK(rig.adapter->sent.size() == sent);
  CHECK(rig.inbox->succeed(rig.executions[0]).code() == StatusCode::kCancelled);
  CHECK(rig.adapter->deliver("c-2", "blink") == Delivery::kStarted);
}

TEST_CASE("inbox: an answer lost on the way does not make a status unacknowledgeable") {
  Rig rig;
  rig.settings.status_retry = seconds(5);
  rig.settings.heartbeat = milliseconds(0);
  rig.boot();
  REQUIRE(rig.adapter->deliver("c-1", "blink") == Delivery::kStarted);  // IN_PROGRESS: answer lost
  REQUIRE(rig.inbox->succeed(rig.executions[0]).ok());
  rig.adapter->answer("c-1", StatusAnswer::kAccepted);  // answers SUCCEEDED, but one answer is still "due"
  rig.run(seconds(6));                                   // the retry sends SUCCEEDED again
  rig.adapter->answer("c-1", StatusAnswer::kAccepted);
  const std::size_t sent = rig.adapter->sent.size();
  rig.run(seconds(30));
  CHECK(rig.adapter->sent.size() == sent);
}
