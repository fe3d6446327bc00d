// Copyright 2026 The Tether Authors. SPDX-License-Identifier: Apache-2.0
// metrics::Reporter end to end: the real LinuxMetricsSource of this machine, the Paho port on the
// TLS test broker, tools/cloudsim's Device Defender service checking every report. Reports in the
// three formats are accepted; a listener the test opens shows up in the next report and trips an
// on-device rule (event and alert message); a malformed custom metric is refused on the device.

#include <catch2/catch.hpp>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <functional>
#include <memory>
#include <random>
#include <sstream>
#include <string>
#include <vector>

#include "broker_fixture.hpp"
#include "cloudsim_fixture.hpp"
#include "device_loop.hpp"
#include "test_support.hpp"
#include "tether/agent.hpp"
#include "tether/json.hpp"
#include "tether/metrics/reporter.hpp"
#include "tether/port/linux/linux_metrics_source.hpp"
#include "tether/port/paho/paho_mqtt_client.hpp"
#include "tether/port/posix/posix_clock.hpp"
#include "tether/port/testing/capturing_log_sink.hpp"

using namespace tether;
using namespace tether::metrics;
using std::chrono::milliseconds;
using test::Cloudsim;
using test::TestBroker;

namespace {

constexpr std::string_view kThing = "device-1";
constexpr milliseconds kWait{20000};
const std::string kAlertTopic = "dt/device-1/alerts";

// A TCP socket listening on 127.0.0.1 at an ephemeral port, closed by the destructor.
class Listener {
 public:
  Listener() {
    fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    REQUIRE(fd_ >= 0);
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    REQUIRE(::bind(fd_, reinterpret_cast<sockaddr*>(&address), sizeof address) == 0);
    REQUIRE(::listen(fd_, 1) == 0);
    socklen_t size = sizeof address;
    REQUIRE(::getsockname(fd_, reinterpret_cast<sockaddr*>(&address), &size) == 0);
    port_ = ntohs(address.sin_port);
  }
  ~Listener() { close(); }
  void close() {
    if (fd_ >= 0) ::close(fd_);
    fd_ = -1;
  }
  std::uint16_t port() const { return port_; }

 private:
  int fd_ = -1;
  std::uint16_t port_ = 0;
};

class Device {
 public:
  explicit Device(const TestBroker& broker) : mqtt_(broker.client_settings(kThing), &log_), agent_(mqtt_, clock_, config(), &log_, 1) {
    REQUIRE(agent_.start().ok());
    REQUIRE(run_until([&] { return agent_.connected(); }));
    // The device hears its own alerts (its ACL allows dt/device-1/#).
    REQUIRE(agent_.subscribe(kAlertTopic, Qos::k1, [this](const InboundMessage& m) {
      alerts.emplace_back(reinterpret_cast<const char*>(m.payload.data()), m.payload.size());
    }).ok());
  }

  // A reporter of `format` (not started): short interval allowed, rules checked often.
  std::unique_ptr<Reporter> reporter(ReportFormat format) {
    settings_.format = format;
    settings_.interval = std::chrono::hours(1);  // reports only when the test asks
    settings_.allow_short_interval = true;
    settings_.rules_interval = milliseconds(200);
    settings_.alert_topic = kAlertTopic;
    auto r = std::make_unique<Reporter>(agent_, source_, settings_);
    r->set_event_handler([this](const ReporterEvent& e) {
      events.push_back(e.type);
      if (e.rule != nullptr) rule_ports.push_back(e.rule->violation.port);
      if (!e.message.empty()) messages.emplace_back(e.message);
    });
    return r;
  }

  bool run_until(const std::function<bool()>& done, milliseconds timeout = kWait) {
    return test::run_agent_until(agent_, done, timeout);
  }
  void run_for(milliseconds duration) { test::run_agent_for(agent_, duration); }

  std::size_t count(ReporterEventType type) const {
    std::size_t n = 0;
    for (ReporterEventType t : events) n += t == type ? 1 : 0;
    return n;
  }

  std::string describe() const {
    std::ostringstream out;
    out << "agent: " << to_string(agent_.state()) << "\nevents:";
    for (ReporterEventType t : events) out << " [" << to_string(t) << "]";
    out << "\nmessages:";
    for (const std::string& m : messages) out << " [" << m << "]";
    out << "\nsource: " << source_.last_error() << "\n";
    test::write_log_tail(out, log_);
    return out.str();
  }

