// Copyright 2026 The Tether Authors. SPDX-License-Identifier: Apache-2.0
// metrics reports: the documented examples in long and short keys, the connection and port forms,
// network deltas, the custom metric data rules, small buffers, and CBOR decoded back with libcbor.
//
// Documents are compared as parsed trees in a canonical text form (keys sorted, numbers as
// integers when integral), never as the bytes written.

#include <catch2/catch.hpp>

#include <cmath>
#include <cstdio>
#include <cstring>
#include <map>
#include <string>
#include <vector>

#include "tether/json.hpp"
#include "tether/metrics/report.hpp"

#if defined(TETHER_HAVE_LIBCBOR)
#include <cbor.h>
#endif

using namespace tether;
using namespace tether::metrics;

namespace {

std::string number_text(double v) {
  char buf[40];
  if (std::trunc(v) == v && std::fabs(v) < 9007199254740992.0) {
    std::snprintf(buf, sizeof buf, "%lld", static_cast<long long>(v));
  } else {
    std::snprintf(buf, sizeof buf, "%.17g", v);
  }
  return buf;
}

std::string canonical(const json::Value& v) {
  switch (v.type()) {
    case json::Type::kObject: {
      std::map<std::string, std::string> members;
      for (json::Value m = v.first_child(); m.valid(); m = m.next()) {
        members[std::string(m.key())] = canonical(m);
      }
      std::string out = "{";
      for (const auto& [k, val] : members) out += (out.size() > 1 ? "," : "") + ("\"" + k + "\":" + val);
      return out + "}";
    }
    case json::Type::kArray: {
      std::string out = "[";
      for (json::Value m = v.first_child(); m.valid(); m = m.next()) out += (out.size() > 1 ? "," : "") + canonical(m);
      return out + "]";
    }
    case json::Type::kString:
      return "\"" + std::string(v.as_string().value()) + "\"";
    case json::Type::kNumber: {
      const Result<std::int64_t> i = v.as_int();
      return i.ok() ? std::to_string(i.value()) : number_text(v.as_double().value());
    }
    case json::Type::kBool:
      return v.as_bool().value() ? "true" : "false";
    default:
      return "null";
  }
}

// The canonical form of a JSON text; "invalid: <why>" when it does not parse.
std::string canonical_json(std::string_view text) {
  std::string out;
  ErrorText why;
  const Status s = json::parse(
      text, text.size(),
      [&](const json::Value& root) {
        out = canonical(root);
        return ok_status();
      },
      &why);
  return s.ok() ? out : "invalid: " + std::string(why.view());
}

std::string encode(const ReportInput& in, ReportFormat format, std::size_t capacity = 8192) {
  std::vector<std::uint8_t> buf(capacity);
  ErrorText why;
  const Result<Span<std::uint8_t>> r = encode_report(in, format, Span<std::uint8_t>(buf.data(), buf.size()), &why);
  INFO(why.view());
  REQUIRE(r.ok());
  return std::string(reinterpret_cast<const char*>(r.value().data()), r.value().size());
}

ListeningPort listening(std::uint16_t number, std::string_view interface = "") {
  ListeningPort p;
  p.port = number;
  p.address = IpAddress::v4(0, 0, 0, 0);
  REQUIRE(p.interface.assign(interface).ok());
  return p;
}

Connection connection(const IpAddress& remote, std::uint16_t remote_port, std::uint16_t local_port,
                      std::string_view interface = "") {
  Connection c;
  c.remote = remote;
  c.remote_port = remote_port;
  c.local_port = local_port;
  REQUIRE(c.local_interface.assign(interface).ok());
  return c;
}

template <typename T, std::size_t N>
void push(SampledList<T, N>& list, const T& item) {
  REQUIRE(list.count < N);
  list.items[list.count++] = item;
  ++list.total;
}

InterfaceCounters counters(std::string_view name, std::uint64_t bi, std::uint64_t bo, std::uint64_t pi,
                           std::uint64_t po, bool loopback = false) {
  InterfaceCounters c;
  REQUIRE(c.name.assign(name).ok());
  c.bytes_in = bi, c.bytes_out = bo, c.packets_in = pi, c.packets_out = po;
  c.up = true;
  c.loopback = loopback;
  return c;
}

// The device of the developer guide's report examples (detect-device-side-metrics, "Device
// metrics document specification"): the previous snapshot has eth0 at zero, so the deltas are
// the current counters.
struct DocumentedDevice {
  Snapshot previous;
  Snapshot current;
  const double numbers[3] = {1, 2, 3};
  const std::string_view strings[2] = {"value_1", "value_2"};
  const std::string_view ips[2] = {"172.0.0.0", "172.0.0.10"};
  CustomMetric custom[4];

