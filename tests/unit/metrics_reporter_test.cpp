// Copyright 2026 The Tether Authors. SPDX-License-Identifier: Apache-2.0
// metrics::Reporter over the fakes: schedule and floor, topics, report ids, deltas across skipped
// reports, answers, rules and their alerts (offline too), custom metrics.

#include <catch2/catch.hpp>

#include <algorithm>
#include <memory>
#include <string>
#include <vector>

#include "test_support.hpp"
#include "tether/agent.hpp"
#include "tether/json.hpp"
#include "tether/metrics/reporter.hpp"
#include "tether/offline/offline_queue.hpp"
#include "tether/offline/ram_log_store.hpp"
#include "tether/port/testing/capturing_log_sink.hpp"
#include "tether/port/testing/fake_metrics_source.hpp"
#include "tether/port/testing/fake_mqtt_client.hpp"
#include "tether/port/testing/simulated_clock.hpp"

using namespace tether;
using namespace tether::metrics;
using std::chrono::milliseconds;
using std::chrono::seconds;

namespace {

const std::string kTopic = "$aws/things/device-1/defender/metrics/json";

class Rig {
 public:
  testing::SimulatedClock clock;
  testing::FakeMqttClient mqtt{&clock};
  testing::CapturingLogSink log;
  testing::FakeMetricsSource source{&clock};
  AgentConfig config;
  std::unique_ptr<Agent> agent;
  std::unique_ptr<Reporter> reporter;  // ~50 KB: never on the stack
  ReporterSettings settings;
  std::vector<ReporterEventType> events;
  std::vector<std::string> messages;

  Rig() {
    REQUIRE(config.thing_name.assign("device-1").ok());
    clock.set_wall_time_ms(1'800'000'000'000);
    settings.format = ReportFormat::kJsonLong;
    settings.interval = seconds(300);
    settings.rules_interval = seconds(10);
    agent = std::make_unique<Agent>(mqtt, clock, config, &log, 7);
    reporter = std::make_unique<Reporter>(*agent, source, settings);
  }

  void start(bool connect = true) {
    reporter = std::make_unique<Reporter>(*agent, source, settings);
    reporter->set_event_handler([this](const ReporterEvent& e) {
      events.push_back(e.type);
      messages.emplace_back(e.message);
    });
    ErrorText why;
    const Status s = reporter->start(&why);
    INFO(why.c_str());
    REQUIRE(s.ok());
    if (connect) {
      REQUIRE(agent->start().ok());
      run(milliseconds(200));
    }
  }

  void run(milliseconds duration) {
    const milliseconds end = clock.now() + duration;
    while (clock.now() < end) agent->run_once(milliseconds(100)).ignore();
  }

  std::vector<std::string> sent(const std::string& topic) const {
    std::vector<std::string> out;
    for (const auto& m : mqtt.published()) {
      if (m.topic == topic) out.push_back(m.payload);
    }
    return out;
  }

  std::size_t count(ReporterEventType type) const {
    std::size_t n = 0;
    for (ReporterEventType t : events) n += t == type ? 1 : 0;
    return n;
  }

  void add_interface(const char* name, std::uint64_t bytes_in, std::uint64_t bytes_out) {
    InterfaceCounters c;
    REQUIRE(c.name.assign(name).ok());
    c.bytes_in = bytes_in;
    c.bytes_out = bytes_out;
    c.up = true;
    source.device.interfaces.items[source.device.interfaces.count++] = c;
    ++source.device.interfaces.total;
  }

  void add_listener(std::uint16_t port) {
    ListeningPort p;
    p.port = port;
    p.address = IpAddress::v4(0, 0, 0, 0);
    source.device.tcp_listen.items[source.device.tcp_listen.count++] = p;
    ++source.device.tcp_listen.total;
  }
};

// The integer at `path` ("metrics.network_stats.bytes_in") of a JSON document, or -1.
std::int64_t int_at(const std::string& doc, std::initializer_list<const char*> path) {
  std::int64_t out = -1;
  json::parse(doc, kMaxJsonInput, [&](const json::Value& root) {
    json::Value v = root;
    for (const char* key : path) v = v[key];
    out = v.as_int().value_or(-1);
    return Status();
  }).ignore();
  return out;
}

bool has(const std::string& doc, std::initializer_list<const char*> path) {
  bool found = false;
  json::parse(doc, kMaxJsonInput, [&](const json::Value& root) {
    json::Value v = root;
    for (const char* key : path) v = v[key];
    found = v.valid();
    return Status();
  }).ignore();
  return found;
}

}  // namespace