  port::LinuxMetricsSource& source() { return source_; }

  std::vector<ReporterEventType> events;
  std::vector<std::uint16_t> rule_ports;
  std::vector<std::string> messages;
  std::vector<std::string> alerts;

 private:
  static const AgentConfig& config() {
    static AgentConfig c = [] {
      AgentConfig config;
      REQUIRE(config.thing_name.assign(kThing).ok());
      config.reconnect.initial = milliseconds(200);
      config.mqtt.connect_timeout = milliseconds(5000);
      config.log_level = LogLevel::kDebug;
      return config;
    }();
    return c;
  }

  port::PosixClock clock_;
  testing::CapturingLogSink log_;
  port::PahoMqttClient mqtt_;
  port::LinuxMetricsSource source_;
  Agent agent_;
  ReporterSettings settings_;
};

// cloudsim's retained reports of device-1, newest first (long keys whatever the format).
struct CloudReports {
  std::vector<std::string> formats;
  std::vector<std::vector<std::int64_t>> tcp_ports;  // listening_tcp_ports.ports[].port per report
  std::vector<std::int64_t> tcp_totals;               // listening_tcp_ports.total per report
};

CloudReports cloud_reports(Cloudsim& sim) {
  const test::HttpResponse got = sim.request("GET", "/metrics/device-1");
  INFO("GET /metrics/device-1: " << got.status << " " << got.body);
  REQUIRE(got.status == 200);
  CloudReports out;
  const Status parsed = json::parse(got.body, kMaxJsonInput, [&](const json::Value& root) {
    for (json::Value r = root["reports"].first_child(); r.valid(); r = r.next()) {
      out.formats.emplace_back(r["format"].as_string().value_or("?"));
      std::vector<std::int64_t> ports;
      const json::Value list = r["report"]["metrics"]["listening_tcp_ports"]["ports"];
      for (json::Value p = list.first_child(); p.valid(); p = p.next()) ports.push_back(p["port"].as_int().value_or(-1));
      out.tcp_ports.push_back(ports);
      out.tcp_totals.push_back(r["report"]["metrics"]["listening_tcp_ports"]["total"].as_int().value_or(-1));
    }
    return Status();
  });
  REQUIRE(parsed.ok());
  return out;
}

bool contains(const std::vector<std::int64_t>& list, std::int64_t value) {
  for (std::int64_t v : list) {
    if (v == value) return true;
  }
  return false;
}

}  // namespace

TEST_CASE("metrics cloudsim: reports in long JSON, short JSON and CBOR are accepted with this machine's metrics",
          "[metrics][cloudsim][integration]") {
  TestBroker broker;
  Cloudsim sim(broker);
  Device device(broker);
  REQUIRE(cbor_reports_available());
  for (ReportFormat format : {ReportFormat::kJsonLong, ReportFormat::kJsonShort, ReportFormat::kCbor}) {
    INFO(to_string(format));
    const std::size_t accepted_before = device.count(ReporterEventType::kAccepted);
    std::unique_ptr<Reporter> reporter = device.reporter(format);
    ErrorText why;
    REQUIRE(reporter->start(&why).ok());
    device.run_for(milliseconds(300));  // SUBACKs of the answer topics
    REQUIRE(reporter->report_now().ok());
    const bool answered = device.run_until([&] {
      return device.count(ReporterEventType::kAccepted) > accepted_before || device.count(ReporterEventType::kRejected) > 0;
    });
    INFO(device.describe() << "cloudsim log:\n" << sim.log_tail());
    REQUIRE(answered);
    CHECK(device.count(ReporterEventType::kRejected) == 0);
    CHECK(reporter->stats().last_report_bytes > 0);
  }
  const CloudReports reports = cloud_reports(sim);
  CHECK(reports.formats == std::vector<std::string>{"cbor", "json", "json"});
  // The broker the device talks to listens on this machine: every report lists its port (unless
  // the machine has more listeners than a report lists: then the list is a sample of the total).
  REQUIRE(reports.tcp_ports.size() == 3);
  for (std::size_t i = 0; i < 3; ++i) {
    CHECK(reports.tcp_totals[i] >= static_cast<std::int64_t>(reports.tcp_ports[i].size()));
    CHECK((contains(reports.tcp_ports[i], broker.port()) ||
           reports.tcp_totals[i] > static_cast<std::int64_t>(reports.tcp_ports[i].size())));
  }
}