  DocumentedDevice(std::uint64_t bi, std::uint64_t bo, std::uint64_t pi, std::uint64_t po) {
    push(current.tcp_listen, listening(24800, "eth0"));
    push(current.tcp_listen, listening(22, "eth0"));
    push(current.tcp_listen, listening(53, "eth0"));
    push(current.udp_listen, listening(5353, "eth0"));
    push(current.udp_listen, listening(67, "eth0"));
    push(current.connections, connection(IpAddress::v4(192, 168, 0, 1), 8000, 80, "eth0"));
    push(current.connections, connection(IpAddress::v4(192, 168, 0, 1), 8000, 80, "eth0"));
    push(current.interfaces, counters("eth0", bi, bo, pi, po));
    push(previous.interfaces, counters("eth0", 0, 0, 0, 0));
    custom[0] = CustomMetric::number("MyMetricOfType_Number", 1);
    custom[1] = CustomMetric::number_list("MyMetricOfType_NumberList", Span<const double>(numbers, 3));
    custom[2] = CustomMetric::string_list("MyMetricOfType_StringList", Span<const std::string_view>(strings, 2));
    custom[3] = CustomMetric::ip_list("MyMetricOfType_IpList", Span<const std::string_view>(ips, 2));
  }

  ReportInput input(std::int64_t report_id) const {
    ReportInput in;
    in.report_id = report_id;
    in.snapshot = &current;
    in.previous = &previous;
    in.custom = Span<const CustomMetric>(custom, 4);
    return in;
  }
};

// Written by hand from the documented example (long names).
constexpr const char* kDocumentedLong = R"({
  "header": {"report_id": 1530304554, "version": "1.0"},
  "metrics": {
    "listening_tcp_ports": {
      "ports": [{"interface": "eth0", "port": 24800}, {"interface": "eth0", "port": 22},
                {"interface": "eth0", "port": 53}],
      "total": 3},
    "listening_udp_ports": {
      "ports": [{"interface": "eth0", "port": 5353}, {"interface": "eth0", "port": 67}],
      "total": 2},
    "network_stats": {"bytes_in": 29358693495, "bytes_out": 26485035, "packets_in": 10013573555,
                      "packets_out": 11382615},
    "tcp_connections": {"established_connections": {
      "connections": [
        {"local_interface": "eth0", "local_port": 80, "remote_addr": "192.168.0.1:8000"},
        {"local_interface": "eth0", "local_port": 80, "remote_addr": "192.168.0.1:8000"}],
      "total": 2}}},
  "custom_metrics": {
    "MyMetricOfType_Number": [{"number": 1}],
    "MyMetricOfType_NumberList": [{"number_list": [1, 2, 3]}],
    "MyMetricOfType_StringList": [{"string_list": ["value_1", "value_2"]}],
    "MyMetricOfType_IpList": [{"ip_list": ["172.0.0.0", "172.0.0.10"]}]}
})";

// Written by hand from the documented example (short names; custom metric names and type keys
// are not shortened).
constexpr const char* kDocumentedShort = R"({
  "hed": {"rid": 1530305228, "v": "1.0"},
  "met": {
    "tp": {"pts": [{"if": "eth0", "pt": 24800}, {"if": "eth0", "pt": 22}, {"if": "eth0", "pt": 53}], "t": 3},
    "up": {"pts": [{"if": "eth0", "pt": 5353}, {"if": "eth0", "pt": 67}], "t": 2},
    "ns": {"bi": 29359307173, "bo": 26490711, "pi": 10014614051, "po": 11387620},
    "tc": {"ec": {"cs": [{"li": "eth0", "lp": 80, "rad": "192.168.0.1:8000"},
                         {"li": "eth0", "lp": 80, "rad": "192.168.0.1:8000"}], "t": 2}}},
  "cmet": {
    "MyMetricOfType_Number": [{"number": 1}],
    "MyMetricOfType_NumberList": [{"number_list": [1, 2, 3]}],
    "MyMetricOfType_StringList": [{"string_list": ["value_1", "value_2"]}],
    "MyMetricOfType_IpList": [{"ip_list": ["172.0.0.0", "172.0.0.10"]}]}
})";

Status validate(const CustomMetric& m, std::string* why_text = nullptr) {
  ErrorText why;
  const Status s = validate_custom_metric(m, &why);
  if (why_text != nullptr) *why_text = std::string(why.view());
  return s;
}

}  // namespace

TEST_CASE("metrics report: the documented long-key example is written as documented") {
  const DocumentedDevice device(29358693495, 26485035, 10013573555, 11382615);
  const std::string report = encode(device.input(1530304554), ReportFormat::kJsonLong);
  CHECK(canonical_json(report) == canonical_json(kDocumentedLong));
}

TEST_CASE("metrics report: the documented short-key example is written as documented") {
  const DocumentedDevice device(29359307173, 26490711, 10014614051, 11387620);
  const std::string report = encode(device.input(1530305228), ReportFormat::kJsonShort);
  CHECK(canonical_json(report) == canonical_json(kDocumentedShort));
}

