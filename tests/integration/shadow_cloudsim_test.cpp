// Copyright 2026 The Tether Authors. SPDX-License-Identifier: Apache-2.0
// shadow::Shadow end to end: an in-process device (Agent over the Paho port, a PosixKvStore in a
// temporary directory, one or two shadows) against tools/cloudsim on the TLS test broker. The
// operator acts through cloudsim's HTTP API; every check parses the documents (never substrings).

#include <catch2/catch.hpp>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <filesystem>
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
#include "json_checks.hpp"
#include "process_util.hpp"
#include "test_support.hpp"
#include "tether/agent.hpp"
#include "tether/crc32c.hpp"
#include "tether/json.hpp"
#include "tether/port/paho/paho_mqtt_client.hpp"
#include "tether/port/posix/posix_clock.hpp"
#include "tether/port/posix/posix_kv_store.hpp"
#include "tether/port/testing/capturing_log_sink.hpp"
#include "tether/shadow/document.hpp"
#include "tether/shadow/shadow.hpp"

using namespace tether;
using std::chrono::milliseconds;
using test::Cloudsim;
using test::TestBroker;
using test::int_at;
using test::json_text;
using test::value_at_is;

namespace {

constexpr std::string_view kThing = "device-1";
constexpr milliseconds kSyncTimeout{30000};

// ---- JSON checks: parsed, compared with shadow::equal ---------------------------------------------

// cloudsim's copy has caught up with desired: there is a desired section and no delta.
bool no_delta(std::string_view cloud_doc) {
  return value_at_is(cloud_doc, "state.delta", "") && !value_at_is(cloud_doc, "state.desired", "");
}

// ---- the device --------------------------------------------------------------------------------

// The agent's side of device-1 (the broker's address and TLS material go to the MQTT client).
AgentConfig device_config(TopicProfile profile) {
  AgentConfig config;
  REQUIRE(config.thing_name.assign(kThing).ok());
  REQUIRE(config.client_id.assign(kThing).ok());
  config.profile = profile;
  config.reconnect.initial = milliseconds(200);
  config.reconnect.max = milliseconds(2000);
  config.mqtt.connect_timeout = milliseconds(5000);
  config.log_level = LogLevel::kDebug;  // the shadow's clientTokens and retries, for failure messages
  return config;
}

// Settings for a test: replica written after every change, requests retried quickly.
shadow::ShadowSettings test_settings(std::string_view name = {}) {
  shadow::ShadowSettings settings;
  settings.name = name;
  settings.persist_interval = milliseconds(0);
  settings.request_timeout = milliseconds(3000);
  settings.retry = BackoffSettings{milliseconds(200), milliseconds(2000), milliseconds(5000), milliseconds(10000)};
  return settings;
}

// One handler call: the value as JSON text.
struct Call {
  std::string path;
  std::string value;
  std::int64_t version = 0;
};

// A shadow of the device with every handler call and event recorded. `decide` (accept when empty)
// makes the decisions.
class ShadowProbe {
 public:
  ShadowProbe(Agent& agent, port::KvStore& store, const shadow::ShadowSettings& settings,
              const std::vector<std::string>& paths)
      : shadow_(std::make_unique<shadow::Shadow>(agent, &store, settings, std::random_device{}())) {
    for (const std::string& path : paths) {
      ErrorText why;
      const Status registered =
          shadow_->on_desired(path, [this](const shadow::DesiredChange& c) { return on_change(c); }, &why);
      INFO("on_desired " << path << ": " << registered << " " << why.c_str());
      REQUIRE(registered.ok());
    }
    shadow_->set_event_handler([this](const shadow::ShadowEvent& e) {
      events.push_back(std::string(shadow::to_string(e.type)) + (e.message.empty() ? "" : ": ") +
                       std::string(e.message));
    });
    ErrorText why;
    const Status started = shadow_->start(&why);
    INFO("shadow start: " << started << " " << why.c_str());
    REQUIRE(started.ok());
  }

  shadow::Shadow* operator->() { return shadow_.get(); }

  // Events recorded whose text ("<type>[: <message>]") starts with `prefix`.
  std::size_t count_events(std::string_view prefix) const {
    const auto starts_with_prefix = [prefix](const std::string& e) { return e.rfind(prefix, 0) == 0; };
    return static_cast<std::size_t>(std::count_if(events.begin(), events.end(), starts_with_prefix));
  }