TEST_CASE("metrics cloudsim: a listener the test opens trips an on-device rule and shows up in the next report",
          "[metrics][cloudsim][integration]") {
  TestBroker broker;
  Cloudsim sim(broker);
  Device device(broker);
  // Allow what listens now (up to the rule capacity); anything new is a violation. Other tests may
  // open and close listeners on this machine meanwhile: every check below is about our port.
  Snapshot now;
  const Status read = device.source().snapshot(now);
  INFO("snapshot: " << read << " " << device.source().last_error());
  REQUIRE((read.ok() || read.code() == StatusCode::kDataLoss));
  RuleSet rules;
  rules.check_tcp_ports = true;
  for (const ListeningPort& p : now.tcp_listen.view()) {
    bool known = false;
    for (std::uint16_t allowed : rules.allowed_tcp_ports) known = known || allowed == p.port;
    if (!known && !rules.allowed_tcp_ports.push_back(p.port)) break;  // full: the rest raise, ours still does
  }
  std::unique_ptr<Reporter> reporter = device.reporter(ReportFormat::kJsonShort);
  ErrorText why;
  REQUIRE(reporter->set_rules(rules, &why).ok());
  REQUIRE(reporter->start(&why).ok());
  device.run_for(milliseconds(600));

  Listener listener;
  const std::string port = std::to_string(listener.port());
  const auto raised_for_us = [&] {
    return std::count(device.rule_ports.begin(), device.rule_ports.end(), listener.port()) >= 1;
  };
  const auto alerts_for_us = [&](const std::string& state) {
    return std::count_if(device.alerts.begin(), device.alerts.end(), [&](const std::string& a) {
      return a.find("\"rule\":\"tcp_port\",\"state\":\"" + state + "\",\"port\":" + port + ",") != std::string::npos;
    });
  };
  INFO(device.describe());
  REQUIRE(device.run_until(raised_for_us));
  REQUIRE(device.run_until([&] { return alerts_for_us("raised") == 1; }));

  REQUIRE(reporter->report_now().ok());
  REQUIRE(device.run_until([&] { return device.count(ReporterEventType::kAccepted) == 1; }));
  const CloudReports reports = cloud_reports(sim);
  REQUIRE(!reports.tcp_ports.empty());
  CHECK((contains(reports.tcp_ports[0], listener.port()) ||
         reports.tcp_totals[0] > static_cast<std::int64_t>(reports.tcp_ports[0].size())));

  listener.close();
  REQUIRE(device.run_until([&] { return alerts_for_us("cleared") == 1; }));
  CHECK(alerts_for_us("raised") == 1);  // raised once, not at every check
}

TEST_CASE("metrics cloudsim: a malformed custom metric is refused on the device and nothing is sent",
          "[metrics][cloudsim][integration]") {
  TestBroker broker;
  Cloudsim sim(broker);
  Device device(broker);
  std::unique_ptr<Reporter> reporter = device.reporter(ReportFormat::kJsonLong);
  const std::string_view names[] = {"ok_name", "has space"};
  reporter->set_custom_metrics([&names]() -> Span<const CustomMetric> {
    static CustomMetric metrics[1];
    metrics[0] = CustomMetric::string_list("services", Span<const std::string_view>(names, 2));
    return Span<const CustomMetric>(metrics, 1);
  });
  REQUIRE(reporter->start().ok());
  device.run_for(milliseconds(300));
  const Status refused = reporter->report_now();
  INFO(device.describe());
  CHECK(refused.code() == StatusCode::kInvalidArgument);
  CHECK(refused.origin() == Origin::kMetrics);
  CHECK(device.count(ReporterEventType::kReportFailed) == 1);
  REQUIRE(!device.messages.empty());
  CHECK(device.messages.back().find("services") != std::string::npos);
  device.run_for(milliseconds(500));
  CHECK(cloud_reports(sim).formats.empty());
}