TEST_CASE("metrics report: formats, topic suffixes and names") {
  CHECK(topic_suffix(ReportFormat::kJsonLong) == "json");
  CHECK(topic_suffix(ReportFormat::kJsonShort) == "json");
  CHECK(topic_suffix(ReportFormat::kCbor) == "cbor");
  CHECK(std::string(to_string(ReportFormat::kJsonLong)) == "json-long");
  CHECK(std::string(to_string(ReportFormat::kJsonShort)) == "json-short");
  CHECK(std::string(to_string(ReportFormat::kCbor)) == "cbor");
  CHECK(std::string(to_string(CustomMetric::Type::kIpList)) == "ip_list");
#if defined(TETHER_HAVE_LIBCBOR)
  CHECK(cbor_reports_available());
#else
  CHECK_FALSE(cbor_reports_available());
#endif
}

TEST_CASE("metrics report: IPv6 remote addresses are written as [addr]:port and mapped IPv4 as IPv4") {
  Snapshot s;
  std::array<std::uint8_t, 16> v6{0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x01};
  std::array<std::uint8_t, 16> mapped{0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 192, 0, 2, 7};
  push(s.connections, connection(IpAddress::v6(v6), 443, 50000, "wlan0"));
  push(s.connections, connection(IpAddress::v6(mapped), 8883, 50001, "wlan0"));
  ReportInput in;
  in.report_id = 7;
  in.snapshot = &s;
  const std::string report = encode(in, ReportFormat::kJsonLong);
  CHECK(canonical_json(report) == canonical_json(R"({"header": {"report_id": 7, "version": "1.0"}, "metrics": {
      "listening_tcp_ports": {"ports": [], "total": 0}, "listening_udp_ports": {"ports": [], "total": 0},
      "tcp_connections": {"established_connections": {"connections": [
        {"remote_addr": "[2001:db8::1]:443", "local_port": 50000, "local_interface": "wlan0"},
        {"remote_addr": "192.0.2.7:8883", "local_port": 50001, "local_interface": "wlan0"}], "total": 2}}}})"));
}

TEST_CASE("metrics report: interface fields are left out when the snapshot has no name for them") {
  Snapshot s;
  push(s.tcp_listen, listening(22));
  push(s.udp_listen, listening(68, "eth0"));
  push(s.connections, connection(IpAddress::v4(198, 51, 100, 2), 443, 40000));
  ReportInput in;
  in.report_id = 1;
  in.snapshot = &s;
  const std::string report = encode(in, ReportFormat::kJsonShort);
  CHECK(canonical_json(report) == canonical_json(R"({"hed": {"rid": 1, "v": "1.0"}, "met": {
      "tp": {"pts": [{"pt": 22}], "t": 1}, "up": {"pts": [{"pt": 68, "if": "eth0"}], "t": 1},
      "tc": {"ec": {"cs": [{"rad": "198.51.100.2:443", "lp": 40000}], "t": 1}}}})"));
  CHECK(report.find("\"if\":\"\"") == std::string::npos);
  CHECK(report.find("\"li\"") == std::string::npos);
}

TEST_CASE("metrics report: lists are written as sampled and total is the exact count") {
  Snapshot s;
  push(s.tcp_listen, listening(22, "eth0"));
  push(s.tcp_listen, listening(443, "eth0"));
  s.tcp_listen.total = 130;  // the source saw 130 and kept a sample of 2
  push(s.connections, connection(IpAddress::v4(203, 0, 113, 9), 443, 50000, "eth0"));
  s.connections.total = 1000;
  ReportInput in;
  in.report_id = 99;
  in.snapshot = &s;
  const std::string report = encode(in, ReportFormat::kJsonLong);
  CHECK(canonical_json(report) == canonical_json(R"({"header": {"report_id": 99, "version": "1.0"}, "metrics": {
      "listening_tcp_ports": {"ports": [{"port": 22, "interface": "eth0"}, {"port": 443, "interface": "eth0"}],
                              "total": 130},
      "listening_udp_ports": {"ports": [], "total": 0},
      "tcp_connections": {"established_connections": {"connections": [
        {"remote_addr": "203.0.113.9:443", "local_port": 50000, "local_interface": "eth0"}], "total": 1000}}}})"));
}

TEST_CASE("metrics report: a report without a previous snapshot has no network_stats") {
  Snapshot s;
  push(s.interfaces, counters("eth0", 1000, 2000, 10, 20));
  ReportInput in;
  in.report_id = 1;
  in.snapshot = &s;
  const std::string report = encode(in, ReportFormat::kJsonLong);
  CHECK(report.find("network_stats") == std::string::npos);
  CHECK(report.find("listening_tcp_ports") != std::string::npos);
}