  std::string describe() const {
    const shadow::ShadowStats& s = shadow_->stats();
    std::ostringstream out;
    out << "shadow " << shadow_->topics().prefix() << ": synced=" << shadow_->synced()
        << " version=" << shadow_->version() << "\n  stats: gets=" << s.gets << " syncs=" << s.syncs
        << " updates=" << s.updates << " accepted=" << s.updates_accepted << " rejected=" << s.updates_rejected
        << " conflicts=" << s.conflicts << " throttled=" << s.throttled << " timeouts=" << s.timeouts
        << " deltas=" << s.deltas << " stale_deltas=" << s.stale_deltas << " foreign=" << s.foreign_answers
        << " malformed=" << s.malformed << " handler_calls=" << s.handler_calls
        << " rejected_values=" << s.rejected_values << " persists=" << s.persists
        << " persist_failures=" << s.persist_failures << "\n  desired: " << shadow_->desired()
        << "\n  reported: " << shadow_->reported() << "\n  unsent: " << shadow_->unsent() << "\n  calls:";
    for (const Call& c : calls) out << " " << c.path << "=" << c.value << "@" << c.version;
    out << "\n  events:";
    for (const std::string& e : events) out << " [" << e << "]";
    return out.str();
  }

  std::vector<Call> calls;
  std::vector<std::string> events;
  std::function<shadow::DesiredResult(const shadow::DesiredChange&)> decide;

 private:
  shadow::DesiredResult on_change(const shadow::DesiredChange& change) {
    calls.push_back({std::string(change.path), json_text(change.value), change.version});
    return decide ? decide(change) : shadow::DesiredResult::accept();
  }

  std::unique_ptr<shadow::Shadow> shadow_;  // ~60 KB: never on the stack
};

// device-1 in this process: the real Paho port, its replica store in `store_dir` (kept by the
// caller, so a new Device over the same directory is a reboot). Not started: start() connects.
class Device {
 public:
  Device(const TestBroker& broker, const std::string& store_dir, TopicProfile profile = TopicProfile::kAws)
      : config_(device_config(profile)),
        mqtt_(broker.client_settings(kThing), &log_),
        store_(port::PosixKvStoreSettings{store_dir, 65536}),
        agent_(mqtt_, clock_, config_, &log_, std::random_device{}()) {
    const Status opened = store_.open();
    INFO("PosixKvStore open " << store_dir << ": " << opened << " " << store_.last_error());
    REQUIRE(opened.ok());
  }

  // A shadow (classic when settings.name is empty) with a recording handler for each of `paths`.
  ShadowProbe& add_shadow(const shadow::ShadowSettings& settings, const std::vector<std::string>& paths) {
    shadows_.push_back(std::make_unique<ShadowProbe>(agent_, store_, settings, paths));
    return *shadows_.back();
  }

  void start() {
    const Status started = agent_.start();
    INFO("agent start: " << started);
    REQUIRE(started.ok());
  }

  // Runs the agent for `duration`.
  void run_for(milliseconds duration) { test::run_agent_for(agent_, duration); }

  bool run_until(const std::function<bool()>& done, milliseconds timeout) {
    return test::run_agent_until(agent_, done, timeout);
  }

  bool connected() const { return agent_.connected(); }
  bool has_key(std::string_view key) { return store_.size(key).ok(); }
  // The names of the files in the store's directory (for failure messages).
  std::string store_files() const {
    std::string out;
    for (const auto& entry : std::filesystem::directory_iterator(store_.settings().directory)) {
      out += entry.path().filename().string() + " ";
    }
    return out;
  }

  std::string describe() const {
    std::ostringstream out;
    out << "agent: " << to_string(agent_.state()) << ", connects=" << agent_.stats().connects
        << " disconnects=" << agent_.stats().disconnects << "\n";
    for (const auto& probe : shadows_) out << probe->describe() << "\n";
    test::write_log_tail(out, log_);
    return out.str();
  }

 private:
  port::PosixClock clock_;
  testing::CapturingLogSink log_;
  AgentConfig config_;
  port::PahoMqttClient mqtt_;
  port::PosixKvStore store_;
  Agent agent_;
  std::vector<std::unique_ptr<ShadowProbe>> shadows_;  // destroyed before the agent
};

// The shadow has nothing left to tell the service: synced, no report unsent or in flight.
bool settled(ShadowProbe& probe) { return probe->synced() && probe->unsent() == "{}"; }

// What every test runs on: the broker, cloudsim, a directory for the device's store and device-1
// (not started). Destroying the device and booting a new one over the same store is a reboot.
class Rig {
 public:
  explicit Rig(TopicProfile profile = TopicProfile::kAws) : profile_(profile) { boot(); }

