// Copyright 2026 The Tether Authors. SPDX-License-Identifier: Apache-2.0
// metrics::RuleEngine: allow-lists and ceilings over snapshots, violations raised and cleared once,
// CIDR parsing, alert messages.

#include <catch2/catch.hpp>

#include <string>
#include <vector>

#include "test_support.hpp"
#include "tether/json.hpp"
#include "tether/metrics/rules.hpp"

using namespace tether;
using namespace tether::metrics;

namespace {

IpAddress ip(const char* text) {
  const Result<IpAddress> a = parse_address(text);
  REQUIRE(a.ok());
  return a.value();
}

void listen(SampledList<ListeningPort, kMaxPorts>& list, std::uint16_t port, const char* address = "0.0.0.0") {
  ListeningPort p;
  p.port = port;
  p.address = ip(address);
  list.items[list.count++] = p;
  ++list.total;
}

void connect(Snapshot& s, const char* remote, std::uint16_t remote_port, const char* interface = "eth0") {
  Connection c;
  c.remote = ip(remote);
  c.remote_port = remote_port;
  c.local_port = 40000;
  REQUIRE(c.local_interface.assign(interface).ok());
  s.connections.items[s.connections.count++] = c;
  ++s.connections.total;
}

void counters(Snapshot& s, const char* name, std::uint64_t bytes_in, std::uint64_t bytes_out, bool loopback = false) {
  InterfaceCounters c;
  REQUIRE(c.name.assign(name).ok());
  c.bytes_in = bytes_in;
  c.bytes_out = bytes_out;
  c.up = true;
  c.loopback = loopback;
  s.interfaces.items[s.interfaces.count++] = c;
  ++s.interfaces.total;
}

void hardware(Snapshot& s, HardwareKind kind, const char* name) {
  HardwareInterface h;
  h.kind = kind;
  REQUIRE(h.name.assign(name).ok());
  s.hardware.items[s.hardware.count++] = h;
  ++s.hardware.total;
}

struct Changes {
  std::vector<std::string> raised;
  std::vector<std::string> cleared;
  Evaluation evaluation;
};

std::string describe(const Violation& v) {
  std::string out = to_string(v.kind);
  if (v.kind == RuleKind::kHardware) return out + " " + std::string(v.name.view());
  if (v.kind == RuleKind::kBytesInRate || v.kind == RuleKind::kBytesOutRate) return out + " " + std::to_string(v.rate);
  char buf[kMaxAddressText];
  const Result<std::string_view> a = format_address(v.address, Span<char>(buf, sizeof buf));
  return out + " " + (a.ok() ? std::string(a.value()) : std::string("-")) + " " + std::to_string(v.port);
}

Changes run(RuleEngine& engine, const Snapshot& now, const Snapshot* previous = nullptr, std::size_t room = 16) {
  std::vector<RuleEvent> events(room);
  Changes c;
  c.evaluation = engine.evaluate(now, previous, Span<RuleEvent>(events.data(), events.size()));
  for (std::size_t i = 0; i < c.evaluation.events; ++i) {
    (events[i].raised ? c.raised : c.cleared).push_back(describe(events[i].violation));
  }
  return c;
}

using Names = std::vector<std::string>;

}  // namespace

TEST_CASE("metrics rules: networks in CIDR form, host bits and bad prefixes refused with the reason") {
  ErrorText why;
  const Result<Cidr> ten = parse_cidr("10.0.0.0/8");
  REQUIRE(ten.ok());
  CHECK(ten.value().contains(ip("10.200.3.4")));
  CHECK_FALSE(ten.value().contains(ip("11.0.0.1")));
  CHECK(ten.value().contains(ip("::ffff:10.1.1.1")));  // an IPv4-mapped peer is the IPv4 peer
  CHECK_FALSE(ten.value().contains(ip("2001:db8::1")));
  const Result<Cidr> doc = parse_cidr("2001:db8::/32");
  REQUIRE(doc.ok());
  CHECK(doc.value().contains(ip("2001:db8:ffff::1")));
  CHECK_FALSE(doc.value().contains(ip("2001:db9::1")));
  const Result<Cidr> odd = parse_cidr("192.168.1.128/25");
  REQUIRE(odd.ok());
  CHECK(odd.value().contains(ip("192.168.1.200")));
  CHECK_FALSE(odd.value().contains(ip("192.168.1.127")));
  const Result<Cidr> single = parse_cidr("192.0.2.7");
  REQUIRE(single.ok());
  CHECK(single.value().prefix == 32);
  CHECK_FALSE(single.value().contains(ip("192.0.2.8")));
  CHECK(parse_cidr("0.0.0.0/0").value().contains(ip("8.8.8.8")));

  CHECK(parse_cidr("10.1.0.0/8", &why).status() == Status(StatusCode::kInvalidArgument, Origin::kMetrics, 0));
  CHECK(std::string(why.c_str()).find("did you mean 10.0.0.0/8") != std::string::npos);
  for (const char* bad : {"10.0.0.0/33", "2001:db8::/129", "10.0.0.0/", "10.0.0.0/08", "10.0.0.0/x", "10.0.0/8", "/8"}) {
    INFO(bad);
    CHECK_FALSE(parse_cidr(bad, &why).ok());
    CHECK(std::string(why.c_str()).find(bad) != std::string::npos);
  }
}