TEST_CASE("metrics deltas: interfaces in both snapshots contribute the difference, loopback none") {
  Snapshot before, after;
  push(before.interfaces, counters("lo", 100, 100, 1, 1, true));
  push(before.interfaces, counters("eth0", 1000, 500, 10, 5));
  push(before.interfaces, counters("wlan0", 7, 7, 7, 7));
  push(after.interfaces, counters("lo", 900000, 900000, 900, 900, true));
  push(after.interfaces, counters("eth0", 1600, 800, 16, 8));
  push(after.interfaces, counters("wlan0", 10, 9, 8, 7));
  const NetworkTotals d = network_delta(before, after);
  CHECK(d.bytes_in == 600 + 3);
  CHECK(d.bytes_out == 300 + 2);
  CHECK(d.packets_in == 6 + 1);
  CHECK(d.packets_out == 3 + 0);
}

TEST_CASE("metrics deltas: an interface whose counters went down contributes its current counters") {
  Snapshot before, after;
  push(before.interfaces, counters("eth0", 5000000, 4000000, 5000, 4000));
  push(before.interfaces, counters("eth1", 100, 100, 10, 10));
  push(after.interfaces, counters("eth0", 1200, 900, 12, 9));  // driver reset
  // Only bytes_in went down: the interface was re-created, all four counters count from then.
  push(after.interfaces, counters("eth1", 50, 300, 30, 30));
  const NetworkTotals d = network_delta(before, after);
  CHECK(d == NetworkTotals{1200 + 50, 900 + 300, 12 + 30, 9 + 30});
}

TEST_CASE("metrics deltas: an interface new since the previous snapshot contributes its current counters") {
  Snapshot before, after;
  push(before.interfaces, counters("eth0", 100, 100, 1, 1));
  push(after.interfaces, counters("eth0", 150, 120, 2, 3));
  push(after.interfaces, counters("usb0", 40, 30, 4, 3));  // plugged in between the reports
  CHECK(network_delta(before, after) == NetworkTotals{50 + 40, 20 + 30, 1 + 4, 2 + 3});

  SECTION("unless the previous snapshot dropped interfaces: then its baseline is unknown") {
    before.interfaces.total = 40;  // the source saw 40 interfaces and kept 1
    CHECK(network_delta(before, after) == NetworkTotals{50, 20, 1, 2});
  }
}

TEST_CASE("metrics deltas: interfaces gone, duplicates and saturation") {
  Snapshot before, after;
  push(before.interfaces, counters("ppp0", 100, 100, 1, 1));  // gone: contributes nothing
  push(before.interfaces, counters("eth0", 10, 10, 1, 1));
  push(after.interfaces, counters("eth0", 20, 30, 2, 3));
  push(after.interfaces, counters("eth0", 999, 999, 99, 99));  // a second entry of a name: ignored
  push(after.interfaces, counters("big0", UINT64_MAX - 1, 1, 1, 1));
  push(after.interfaces, counters("big1", UINT64_MAX - 1, 1, 1, 1));
  const NetworkTotals d = network_delta(before, after);
  CHECK(d.bytes_in == UINT64_MAX);
  CHECK(d.bytes_out == 20 + 1 + 1);
  CHECK(d.packets_in == 1 + 1 + 1);
  CHECK(d.packets_out == 2 + 1 + 1);
}

TEST_CASE("metrics report: network_stats carries the deltas between the two snapshots") {
  Snapshot before, after;
  push(before.interfaces, counters("eth0", 1000, 2000, 10, 20));
  push(before.interfaces, counters("lo", 1, 1, 1, 1, true));
  push(after.interfaces, counters("eth0", 1500, 2100, 15, 21));
  push(after.interfaces, counters("lo", 9999, 9999, 99, 99, true));
  ReportInput in;
  in.report_id = 2;
  in.snapshot = &after;
  in.previous = &before;
  const std::string report = encode(in, ReportFormat::kJsonShort);
  CHECK(canonical_json(report) == canonical_json(R"({"hed": {"rid": 2, "v": "1.0"}, "met": {
      "tp": {"pts": [], "t": 0}, "up": {"pts": [], "t": 0},
      "ns": {"bi": 500, "bo": 100, "pi": 5, "po": 1},
      "tc": {"ec": {"cs": [], "t": 0}}}})"));
}

TEST_CASE("custom metrics: names are 1..128 characters of a-z A-Z 0-9 : _ - and do not start with aws:") {
  const std::string longest(kMaxCustomMetricName, 'n');
  const std::string too_long(kMaxCustomMetricName + 1, 'n');
  CHECK(validate(CustomMetric::number(longest, 1)).ok());
  CHECK(validate(CustomMetric::number("a:B_c-9", 1)).ok());
  CHECK(validate(CustomMetric::number("x", 1)).ok());
  CHECK(validate(CustomMetric::number("awsome", 1)).ok());

  std::string why;
  const Status empty = validate(CustomMetric::number("", 1), &why);
  CHECK(empty == Status(StatusCode::kInvalidArgument, Origin::kMetrics, 0));
  CHECK(why == "custom metric name is empty (1..128 characters of a-z A-Z 0-9 : _ -)");

  CHECK(validate(CustomMetric::number(too_long, 1), &why) == Status(StatusCode::kInvalidArgument, Origin::kMetrics, 0));
  CHECK(why.find("is 129 characters long (at most 128)") != std::string::npos);

  CHECK(validate(CustomMetric::number("cpu load", 1), &why) == Status(StatusCode::kInvalidArgument, Origin::kMetrics, 0));
  CHECK(why == "custom metric name \"cpu load\" has character 0x20 at offset 3 (allowed: a-z A-Z 0-9 : _ -)");
  CHECK(validate(CustomMetric::number("temp.c", 1), &why).code() == StatusCode::kInvalidArgument);
  CHECK(why.find("0x2e at offset 4") != std::string::npos);

  CHECK(validate(CustomMetric::number("aws:cpu", 1), &why) == Status(StatusCode::kInvalidArgument, Origin::kMetrics, 0));
  CHECK(why == "custom metric name \"aws:cpu\" starts with \"aws:\", which is reserved for AWS metrics");
}