TEST_CASE("metrics reporter: the AWS profile refuses an interval under 300 s unless allowed") {
  Rig rig;
  rig.settings.interval = seconds(60);
  Reporter reporter(*rig.agent, rig.source, rig.settings);
  ErrorText why;
  CHECK(reporter.start(&why).code() == StatusCode::kInvalidArgument);
  CHECK(std::string(why.c_str()).find("below the 300 s") != std::string::npos);
  rig.settings.allow_short_interval = true;
  Reporter allowed(*rig.agent, rig.source, rig.settings);
  CHECK(allowed.start().ok());
  CHECK(allowed.start().code() == StatusCode::kFailedPrecondition);

  rig.settings.thing = "bad thing";
  Reporter bad_thing(*rig.agent, rig.source, rig.settings);
  CHECK(bad_thing.start(&why).code() == StatusCode::kInvalidArgument);
  CHECK(std::string(why.c_str()).find("metrics thing \"bad thing\"") != std::string::npos);
}

TEST_CASE("metrics reporter: reports go out every interval with increasing ids and deltas after the first") {
  Rig rig;
  rig.add_interface("eth0", 1000, 2000);
  rig.start();
  CHECK(rig.reporter->report_topic() == kTopic);
  CHECK(rig.mqtt.subscriptions().count(kTopic + "/accepted") == 1);
  CHECK(rig.mqtt.subscriptions().count(kTopic + "/rejected") == 1);
  rig.run(seconds(299));
  CHECK(rig.sent(kTopic).empty());
  rig.run(seconds(2));
  auto reports = rig.sent(kTopic);
  REQUIRE(reports.size() == 1);
  const std::int64_t first_id = int_at(reports[0], {"header", "report_id"});
  CHECK(first_id >= 1'800'000'000'000);  // wall clock milliseconds
  CHECK_FALSE(has(reports[0], {"metrics", "network_stats"}));  // no previous snapshot
  CHECK(rig.count(ReporterEventType::kReportSent) == 1);

  rig.source.device.interfaces[0].bytes_in = 1500;
  rig.source.device.interfaces[0].bytes_out = 2600;
  rig.run(seconds(300));
  reports = rig.sent(kTopic);
  REQUIRE(reports.size() == 2);
  CHECK(int_at(reports[1], {"header", "report_id"}) > first_id);
  CHECK(int_at(reports[1], {"metrics", "network_stats", "bytes_in"}) == 500);
  CHECK(int_at(reports[1], {"metrics", "network_stats", "bytes_out"}) == 600);
  CHECK(rig.reporter->stats().reports_sent == 2);
}

TEST_CASE("metrics reporter: a report that cannot go offline is skipped and the next covers the whole time") {
  Rig rig;
  rig.add_interface("eth0", 0, 0);
  rig.start();
  rig.run(seconds(301));
  REQUIRE(rig.sent(kTopic).size() == 1);

  rig.mqtt.set_unreachable(Status(StatusCode::kUnavailable, Origin::kSocket));
  rig.mqtt.drop_connection(Status(StatusCode::kUnavailable, Origin::kSocket));
  rig.source.device.interfaces[0].bytes_in = 100;
  rig.run(seconds(300));
  CHECK(rig.sent(kTopic).size() == 1);
  CHECK(rig.count(ReporterEventType::kReportSkipped) >= 1);
  CHECK(rig.reporter->stats().reports_skipped >= 1);

  rig.mqtt.set_unreachable(Status());
  rig.source.device.interfaces[0].bytes_in = 250;
  rig.run(seconds(300));
  const auto reports = rig.sent(kTopic);
  REQUIRE(reports.size() == 2);
  CHECK(int_at(reports[1], {"metrics", "network_stats", "bytes_in"}) == 250);  // since the last report sent
}