  Device& device() { return *device_; }
  void power_off() { device_.reset(); }
  void boot() { device_ = std::make_unique<Device>(broker, dir / "kv", profile_); }

  // Runs the device until `done()`; on timeout fails the test with what was awaited, the device's
  // shadows (stats, documents, calls, events), its log, cloudsim's copies of `shadow_names` and
  // cloudsim's log. Conditions are on the device: cloudsim is asked after the wait (which also
  // keeps its log free of polling requests).
  void require_eventually(std::string_view what, const std::function<bool()>& done,
                          const std::vector<std::string_view>& shadow_names = {""}) {
    if (device_->run_until(done, kSyncTimeout)) return;
    std::ostringstream cloud;
    for (std::string_view name : shadow_names) {
      cloud << "cloudsim shadow \"" << name << "\": "
            << (sim.running() ? sim.get_shadow(kThing, name).body : std::string("(cloudsim not running)")) << "\n";
    }
    FAIL("timed out after " << kSyncTimeout.count() << " ms waiting for: " << what << "\n"
                            << device_->describe() << cloud.str() << "cloudsim log:\n"
                            << sim.log_tail());
  }

  // Waits until `probe` has made at least `calls` decisions and has nothing left to report.
  void await_settled(ShadowProbe& probe, std::string_view what, std::size_t calls = 0) {
    require_eventually(what, [&] { return probe.calls.size() >= calls && settled(probe); });
  }

  // The cloud's copy of a shadow (get_shadow's body; "" unless 200).
  std::string cloud_doc(std::string_view name = {}) {
    const test::HttpResponse got = sim.get_shadow(kThing, name);
    return got.status == 200 ? got.body : std::string();
  }

  // The operator sets desired state; returns the shadow version it created.
  std::int64_t set_desired(std::string_view desired, std::string_view name = {}) {
    const test::HttpResponse set = sim.set_desired(kThing, desired, name);
    INFO("set_desired " << desired << ": " << set.body);
    REQUIRE(set.status == 200);
    const std::optional<std::int64_t> version = int_at(set.body, "version");
    REQUIRE(version.has_value());
    return *version;
  }

  TestBroker broker;
  Cloudsim sim{broker};
  test::TempDir dir{"tether-shadow"};

 private:
  TopicProfile profile_;
  std::unique_ptr<Device> device_;
};

// The device's replica matches cloudsim's copy: same desired, same reported, same version.
void check_replica_matches_cloud(ShadowProbe& probe, const std::string& cloud_doc) {
  INFO("cloudsim: " << cloud_doc << "\n" << probe.describe());
  // The service stores no empty section: the replica's `{}` is an absent one there.
  const std::pair<const char*, std::string_view> sections[] = {{"state.desired", probe->desired()},
                                                               {"state.reported", probe->reported()}};
  for (const auto& [section, local] : sections) {
    INFO(section);
    CHECK(value_at_is(cloud_doc, section, local == "{}" ? std::string_view() : local));
  }
  CHECK(int_at(cloud_doc, "version") == probe->version());
}

// Tests 1 and 7: desired set while the device is offline reaches the handlers once after the
// connect, and cloudsim then shows reported == desired and no delta.
void offline_desired_is_applied_after_connect(TopicProfile profile, std::string_view expected_prefix) {
  Rig rig(profile);
  ShadowProbe& probe = rig.device().add_shadow(test_settings(), {"led", "cfg.interval_s"});
  CHECK(probe->topics().prefix() == expected_prefix);

  constexpr std::string_view kDesired = R"({"led": true, "cfg": {"interval_s": 30}})";
  rig.set_desired(kDesired);
  rig.device().run_for(milliseconds(500));  // not started: nothing reaches the device
  CHECK(probe.calls.empty());

  rig.device().start();
  rig.await_settled(probe, "both handlers called and the values reported", 2);
  rig.device().run_for(milliseconds(500));  // a second call would come now
  INFO(probe.describe());
  REQUIRE(probe.calls.size() == 2);
  for (const Call& call : probe.calls) {
    if (call.path == "led") {
      CHECK(value_at_is(call.value, "", "true"));
    } else {
      CHECK(call.path == "cfg.interval_s");
      CHECK(value_at_is(call.value, "", "30"));
    }
  }
  CHECK(probe.calls[0].path != probe.calls[1].path);
  const std::string doc = rig.cloud_doc();
  INFO("cloudsim: " << doc);
  CHECK(value_at_is(doc, "state.desired", kDesired));
  CHECK(value_at_is(doc, "state.reported", kDesired));
  CHECK(value_at_is(doc, "state.delta", ""));
  check_replica_matches_cloud(probe, doc);
  CHECK(probe->stats().syncs == 1);
}

}  // namespace