TEST_CASE("custom metrics: numbers are finite with at most 15 significant digits") {
  CHECK(validate(CustomMetric::number("n", 0.1)).ok());
  CHECK(validate(CustomMetric::number("n", -42)).ok());
  CHECK(validate(CustomMetric::number("n", 123456789012345.0)).ok());  // 15 digits
  CHECK(validate(CustomMetric::number("n", 1e300)).ok());
  CHECK(validate(CustomMetric::number("n", -2.5e-300)).ok());

  std::string why;
  CHECK(validate(CustomMetric::number("n", 1234567890123456.0), &why) ==
        Status(StatusCode::kInvalidArgument, Origin::kMetrics, 1));
  CHECK(why ==
        "custom metric \"n\": number = 1234567890123456 has more than 15 significant digits (the service keeps "
        "numbers of at most 15 digits)");
  CHECK(validate(CustomMetric::number("n", 0.1 + 0.2), &why).code() == StatusCode::kInvalidArgument);
  CHECK(why.find("number = 0.30000000000000004 has more than 15") != std::string::npos);
  CHECK(validate(CustomMetric::number("n", 9007199254740993.0), &why).code() == StatusCode::kInvalidArgument);

  CHECK(validate(CustomMetric::number("n", std::nan("")), &why) == Status(StatusCode::kInvalidArgument, Origin::kMetrics, 1));
  CHECK(why == "custom metric \"n\": number = nan is not a finite number");
  CHECK(validate(CustomMetric::number("n", -HUGE_VAL), &why).code() == StatusCode::kInvalidArgument);
  CHECK(why == "custom metric \"n\": number = -inf is not a finite number");

  const double list[] = {1, 2.5, INFINITY, 4};
  CHECK(validate(CustomMetric::number_list("fans", Span<const double>(list, 4)), &why) ==
        Status(StatusCode::kInvalidArgument, Origin::kMetrics, 3));
  CHECK(why == "custom metric \"fans\": number_list[2] = inf is not a finite number");
  CHECK(validate(CustomMetric::number_list("fans", Span<const double>(list, 2))).ok());
  CHECK(validate(CustomMetric::number_list("fans", Span<const double>())).ok());  // empty lists conform
}

TEST_CASE("custom metrics: string_list items are 1 or more of A-Z a-z 0-9 : _ - / .") {
  const std::string_view good[] = {"value_1", "a:b/c.d-e", "Z", "/dev/ttyAMA0"};
  CHECK(validate(CustomMetric::string_list("s", Span<const std::string_view>(good, 4))).ok());

  std::string why;
  const std::string_view space[] = {"ok", "two words"};
  CHECK(validate(CustomMetric::string_list("modes", Span<const std::string_view>(space, 2)), &why) ==
        Status(StatusCode::kInvalidArgument, Origin::kMetrics, 2));
  CHECK(why ==
        "custom metric \"modes\": string_list[1] \"two words\" has character 0x20 at offset 3 (allowed: A-Z a-z 0-9 : "
        "_ - / .)");
  const std::string_view empty[] = {""};
  CHECK(validate(CustomMetric::string_list("modes", Span<const std::string_view>(empty, 1)), &why) ==
        Status(StatusCode::kInvalidArgument, Origin::kMetrics, 1));
  CHECK(why == "custom metric \"modes\": string_list[0] is empty (at least one character)");
  const std::string_view utf8[] = {"caf\xc3\xa9"};
  CHECK(validate(CustomMetric::string_list("modes", Span<const std::string_view>(utf8, 1)), &why).code() ==
        StatusCode::kInvalidArgument);
  CHECK(why.find("\"caf??\" has character 0xc3 at offset 3") != std::string::npos);
  const std::string long_item(100, '!');
  const std::string_view long_bad[] = {long_item};
  CHECK(validate(CustomMetric::string_list("modes", Span<const std::string_view>(long_bad, 1)), &why).code() ==
        StatusCode::kInvalidArgument);
  CHECK(why.find("\"!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!...\"") != std::string::npos);  // quoted, cut
}