TEST_CASE("metrics reporter: answers are counted and a rejection says why") {
  Rig rig;
  rig.start();
  rig.mqtt.inject_message(kTopic + "/accepted", R"({"thingName":"device-1","status":"ACCEPTED","timestamp":1})");
  rig.mqtt.inject_message(kTopic + "/rejected",
                          R"({"thingName":"device-1","status":"REJECTED","statusDetails":)"
                          R"({"ErrorCode":"InvalidPayload","ErrorMessage":"Malformed metrics report"},"timestamp":2})");
  rig.mqtt.inject_message(kTopic + "/rejected", "not json");
  rig.run(milliseconds(300));
  CHECK(rig.reporter->stats().accepted == 1);
  CHECK(rig.reporter->stats().rejected == 2);
  REQUIRE(rig.count(ReporterEventType::kRejected) == 2);
  CHECK(std::find(rig.messages.begin(), rig.messages.end(), "InvalidPayload: Malformed metrics report") !=
        rig.messages.end());
  CHECK(rig.log.count(LogLevel::kWarn, "a report was rejected: (no details)") == 1);
}

TEST_CASE("metrics reporter: a listener the rules do not allow raises an event and an alert at once") {
  Rig rig;
  rig.settings.alert_topic = "dt/device-1/alerts";
  RuleSet rules;
  rules.check_tcp_ports = true;
  REQUIRE(rules.allowed_tcp_ports.push_back(22));
  rig.add_listener(22);
  rig.start(false);
  REQUIRE(rig.reporter->set_rules(rules).ok());
  REQUIRE(rig.agent->start().ok());
  rig.run(seconds(5));
  CHECK(rig.count(ReporterEventType::kRuleRaised) == 0);

  rig.add_listener(2323);
  rig.run(seconds(11));  // the next rule check
  CHECK(rig.count(ReporterEventType::kRuleRaised) == 1);
  auto alerts = rig.sent("dt/device-1/alerts");
  REQUIRE(alerts.size() == 1);
  CHECK(alerts[0].find(R"("rule":"tcp_port","state":"raised","port":2323)") != std::string::npos);

  // Offline: the clear waits and goes after the reconnect.
  rig.mqtt.set_unreachable(Status(StatusCode::kUnavailable, Origin::kSocket));
  rig.mqtt.drop_connection(Status(StatusCode::kUnavailable, Origin::kSocket));
  rig.source.device.tcp_listen.count = 1;
  rig.source.device.tcp_listen.total = 1;
  rig.run(seconds(11));
  CHECK(rig.count(ReporterEventType::kRuleCleared) == 1);
  // Two more while offline: three alerts wait, in order.
  rig.add_listener(7000);
  rig.add_listener(7001);
  rig.run(seconds(11));
  CHECK(rig.count(ReporterEventType::kRuleRaised) == 3);
  CHECK(rig.sent("dt/device-1/alerts").size() == 1);
  rig.mqtt.set_unreachable(Status());
  rig.run(seconds(30));
  alerts = rig.sent("dt/device-1/alerts");
  REQUIRE(alerts.size() == 4);
  CHECK(alerts[1].find(R"("state":"cleared","port":2323)") != std::string::npos);
  CHECK(alerts[2].find(R"("state":"raised","port":7000)") != std::string::npos);
  CHECK(alerts[3].find(R"("state":"raised","port":7001)") != std::string::npos);
  CHECK(rig.reporter->stats().alerts_sent == 4);
  CHECK(rig.reporter->stats().alerts_dropped == 0);
}

TEST_CASE("metrics reporter: custom metrics from the provider go into the report, a bad one fails it loudly") {
  Rig rig;
  const double temperatures[] = {21.5};
  bool bad = false;
  rig.start();
  rig.reporter->set_custom_metrics([&temperatures, &bad]() -> Span<const CustomMetric> {
    static CustomMetric metrics[1];
    metrics[0] = CustomMetric::number(bad ? "bad name!" : "board_temperature", temperatures[0]);
    return Span<const CustomMetric>(metrics, 1);
  });
  REQUIRE(rig.reporter->report_now().ok());
  auto reports = rig.sent(kTopic);
  REQUIRE(reports.size() == 1);
  CHECK(reports[0].find(R"("custom_metrics":{"board_temperature":[{"number":21.5}]})") != std::string::npos);
  bad = true;
  CHECK(rig.reporter->report_now().code() == StatusCode::kInvalidArgument);
  CHECK(rig.sent(kTopic).size() == 1);
  CHECK(rig.count(ReporterEventType::kReportFailed) == 1);
  CHECK(rig.log.count(LogLevel::kError, "bad name!") == 1);
}