TEST_CASE("metrics rules: an unexpected listener is raised once, and cleared once when it closes") {
  RuleEngine engine;
  RuleSet rules;
  rules.check_tcp_ports = true;
  REQUIRE(rules.allowed_tcp_ports.push_back(22));
  REQUIRE(rules.allowed_tcp_ports.push_back(443));
  REQUIRE(engine.set_rules(rules).ok());

  Snapshot s;
  listen(s.tcp_listen, 22);
  listen(s.tcp_listen, 443, "::");
  listen(s.udp_listen, 5353);  // UDP is not checked
  Changes c = run(engine, s);
  CHECK(c.raised.empty());
  CHECK(c.cleared.empty());

  listen(s.tcp_listen, 23);
  listen(s.tcp_listen, 23, "::");  // the same port on IPv6 is another subject (another address)
  c = run(engine, s);
  CHECK(c.raised == Names{"tcp_port 0.0.0.0 23", "tcp_port :: 23"});
  CHECK(engine.active().size() == 2);
  // Still there: nothing new.
  c = run(engine, s);
  CHECK(c.raised.empty());
  CHECK(c.cleared.empty());
  // Gone.
  s.tcp_listen.count = 2;
  s.tcp_listen.total = 2;
  c = run(engine, s);
  CHECK(c.raised.empty());
  CHECK(c.cleared == Names{"tcp_port 0.0.0.0 23", "tcp_port :: 23"});
  CHECK(engine.active().empty());
  CHECK(engine.stats().raised == 2);
  CHECK(engine.stats().cleared == 2);
}

TEST_CASE("metrics rules: connections outside the allowed networks, UDP ports and active hardware") {
  RuleEngine engine;
  RuleSet rules;
  rules.check_remote_networks = true;
  REQUIRE(rules.allowed_remote_networks.push_back(parse_cidr("10.0.0.0/8").value()));
  REQUIRE(rules.allowed_remote_networks.push_back(parse_cidr("2001:db8::/32").value()));
  rules.check_udp_ports = true;  // nothing allowed
  HardwareRule usb;
  usb.kind = HardwareKind::kUsb;
  REQUIRE(rules.inactive_hardware.push_back(usb));
  HardwareRule i2c1;
  i2c1.kind = HardwareKind::kI2c;
  REQUIRE(i2c1.name_prefix.assign("i2c-1").ok());
  REQUIRE(rules.inactive_hardware.push_back(i2c1));
  REQUIRE(engine.set_rules(rules).ok());

  Snapshot s;
  connect(s, "10.1.2.3", 8883);
  connect(s, "2001:db8::5", 443);
  connect(s, "203.0.113.9", 4444);
  connect(s, "2001:db9::1", 80);
  listen(s.udp_listen, 68);
  hardware(s, HardwareKind::kUsb, "usb 1-1 046d:c52b");
  hardware(s, HardwareKind::kI2c, "i2c-10");  // prefix "i2c-1" matches i2c-10 too (documented prefix rule)
  hardware(s, HardwareKind::kI2c, "i2c-0");
  hardware(s, HardwareKind::kSpi, "spi0.0");
  const Changes c = run(engine, s);
  CHECK(c.raised == Names{"udp_port 0.0.0.0 68", "remote_network 203.0.113.9 4444", "remote_network 2001:db9::1 80",
                          "hardware usb 1-1 046d:c52b", "hardware i2c-10"});
}