TEST_CASE("custom metrics: ip_list items are IPv4 or IPv6 addresses") {
  const std::string_view good[] = {"192.0.2.1", "2001:db8::1", "::", "::ffff:198.51.100.3"};
  CHECK(validate(CustomMetric::ip_list("peers", Span<const std::string_view>(good, 4))).ok());
  std::string why;
  const std::string_view bad[] = {"192.0.2.1", "192.0.2"};
  CHECK(validate(CustomMetric::ip_list("peers", Span<const std::string_view>(bad, 2)), &why) ==
        Status(StatusCode::kInvalidArgument, Origin::kMetrics, 2));
  CHECK(why == "custom metric \"peers\": ip_list[1] \"192.0.2\" is not an IPv4 or IPv6 address");
  for (std::string_view text : {"", "192.0.2.1:80", "01.2.3.4", "2001:db8::1::2", "example.com", "192.0.2.0/24"}) {
    const std::string_view one[] = {text};
    INFO(text);
    CHECK(validate(CustomMetric::ip_list("peers", Span<const std::string_view>(one, 1))).code() ==
          StatusCode::kInvalidArgument);
  }
}

TEST_CASE("metrics report: an invalid custom metric is refused and named") {
  const double bad[] = {1, NAN};
  const CustomMetric metrics[] = {CustomMetric::number("ok", 1),
                                  CustomMetric::number_list("temps", Span<const double>(bad, 2))};
  ReportInput in;
  in.report_id = 5;
  in.custom = Span<const CustomMetric>(metrics, 2);
  std::uint8_t buf[512];
  ErrorText why;
  const Result<Span<std::uint8_t>> r = encode_report(in, ReportFormat::kJsonLong, Span<std::uint8_t>(buf, sizeof buf), &why);
  CHECK(r.status() == Status(StatusCode::kInvalidArgument, Origin::kMetrics, 2));
  CHECK(why.view() == "custom metric \"temps\": number_list[1] = nan is not a finite number");

  const CustomMetric twice[] = {CustomMetric::number("cpu", 1), CustomMetric::number("mem", 2),
                                CustomMetric::number("cpu", 3)};
  in.custom = Span<const CustomMetric>(twice, 3);
  CHECK(encode_report(in, ReportFormat::kJsonShort, Span<std::uint8_t>(buf, sizeof buf), &why).status() ==
        Status(StatusCode::kInvalidArgument, Origin::kMetrics, 0));
  CHECK(why.view() == "metrics report: custom metric \"cpu\" appears twice (custom metrics 0 and 2)");
}

TEST_CASE("metrics report: a report of custom metrics only has no metrics block") {
  const double loads[] = {0.25, 1.5, -3};
  const CustomMetric metrics[] = {CustomMetric::number("battery", 87),
                                  CustomMetric::number_list("load", Span<const double>(loads, 3))};
  ReportInput in;
  in.report_id = 1700000000;
  in.custom = Span<const CustomMetric>(metrics, 2);
  CHECK(canonical_json(encode(in, ReportFormat::kJsonShort)) ==
        canonical_json(R"({"hed": {"rid": 1700000000, "v": "1.0"},
            "cmet": {"battery": [{"number": 87}], "load": [{"number_list": [0.25, 1.5, -3]}]}})"));
}

TEST_CASE("metrics report: bad input is refused with an explanation") {
  std::uint8_t buf[1024];
  const Span<std::uint8_t> out(buf, sizeof buf);
  ErrorText why;
  Snapshot s;
  ReportInput in;
  in.snapshot = &s;

  in.report_id = 0;
  CHECK(encode_report(in, ReportFormat::kJsonLong, out, &why).status() ==
        Status(StatusCode::kInvalidArgument, Origin::kMetrics, 0));
  CHECK(why.view() == "metrics report: report_id 0 is not positive");
  in.report_id = -5;
  CHECK(encode_report(in, ReportFormat::kJsonLong, out, &why).status().code() == StatusCode::kInvalidArgument);

  ReportInput nothing;
  nothing.report_id = 3;
  CHECK(encode_report(nothing, ReportFormat::kJsonLong, out, &why).status() ==
        Status(StatusCode::kInvalidArgument, Origin::kMetrics, 0));
  CHECK(why.view() == "metrics report 3: nothing to report (no snapshot and no custom metrics)");

  in.report_id = 4;
  push(s.udp_listen, listening(0, "eth0"));
  CHECK(encode_report(in, ReportFormat::kJsonLong, out, &why).status() ==
        Status(StatusCode::kInvalidArgument, Origin::kMetrics, 0));
  CHECK(why.view() == "metrics report: listening_udp_ports[0] has port 0 (the service takes ports > 0)");
  s.udp_listen.clear();

  push(s.connections, connection(IpAddress(), 443, 1000));
  CHECK(encode_report(in, ReportFormat::kJsonLong, out, &why).status().code() == StatusCode::kInvalidArgument);
  CHECK(why.view() == "metrics report: connections[0] has no remote address");
  s.connections.clear();

  push(s.tcp_listen, listening(22, "eth\xff"));
  CHECK(encode_report(in, ReportFormat::kJsonLong, out, &why).status().code() == StatusCode::kInvalidArgument);
  CHECK(why.view() == "metrics report: listening_tcp_ports[0] has an interface name that is not UTF-8 (byte 3)");
  s.tcp_listen.clear();

  push(s.connections, connection(IpAddress::v4(192, 0, 2, 1), 443, 1000, std::string_view("et\0h", 4)));
  CHECK(encode_report(in, ReportFormat::kJsonLong, out, &why).status().code() == StatusCode::kInvalidArgument);
  CHECK(why.view() == "metrics report: connections[0] has an interface name with control character 0x00 (byte 2)");
}