TEST_CASE("shadow cloudsim: desired set while the device is offline is applied once after the connect",
          "[shadow][cloudsim][integration]") {
  offline_desired_is_applied_after_connect(TopicProfile::kAws, "$aws/things/device-1/shadow");
}

TEST_CASE("shadow cloudsim: a device restart keeps the replica and does not decide a value again",
          "[shadow][cloudsim][integration]") {
  Rig rig;
  const std::vector<std::string> paths = {"led", "cfg.interval_s"};
  std::string reported_before;
  std::string desired_before;
  std::int64_t version_before = -1;
  {
    ShadowProbe& probe = rig.device().add_shadow(test_settings(), paths);
    rig.device().start();
    rig.require_eventually("the first sync", [&] { return probe->synced(); });
    REQUIRE(probe->report_int("temp", 21).ok());
    rig.set_desired(R"({"led": "green"})");
    rig.await_settled(probe, "led handled, led and temp reported", 1);
    rig.device().run_for(milliseconds(300));  // the last answer is persisted (persist_interval 0)
    const std::string doc = rig.cloud_doc();
    INFO("before the restart: cloudsim: " << doc << "\n" << probe.describe());
    REQUIRE(probe.calls.size() == 1);
    REQUIRE(value_at_is(doc, "state.reported", R"({"led": "green", "temp": 21})"));
    check_replica_matches_cloud(probe, doc);
    reported_before = std::string(probe->reported());
    desired_before = std::string(probe->desired());
    version_before = probe->version();
  }
  rig.power_off();  // shadow, agent, MQTT client and store destroyed
  // While the device is off, the operator changes another value.
  rig.set_desired(R"({"cfg": {"interval_s": 60}})");
  rig.boot();

  ShadowProbe& probe = rig.device().add_shadow(test_settings(), paths);
  // Before any connect, the replica comes from the store.
  CHECK(probe->version() == version_before);
  CHECK(value_at_is(probe->reported(), "", reported_before));
  CHECK(value_at_is(probe->desired(), "", desired_before));
  CHECK(value_at_is(probe->desired(), "", R"({"led": "green"})"));
  // A local change while the device is still offline.
  REQUIRE(probe->report_int("temp", 22).ok());
  rig.device().start();
  rig.await_settled(probe, "the sync, the new value handled, the offline report sent", 1);
  rig.device().run_for(milliseconds(500));
  INFO("after the restart: " << probe.describe());
  // led "green" was accepted before the restart: only the value changed while off is decided.
  REQUIRE(probe.calls.size() == 1);
  CHECK(probe.calls[0].path == "cfg.interval_s");
  CHECK(value_at_is(probe.calls[0].value, "", "60"));
  CHECK(probe->stats().syncs == 1);
  const std::string doc = rig.cloud_doc();
  CHECK(value_at_is(doc, "state.reported", R"({"led": "green", "temp": 22, "cfg": {"interval_s": 60}})"));
  CHECK(no_delta(doc));
  check_replica_matches_cloud(probe, doc);
}

TEST_CASE("shadow cloudsim: desired values set in quick succession converge on the last one",
          "[shadow][cloudsim][integration]") {
  Rig rig;
  ShadowProbe& probe = rig.device().add_shadow(test_settings(), {"led"});
  rig.set_desired(R"({"led": 0})");
  rig.device().start();
  rig.await_settled(probe, "led 0 handled", 1);

  constexpr int kLast = 20;
  const std::string last = std::to_string(kLast);
  // The first half back to back (the deltas queue up at the device); in the second half the device
  // runs a little between two values, so its reports and the operator's updates interleave.
  for (int i = 1; i <= kLast; ++i) {
    rig.set_desired("{\"led\": " + std::to_string(i) + "}");
    if (i > kLast / 2) rig.device().run_for(milliseconds(5 * (i % 4)));
  }
  rig.require_eventually("the last desired value handled and reported", [&] {
    return !probe.calls.empty() && value_at_is(probe.calls.back().value, "", last) && settled(probe);
  });
  rig.device().run_for(milliseconds(1000));  // late deltas, if any, arrive now
  INFO(probe.describe());
  for (std::size_t i = 1; i < probe.calls.size(); ++i) {
    INFO("call " << i);
    CHECK(probe.calls[i].version >= probe.calls[i - 1].version);
    CHECK(int_at(probe.calls[i].value, "").value_or(-1) > int_at(probe.calls[i - 1].value, "").value_or(-1));
  }
  CHECK(value_at_is(probe.calls.back().value, "", last));
  CHECK(settled(probe));
  const std::string doc = rig.cloud_doc();
  INFO("cloudsim: " << doc);
  CHECK(value_at_is(doc, "state.reported.led", last));
  CHECK(no_delta(doc));
  check_replica_matches_cloud(probe, doc);
  CHECK(probe->stats().malformed == 0);
}