TEST_CASE("metrics rules: byte-rate ceilings use the deltas between two snapshots, loopback excluded") {
  RuleEngine engine;
  RuleSet rules;
  rules.max_bytes_out_per_s = 10000;
  REQUIRE(engine.set_rules(rules).ok());

  Snapshot before;
  before.taken_at = Milliseconds(1000);
  counters(before, "eth0", 0, 1000000);
  counters(before, "lo", 0, 0, true);
  Snapshot after = before;
  after.taken_at = Milliseconds(11000);  // 10 s later
  after.interfaces[0].bytes_out = 1000000 + 50000;   // 5,000 B/s: under
  after.interfaces[1].bytes_out = 10000000;          // loopback: not counted
  Changes c = run(engine, after, &before);
  CHECK(c.raised.empty());

  Snapshot later = after;
  later.taken_at = Milliseconds(21000);
  later.interfaces[0].bytes_out = after.interfaces[0].bytes_out + 200000;  // 20,000 B/s
  c = run(engine, later, &after);
  CHECK(c.raised == Names{"bytes_out_rate 20000"});
  // Without a previous snapshot the rate is unknown: the violation stays as it was.
  c = run(engine, later, nullptr);
  CHECK(c.raised.empty());
  CHECK(c.cleared.empty());
  // Quiet again.
  Snapshot quiet = later;
  quiet.taken_at = Milliseconds(31000);
  c = run(engine, quiet, &later);
  CHECK(c.cleared == Names{"bytes_out_rate 20000"});
}

TEST_CASE("metrics rules: changes that do not fit are raised later, truncated snapshots are flagged") {
  RuleEngine engine;
  RuleSet rules;
  rules.check_tcp_ports = true;
  REQUIRE(engine.set_rules(rules).ok());
  Snapshot s;
  listen(s.tcp_listen, 1);
  listen(s.tcp_listen, 2);
  listen(s.tcp_listen, 3);
  Changes c = run(engine, s, nullptr, 2);
  CHECK(c.raised.size() == 2);
  CHECK(c.evaluation.dropped == 1);
  c = run(engine, s, nullptr, 2);
  CHECK(c.raised == Names{"tcp_port 0.0.0.0 3"});
  CHECK_FALSE(c.evaluation.incomplete);
  s.tcp_listen.total = 500;  // the source kept a sample
  c = run(engine, s);
  CHECK(c.evaluation.incomplete);
  CHECK(engine.stats().incomplete == 1);
}

TEST_CASE("metrics rules: rule sets are checked, alerts are JSON naming the rule and the subject") {
  RuleEngine engine;
  ErrorText why;
  RuleSet rules;
  REQUIRE(rules.allowed_tcp_ports.push_back(22));
  REQUIRE(rules.allowed_tcp_ports.push_back(22));
  CHECK(engine.set_rules(rules, &why).code() == StatusCode::kInvalidArgument);
  CHECK(std::string(why.c_str()) == "allowed_tcp_ports[1]: port 22 is listed twice");
  rules.allowed_tcp_ports.clear();
  REQUIRE(rules.allowed_udp_ports.push_back(0));
  CHECK(engine.set_rules(rules, &why).code() == StatusCode::kInvalidArgument);
  CHECK(std::string(why.c_str()).find("allowed_udp_ports[0]: port 0") != std::string::npos);

  char buf[512];
  RuleEvent event;
  event.violation.kind = RuleKind::kRemoteNetwork;
  event.violation.address = ip("2001:db9::1");
  event.violation.port = 443;
  REQUIRE(event.violation.name.assign("wlan0").ok());
  const Result<std::string_view> alert = encode_alert("dev-1", event, 1700000000000, Span<char>(buf, sizeof buf));
  REQUIRE(alert.ok());
  CHECK(alert.value() ==
        R"({"thing":"dev-1","rule":"remote_network","state":"raised","remote_addr":"[2001:db9::1]:443",)"
        R"("interface":"wlan0","timestamp_ms":1700000000000})");
  event.raised = false;
  event.violation = Violation{};
  event.violation.kind = RuleKind::kBytesInRate;
  event.violation.rate = 123456;
  event.violation.ceiling = 100000;
  const Result<std::string_view> rate = encode_alert("dev-1", event, 5, Span<char>(buf, sizeof buf));
  REQUIRE(rate.ok());
  CHECK(rate.value() ==
        R"({"thing":"dev-1","rule":"bytes_in_rate","state":"cleared","rate":123456,"ceiling":100000,"timestamp_ms":5})");
  CHECK(encode_alert("dev-1", event, 5, Span<char>(buf, 20)).status().code() == StatusCode::kResourceExhausted);
}