TEST_CASE("metrics report: a buffer too small at any size is refused and never overrun") {
  const DocumentedDevice device(29358693495, 26485035, 10013573555, 11382615);
  const ReportInput in = device.input(1530304554);
  const ReportFormat formats[] = {ReportFormat::kJsonLong, ReportFormat::kJsonShort, ReportFormat::kCbor};
  for (ReportFormat format : formats) {
    if (format == ReportFormat::kCbor && !cbor_reports_available()) continue;
    INFO(to_string(format));
    const std::string full = encode(in, format);
    constexpr std::size_t kGuard = 64;
    constexpr std::uint8_t kPattern = 0xA5;
    std::vector<std::uint8_t> buf(full.size() + kGuard);
    for (std::size_t size = 0; size <= full.size(); ++size) {
      std::fill(buf.begin(), buf.end(), kPattern);
      ErrorText why;
      const Result<Span<std::uint8_t>> r = encode_report(in, format, Span<std::uint8_t>(buf.data(), size), &why);
      INFO("size " << size);
      if (size < full.size()) {
        REQUIRE(r.status() == Status(StatusCode::kResourceExhausted, Origin::kMetrics, 0));
        CHECK(why.view() == "metrics report 1530304554 does not fit in " + std::to_string(size) + " bytes");
      } else {
        REQUIRE(r.ok());
        CHECK(std::string(reinterpret_cast<const char*>(r.value().data()), r.value().size()) == full);
      }
      for (std::size_t i = size; i < buf.size(); ++i) REQUIRE(buf[i] == kPattern);
    }
  }
}

#if defined(TETHER_HAVE_LIBCBOR)
namespace {

// The canonical form of a decoded CBOR item (the same form as canonical() for JSON).
std::string canonical_cbor(const cbor_item_t* item, std::string* errors) {
  switch (cbor_typeof(item)) {
    case CBOR_TYPE_UINT: {
      const std::uint64_t v = cbor_get_int(item);
      return v < (1ull << 53) ? std::to_string(v) : number_text(static_cast<double>(v));
    }
    case CBOR_TYPE_NEGINT: {
      const std::uint64_t n = cbor_get_int(item);  // the value is -1 - n
      return n < (1ull << 53) ? std::to_string(-1 - static_cast<long long>(n))
                              : number_text(-1.0 - static_cast<double>(n));
    }
    case CBOR_TYPE_STRING:
      if (!cbor_string_is_definite(item)) *errors += "indefinite string;";
      return "\"" + std::string(reinterpret_cast<const char*>(cbor_string_handle(item)), cbor_string_length(item)) +
             "\"";
    case CBOR_TYPE_ARRAY: {
      if (!cbor_array_is_definite(item)) *errors += "indefinite array;";
      std::string out = "[";
      for (std::size_t i = 0; i < cbor_array_size(item); ++i) {
        out += (i ? "," : "") + canonical_cbor(cbor_array_handle(item)[i], errors);
      }
      return out + "]";
    }
    case CBOR_TYPE_MAP: {
      if (!cbor_map_is_definite(item)) *errors += "indefinite map;";
      std::map<std::string, std::string> members;
      const cbor_pair* pairs = cbor_map_handle(item);
      for (std::size_t i = 0; i < cbor_map_size(item); ++i) {
        if (!cbor_isa_string(pairs[i].key)) *errors += "non-string key;";
        const std::string key(reinterpret_cast<const char*>(cbor_string_handle(pairs[i].key)),
                              cbor_string_length(pairs[i].key));
        if (members.count(key) != 0) *errors += "duplicate key " + key + ";";
        members[key] = canonical_cbor(pairs[i].value, errors);
      }
      std::string out = "{";
      for (const auto& [k, val] : members) out += (out.size() > 1 ? "," : "") + ("\"" + k + "\":" + val);
      return out + "}";
    }
    case CBOR_TYPE_FLOAT_CTRL: {
      if (!cbor_float_ctrl_is_ctrl(item)) {
        const double v = cbor_float_get_float(item);
        // Integral values that fit an int64 must be CBOR integers.
        if (std::trunc(v) == v && std::fabs(v) < 9223372036854775808.0) *errors += "integral float " + number_text(v) + ";";
        return number_text(v);
      }
      *errors += "control value;";
      return "?";
    }
    default:
      *errors += "unexpected type;";
      return "?";
  }
}

std::string decode_cbor(const std::string& bytes, std::string* errors) {
  cbor_load_result result;
  cbor_item_t* item = cbor_load(reinterpret_cast<const unsigned char*>(bytes.data()), bytes.size(), &result);
  if (item == nullptr) {
    *errors += "does not decode;";
    return {};
  }
  if (result.read != bytes.size()) *errors += "trailing bytes;";
  std::string out = canonical_cbor(item, errors);
  cbor_decref(&item);
  return out;
}

}  // namespace