TEST_CASE("shadow cloudsim: a rejected desired value is reported with its reason and not applied",
          "[shadow][cloudsim][integration]") {
  Rig rig;
  ShadowProbe& probe = rig.device().add_shadow(test_settings(), {"led"});
  constexpr std::string_view kReason = "no purple LED on this board";
  probe.decide = [kReason](const shadow::DesiredChange& change) {
    return change.value.as_string().value_or("") == "purple" ? shadow::DesiredResult::reject(kReason)
                                                               : shadow::DesiredResult::accept();
  };
  rig.set_desired(R"({"led": "red"})");
  rig.device().start();
  rig.await_settled(probe, "led red handled", 1);

  const std::int64_t purple_version = rig.set_desired(R"({"led": "purple"})");
  rig.await_settled(probe, "led purple rejected and the rejection reported", 2);
  rig.device().run_for(milliseconds(500));
  const std::string doc = rig.cloud_doc();
  INFO("cloudsim: " << doc << "\n" << probe.describe());
  REQUIRE(probe.calls.size() == 2);
  CHECK(value_at_is(probe.calls[1].value, "", "\"purple\""));
  CHECK(probe->stats().rejected_values == 1);
  CHECK(value_at_is(doc, "state.reported.led", "\"red\""));
  CHECK(value_at_is(doc, "state.reported.tether.rejected.led.reason", "\"" + std::string(kReason) + "\""));
  CHECK(int_at(doc, "state.reported.tether.rejected.led.version") == purple_version);
  CHECK(value_at_is(doc, "state.desired.led", "\"purple\""));
  CHECK(value_at_is(doc, "state.delta.led", "\"purple\""));  // not applied: the delta stays
  check_replica_matches_cloud(probe, doc);

  // A value the device accepts clears the rejection (its status object disappears).
  rig.set_desired(R"({"led": "blue"})");
  rig.await_settled(probe, "led blue handled", 3);
  const std::string after = rig.cloud_doc();
  INFO("cloudsim after blue: " << after);
  CHECK(value_at_is(after, "state.reported", R"({"led": "blue"})"));
  CHECK(no_delta(after));
  check_replica_matches_cloud(probe, after);
}