TEST_CASE("metrics reporter: through an offline queue, reports made offline are delivered in order after the reconnect") {
  Rig rig;
  QueueSettings qs;
  qs.boot_id = 0xB007;
  OfflineQueue queue(*rig.agent, qs);
  std::vector<std::uint8_t> buffer(64 * 1024);
  offline::RamLogStore store(Span<std::uint8_t>(buffer.data(), buffer.size()), 8);
  StreamSettings stream;
  stream.name = "metrics";
  const Result<StreamId> id = queue.add_stream(stream, store);
  REQUIRE(id.ok());
  rig.settings.queue = &queue;
  rig.settings.stream = id.value();
  rig.add_interface("eth0", 0, 0);
  rig.mqtt.set_unreachable(Status(StatusCode::kUnavailable, Origin::kSocket));
  rig.start(false);
  REQUIRE(rig.agent->start().ok());
  rig.run(seconds(1));
  REQUIRE_FALSE(rig.agent->connected());

  REQUIRE(rig.reporter->report_now().ok());
  rig.run(seconds(1));
  rig.source.device.interfaces[0].bytes_in = 700;
  REQUIRE(rig.reporter->report_now().ok());
  CHECK(rig.sent(kTopic).empty());
  CHECK(rig.reporter->stats().reports_sent == 2);  // handed to the queue

  rig.mqtt.set_unreachable(Status());
  rig.run(seconds(30));
  const auto reports = rig.sent(kTopic);
  REQUIRE(reports.size() == 2);
  CHECK(int_at(reports[0], {"header", "report_id"}) < int_at(reports[1], {"header", "report_id"}));
  CHECK(int_at(reports[1], {"metrics", "network_stats", "bytes_in"}) == 700);
}

TEST_CASE("metrics reporter: settings and rules come from the configuration's metrics section") {
  const char* json = R"({"thing_name": "dev-1", "endpoint": "broker.local",
    "tls": {"ca_file": "ca.pem", "cert_file": "dev.crt", "key": "dev.key"},
    "metrics": {"format": "json-long", "interval_s": 900, "rules_interval_s": 3, "alert_topic": "dt/dev-1/alerts",
                "rules": {"tcp_ports": [22], "remote_networks": ["10.0.0.0/8"], "inactive_hardware": ["i2c i2c-1"],
                          "max_bytes_out_per_s": 5000}}})";
  AgentConfig config;
  ErrorText why;
  REQUIRE(parse_config(json, "agent.json", config, &why).ok());
  ReporterSettings settings;
  RuleSet rules;
  REQUIRE(settings_from_config(config, &settings, &rules, &why).ok());
  CHECK(settings.format == ReportFormat::kJsonLong);
  CHECK(settings.interval == seconds(900));
  CHECK(settings.rules_interval == seconds(3));
  CHECK(settings.alert_topic == "dt/dev-1/alerts");
  CHECK(rules.check_tcp_ports);
  REQUIRE(rules.allowed_tcp_ports.size() == 1);
  CHECK(rules.allowed_tcp_ports[0] == 22);
  REQUIRE(rules.allowed_remote_networks.size() == 1);
  CHECK(rules.allowed_remote_networks[0].contains(IpAddress::v4(10, 9, 8, 7)));
  REQUIRE(rules.inactive_hardware.size() == 1);
  CHECK(rules.inactive_hardware[0].kind == HardwareKind::kI2c);
  CHECK(rules.inactive_hardware[0].name_prefix == "i2c-1");
  CHECK(rules.max_bytes_out_per_s == 5000);
  RuleEngine engine;
  CHECK(engine.set_rules(rules).ok());

  // Host bits below the prefix pass the parser's syntax check and are caught here, named.
  REQUIRE(config.metrics.remote_networks[0].assign("10.1.0.0/8").ok());
  CHECK(settings_from_config(config, &settings, &rules, &why).code() == StatusCode::kInvalidArgument);
  CHECK(std::string(why.c_str()).find("metrics.rules.remote_networks[0]") == 0);
  CHECK(std::string(why.c_str()).find("did you mean 10.0.0.0/8") != std::string::npos);
  config.metrics.enabled = false;
  CHECK(settings_from_config(config, &settings, &rules, &why).code() == StatusCode::kFailedPrecondition);
}