TEST_CASE("metrics report: CBOR decodes with libcbor to the short-key JSON of the same report") {
  const DocumentedDevice device(29358693495, 26485035, 10013573555, 11382615);
  const double odd[] = {2.5, -7, 0.1, 1e300, -1e18, 65536};
  const std::string_view hosts[] = {"2001:db8::5"};
  CustomMetric custom[] = {device.custom[0], device.custom[1], device.custom[2], device.custom[3],
                           CustomMetric::number_list("odd", Span<const double>(odd, 6)),
                           CustomMetric::number("negative", -123456), CustomMetric::ip_list("v6", Span<const std::string_view>(hosts, 1))};
  Snapshot current = device.current;
  std::array<std::uint8_t, 16> v6{0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x09};
  push(current.connections, connection(IpAddress::v6(v6), 443, 51000));
  push(current.tcp_listen, listening(8080));
  ReportInput in = device.input(1530304554);
  in.snapshot = &current;
  in.custom = Span<const CustomMetric>(custom, 7);

  const std::string cbor = encode(in, ReportFormat::kCbor);
  const std::string json_short = encode(in, ReportFormat::kJsonShort);
  std::string errors;
  CHECK(decode_cbor(cbor, &errors) == canonical_json(json_short));
  INFO(errors);
  CHECK(errors.empty());
  CHECK(cbor.size() < json_short.size());
}

TEST_CASE("metrics report: CBOR numbers are integers when integral and the smallest exact float otherwise") {
  const double values[] = {3, -7, 2.5, 0.1, 1e18};
  const CustomMetric metric[] = {CustomMetric::number_list("v", Span<const double>(values, 5))};
  ReportInput in;
  in.report_id = 1;
  in.custom = Span<const CustomMetric>(metric, 1);
  const std::string bytes = encode(in, ReportFormat::kCbor);
  cbor_load_result result;
  cbor_item_t* root = cbor_load(reinterpret_cast<const unsigned char*>(bytes.data()), bytes.size(), &result);
  REQUIRE(root != nullptr);
  // root {"hed": ..., "cmet": {"v": [{"number_list": [...]}]}}
  const cbor_item_t* list = nullptr;
  for (std::size_t i = 0; i < cbor_map_size(root); ++i) {
    const cbor_pair& p = cbor_map_handle(root)[i];
    if (std::string(reinterpret_cast<const char*>(cbor_string_handle(p.key)), cbor_string_length(p.key)) == "cmet") {
      const cbor_item_t* arr = cbor_map_handle(p.value)[0].value;
      list = cbor_map_handle(cbor_array_handle(arr)[0])[0].value;
    }
  }
  REQUIRE(list != nullptr);
  REQUIRE(cbor_array_size(list) == 5);
  const cbor_item_t* const* items = cbor_array_handle(list);
  CHECK(cbor_isa_uint(items[0]));
  CHECK(cbor_get_int(items[0]) == 3);
  CHECK(cbor_isa_negint(items[1]));
  CHECK(cbor_get_int(items[1]) == 6);  // -1 - 6 = -7
  CHECK(cbor_isa_float_ctrl(items[2]));
  CHECK(cbor_float_get_width(items[2]) == CBOR_FLOAT_32);  // 2.5 is exact in a float
  CHECK(cbor_float_get_width(items[3]) == CBOR_FLOAT_64);  // 0.1 is not
  CHECK(cbor_float_get_float(items[3]) == 0.1);
  CHECK(cbor_isa_uint(items[4]));
  CHECK(cbor_get_int(items[4]) == 1000000000000000000ull);
  cbor_decref(&root);
}
#else
TEST_CASE("metrics report: CBOR is refused with kUnimplemented in a build without libcbor") {
  Snapshot s;
  ReportInput in;
  in.report_id = 1;
  in.snapshot = &s;
  std::uint8_t buf[256];
  ErrorText why;
  CHECK(encode_report(in, ReportFormat::kCbor, Span<std::uint8_t>(buf, sizeof buf), &why).status() ==
        Status(StatusCode::kUnimplemented, Origin::kMetrics, 0));
  CHECK(why.view() == "metrics report: this build has no libcbor, so no CBOR reports (use JSON)");
}
#endif