TEST_CASE(
    "shadow cloudsim: after cloudsim and broker restarts the device resyncs and sends its offline reports coalesced",
    "[shadow][cloudsim][integration]") {
  Rig rig;
  Device& device = rig.device();
  ShadowProbe& probe = device.add_shadow(test_settings(), {"led"});
  REQUIRE(probe->report_string("fw", "1.0").ok());
  device.start();
  rig.await_settled(probe, "the shadow created from the local report");
  CHECK(value_at_is(rig.cloud_doc(), "state.reported", R"({"fw": "1.0"})"));

  // cloudsim goes away while the device stays connected: the update gets no answer and is sent
  // again once cloudsim is back.
  rig.sim.stop();
  constexpr std::string_view kNote = "\"sent while cloudsim was down\"";
  REQUIRE(probe->report_json("note", kNote).ok());  // sent at once: in flight, unanswered
  REQUIRE(probe->stats().updates == 2);
  REQUIRE(probe->report_int("uptime", 1).ok());  // waits for the update in flight
  // Both are "not yet acknowledged by the service" (shadow.hpp, unsent()).
  INFO("unsent(): " << probe->unsent());
  CHECK(value_at_is(probe->unsent(), "", "{\"note\": " + std::string(kNote) + ", \"uptime\": 1}"));
  rig.require_eventually("an update timeout", [&] { return probe->stats().timeouts >= 1; });
  CHECK(device.connected());
  rig.sim.restart();
  rig.await_settled(probe, "the reports made while cloudsim was down");
  CHECK(value_at_is(rig.cloud_doc(), "state.reported",
                    "{\"fw\": \"1.0\", \"note\": " + std::string(kNote) + ", \"uptime\": 1}"));

  // The broker goes away: reports made offline are coalesced and sent after the resync.
  rig.broker.stop();
  rig.require_eventually("the disconnect", [&] { return !device.connected(); });
  const shadow::ShadowStats before = probe->stats();
  const std::size_t timeouts_before = probe.count_events("request timed out: update");
  for (int i = 0; i < 50; ++i) REQUIRE(probe->report_int("counter", i).ok());
  CHECK(value_at_is(probe->unsent(), "", R"({"counter": 49})"));
  rig.broker.restart();
  rig.require_eventually("the resync and the offline reports sent",
                         [&] { return probe->stats().syncs > before.syncs && settled(probe); });
  INFO(probe.describe());
  const std::string doc = rig.cloud_doc();
  INFO("cloudsim: " << doc);
  CHECK(value_at_is(doc, "state.reported.counter", "49"));
  // One update for the 50 reports (plus one more for each update that timed out meanwhile).
  const std::size_t update_timeouts = probe.count_events("request timed out: update") - timeouts_before;
  CHECK(probe->stats().updates - before.updates <= 1 + update_timeouts);
  check_replica_matches_cloud(probe, doc);
}

TEST_CASE("shadow cloudsim: a named shadow and the classic shadow of one thing stay separate",
          "[shadow][cloudsim][integration]") {
  Rig rig;
  // Upper case is a valid shadow name but not a valid KvStore key: the replica's key is derived.
  constexpr std::string_view kName = "Config_1";
  ShadowProbe& classic = rig.device().add_shadow(test_settings(), {"led"});
  ShadowProbe& named = rig.device().add_shadow(test_settings(kName), {"led"});
  CHECK(named->topics().prefix() == "$aws/things/device-1/shadow/name/Config_1");
  rig.set_desired(R"({"led": true})");
  rig.set_desired(R"({"led": "blue"})", kName);
  REQUIRE(named->report_int("only_named", 7).ok());
  REQUIRE(classic->report_int("only_classic", 8).ok());
  rig.device().start();
  rig.require_eventually(
      "both shadows handled their led and reported",
      [&] { return classic.calls.size() == 1 && named.calls.size() == 1 && settled(classic) && settled(named); },
      {"", kName});
  rig.device().run_for(milliseconds(500));
  const std::string classic_doc = rig.cloud_doc();
  const std::string named_doc = rig.cloud_doc(kName);
  INFO("cloudsim classic: " << classic_doc << "\ncloudsim named: " << named_doc);
  CHECK(value_at_is(classic_doc, "state.reported", R"({"led": true, "only_classic": 8})"));
  CHECK(value_at_is(named_doc, "state.reported", R"({"led": "blue", "only_named": 7})"));
  CHECK(no_delta(classic_doc));
  CHECK(no_delta(named_doc));
  check_replica_matches_cloud(classic, classic_doc);
  check_replica_matches_cloud(named, named_doc);
  REQUIRE(classic.calls.size() == 1);
  CHECK(value_at_is(classic.calls[0].value, "", "true"));
  REQUIRE(named.calls.size() == 1);
  CHECK(value_at_is(named.calls[0].value, "", "\"blue\""));

  // One replica each in the same store: "shadow", and "shadow.<crc32c of the name>" (shadow.hpp,
  // ShadowSettings::store_key) for a name that is not a valid key.
  CHECK(rig.device().has_key("shadow"));
  char derived[32];
  std::snprintf(derived, sizeof derived, "shadow.%08lx",
                static_cast<unsigned long>(crc32c(Span<const std::uint8_t>(
                    reinterpret_cast<const std::uint8_t*>(kName.data()), kName.size()))));
  INFO("expected key " << derived << ", files in the store: " << rig.device().store_files());
  CHECK(rig.device().has_key(derived));
}

TEST_CASE("shadow cloudsim: the neutral profile syncs through the state topics", "[shadow][cloudsim][integration]") {
  // The broker's ACL grants each device state/<CN>/# (scripts/test-broker.sh): a refused
  // subscription would keep the shadow from ever syncing.
  offline_desired_is_applied_after_connect(TopicProfile::kNeutral, "state/device-1");
}
