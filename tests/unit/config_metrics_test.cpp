// Copyright 2026 The Tether Authors. SPDX-License-Identifier: Apache-2.0
// The "metrics" section of the configuration: reporting, alert topic and on-device rules, every
// bad value refused with its key.

#include <catch2/catch.hpp>

#include <string>

#include "test_support.hpp"
#include "tether/config.hpp"

using namespace tether;

namespace {

struct Parsed {
  Status status;
  std::string error;
  AgentConfig config;
};

Parsed parse_metrics(const std::string& section, const std::string& profile = "aws") {
  const std::string json = R"({"thing_name": "dev-1", "endpoint": "broker.local", "profile": ")" + profile +
                           R"(", "tls": {"ca_file": "ca.pem", "cert_file": "dev.crt", "key": "dev.key"}, "metrics": )" +
                           section + "}";
  Parsed p;
  ErrorText error;
  p.status = parse_config(json, "agent.json", p.config, &error);
  p.error = std::string(error.view());
  return p;
}

}  // namespace

TEST_CASE("config metrics: a full section is read") {
  const Parsed p = parse_metrics(R"({
    "format": "cbor", "interval_s": 600, "rules_interval_s": 5, "alert_topic": "dt/dev-1/alerts",
    "rules": {"tcp_ports": [22, 8883], "udp_ports": [], "remote_networks": ["10.0.0.0/8", "2001:db8::/32", "192.0.2.7"],
              "inactive_hardware": ["usb", "i2c i2c-1"], "max_bytes_in_per_s": 1000000, "max_bytes_out_per_s": 50000}})");
  INFO(p.error);
  REQUIRE(p.status.ok());
  const MetricsConfig& m = p.config.metrics;
  CHECK(m.enabled);
  CHECK(m.format == MetricsFormat::kCbor);
  CHECK(m.interval_s == 600);
  CHECK(m.rules_interval_s == 5);
  CHECK(m.alert_topic == "dt/dev-1/alerts");
  CHECK(m.check_tcp_ports);
  REQUIRE(m.tcp_port_count == 2);
  CHECK(m.tcp_ports[1] == 8883);
  CHECK(m.check_udp_ports);  // present and empty: nothing may be bound
  CHECK(m.udp_port_count == 0);
  CHECK(m.check_remote_networks);
  REQUIRE(m.remote_network_count == 3);
  CHECK(m.remote_networks[1] == "2001:db8::/32");
  REQUIRE(m.inactive_hardware_count == 2);
  CHECK(m.inactive_hardware[1] == "i2c i2c-1");
  CHECK(m.max_bytes_in_per_s == 1000000);
  CHECK(m.max_bytes_out_per_s == 50000);
}

TEST_CASE("config metrics: defaults, and a section turned off") {
  Parsed p = parse_metrics("{}");
  REQUIRE(p.status.ok());
  CHECK(p.config.metrics.enabled);
  CHECK(p.config.metrics.format == MetricsFormat::kJsonShort);
  CHECK(p.config.metrics.interval_s == 300);
  CHECK_FALSE(p.config.metrics.check_tcp_ports);
  CHECK_FALSE(p.config.metrics.check_remote_networks);
  p = parse_metrics(R"({"enabled": false, "interval_s": 5})");  // turned off: not checked further
  REQUIRE(p.status.ok());
  CHECK_FALSE(p.config.metrics.enabled);
}

TEST_CASE("config metrics: the AWS floor, and when it does not apply") {
  Parsed p = parse_metrics(R"({"interval_s": 60})");
  CHECK(p.status == Status(StatusCode::kOutOfRange, Origin::kConfig, 0));
  CHECK(p.error ==
        "agent.json: metrics.interval_s: must be at least 300 on the aws profile (Device Defender throttles faster "
        "reports), got 60; set \"allow_short_interval\": true to report faster anyway");
  CHECK(parse_metrics(R"({"interval_s": 60, "allow_short_interval": true})").status.ok());
  CHECK(parse_metrics(R"({"interval_s": 60})", "neutral").status.ok());
  CHECK(parse_metrics(R"({"interval_s": 0})").error ==
        "agent.json: metrics.interval_s: must be an integer between 1 and 86400, got 0");
}

TEST_CASE("config metrics: bad values are refused naming the key and the entry") {
  struct Case {
    const char* section;
    const char* error;
  };
  const Case cases[] = {
      {R"({"format": "xml"})", R"(agent.json: metrics.format: must be "json-long", "json-short" or "cbor", got string "xml")"},
      {R"({"rules_interval_s": 7200})", "agent.json: metrics.rules_interval_s: must be an integer between 0 and 3600, got 7200"},
      {R"({"alert_topic": "dt/+/alerts"})", "agent.json: metrics.alert_topic: "},
      {R"({"rules": {"tcp_ports": [22, 22]}})", "agent.json: metrics.rules.tcp_ports[1]: port 22 is listed twice"},
      {R"({"rules": {"tcp_ports": [0]}})", "agent.json: metrics.rules.tcp_ports: element 0 must be a port number (1 to 65535), got 0"},
      {R"({"rules": {"udp_ports": "53"}})", R"(agent.json: metrics.rules.udp_ports: must be an array of port numbers, got string "53")"},
      {R"({"rules": {"remote_networks": ["10.0.0.0/33"]}})",
       R"(agent.json: metrics.rules.remote_networks[0]: the prefix length must be 0 to 32, got "10.0.0.0/33")"},
      {R"({"rules": {"remote_networks": ["intranet"]}})",
       R"(agent.json: metrics.rules.remote_networks[0]: must be a network like "10.0.0.0/8" or "2001:db8::/32", got "intranet")"},
      {R"({"rules": {"inactive_hardware": ["bluetooth"]}})",
       R"(agent.json: metrics.rules.inactive_hardware[0]: must start with spi, i2c, usb or serial (then optionally a space and a name prefix), got "bluetooth")"},
      {R"({"rules": {"inactive_hardware": ["usb "]}})",
       R"(agent.json: metrics.rules.inactive_hardware[0]: a space must be followed by a name prefix, got "usb ")"},
      {R"({"rules": {"max_bytes_in_per_s": -1}})", "agent.json: metrics.rules.max_bytes_in_per_s: must be an integer between 0 and 9007199254740992, got -1"},
      {R"({"rules": {"ports": [1]}})", R"(agent.json: metrics.rules: unknown key "ports")"},
      {R"({"rule": {}})", R"(agent.json: metrics: unknown key "rule")"},
      {R"({"rules": []})", "agent.json: metrics.rules: must be an object, got an array"},
  };
  for (const Case& c : cases) {
    INFO(c.section);
    const Parsed p = parse_metrics(c.section);
    CHECK_FALSE(p.status.ok());
    CHECK(p.status.origin() == Origin::kConfig);
    CHECK(p.error.rfind(c.error, 0) == 0);
  }
  // Over capacity.
  std::string many = R"({"rules": {"tcp_ports": [)";
  for (int i = 1; i <= 17; ++i) many += (i > 1 ? "," : "") + std::to_string(i);
  many += "]}}";
  CHECK(parse_metrics(many).error ==
        "agent.json: metrics.rules.tcp_ports: must hold at most 16 ports (TETHER_METRICS_MAX_RULE_ITEMS), got 17");
}
