// Copyright 2026 The Tether Authors. SPDX-License-Identifier: Apache-2.0
// The Device Defender report codec: one walk over the report (write_report) driven into a JSON
// sink (json::Writer) or a CBOR sink (libcbor's streaming encoders, no heap).
//
// Keys: the long and short names of the developer guide's "Device metrics document
// specification" (detect-device-side-metrics; PROTOCOLS.md §4). CBOR reports use the short names,
// as the AWS embedded Defender library that publishes CBOR does by default: amazon-freertos
// libraries/c_sdk/aws/defender (src/private/aws_iot_defender_internal.h: format CBOR,
// AWS_IOT_DEFENDER_USE_LONG_TAG defaults to 0, "use short tag to reduce network transmit cost";
// include/aws_iot_defender_schema_v1.h: "hed"/"rid"/"v"/"met"/"tc"/"ec"/"t"/"cs"/"rad"). The
// Python reference agent writes CBOR with either key set; the service reads both.

#include "tether/metrics/report.hpp"

#include <cmath>
#include <cstdio>
#include <cstring>

#include "tether/decimal.hpp"
#include "tether/json.hpp"
#include "tether/utf8.hpp"

#if defined(TETHER_HAVE_LIBCBOR)
#include <cbor.h>
#endif

namespace tether::metrics {
namespace {

struct Keys {
  std::string_view header, report_id, version, metrics, custom_metrics;
  std::string_view tcp_connections, established_connections, connections, remote_addr, local_port, local_interface;
  std::string_view total, listening_tcp_ports, listening_udp_ports, ports, port, interface;
  std::string_view network_stats, bytes_in, bytes_out, packets_in, packets_out;
};

constexpr Keys kLongKeys{"header",          "report_id",     "version",
                         "metrics",         "custom_metrics", "tcp_connections",
                         "established_connections", "connections", "remote_addr",
                         "local_port",      "local_interface", "total",
                         "listening_tcp_ports", "listening_udp_ports", "ports",
                         "port",            "interface",     "network_stats",
                         "bytes_in",        "bytes_out",     "packets_in",
                         "packets_out"};
constexpr Keys kShortKeys{"hed", "rid", "v",  "met", "cmet", "tc", "ec", "cs", "rad", "lp", "li", "t",
                          "tp",  "up",  "pts", "pt", "if",   "ns", "bi", "bo", "pi",  "po"};

constexpr double kMaxExactJsonInteger = 9007199254740992.0;  // 2^53

Status exhausted() { return Status(StatusCode::kResourceExhausted, Origin::kMetrics); }
Status invalid(std::uint16_t detail = 0) { return Status(StatusCode::kInvalidArgument, Origin::kMetrics, detail); }

// ------------------------------------------------------------------------------------------ sinks

// JSON through json::Writer (counts given to begin_* are for CBOR's definite lengths).
class JsonSink {
 public:
  explicit JsonSink(Span<std::uint8_t> out)
      : writer_(Span<char>(reinterpret_cast<char*>(out.data()), out.size())) {}

  void begin_object(std::size_t) { writer_.begin_object(); }
  void end_object() { writer_.end_object(); }
  void begin_array(std::size_t) { writer_.begin_array(); }
  void end_array() { writer_.end_array(); }
  void key(std::string_view k) { writer_.key(k); }
  void string(std::string_view s) { writer_.string(s); }
  void integer(std::int64_t v) { writer_.number(v); }
  void count(std::uint64_t v) {
    writer_.number(static_cast<std::int64_t>(v > static_cast<std::uint64_t>(INT64_MAX) ? INT64_MAX : v));
  }
  void real(double v) {
    // Integral values within the exact range as integers ("3", not "3.0" or "3e+00").
    if (json::whole_number_within(v, kMaxExactJsonInteger)) {
      writer_.number(static_cast<std::int64_t>(v));
    } else {
      writer_.number(v);
    }
  }
  Result<std::size_t> finish() {
    const Result<std::string_view> doc = writer_.finish();
    if (doc.ok()) return doc.value().size();
    if (doc.status().code() == StatusCode::kResourceExhausted) return exhausted();
    return Status(StatusCode::kInternal, Origin::kMetrics, doc.status().detail());
  }

 private:
  json::Writer writer_;
};

#if defined(TETHER_HAVE_LIBCBOR)
// CBOR (RFC 8949) with definite lengths, written by libcbor's cbor_encode_* functions, which
// return 0 when the rest of the buffer is too small. Errors are sticky.
class CborSink {
 public:
  explicit CborSink(Span<std::uint8_t> out) : out_(out) {}

  void begin_object(std::size_t members) { put(cbor_encode_map_start(members, at(), room())); }
  void end_object() {}
  void begin_array(std::size_t items) { put(cbor_encode_array_start(items, at(), room())); }
  void end_array() {}
  void key(std::string_view k) { string(k); }
  void string(std::string_view s) {
    put(cbor_encode_string_start(s.size(), at(), room()));
    if (full_ || s.size() > room()) {
      full_ = true;
      return;
    }
    if (!s.empty()) std::memcpy(at(), s.data(), s.size());
    used_ += s.size();
  }
  void integer(std::int64_t v) {
    if (v >= 0) {
      put(cbor_encode_uint(static_cast<std::uint64_t>(v), at(), room()));
    } else {
      // -1 - v without overflow: major type 1 carries -1 - n.
      put(cbor_encode_negint(static_cast<std::uint64_t>(-(v + 1)), at(), room()));
    }
  }
  void count(std::uint64_t v) { put(cbor_encode_uint(v, at(), room())); }
  void real(double v) {
    // Integers as CBOR integers; other numbers as the shorter float that holds them exactly.
    if (json::whole_number_within(v, json::kMaxInt64Double)) {
      integer(static_cast<std::int64_t>(v));
    } else if (static_cast<double>(static_cast<float>(v)) == v) {
      put(cbor_encode_single(static_cast<float>(v), at(), room()));
    } else {
      put(cbor_encode_double(v, at(), room()));
    }
  }
  Result<std::size_t> finish() const {
    if (full_) return exhausted();
    return used_;
  }

 private:
  unsigned char* at() const { return room() == 0 ? nullptr : out_.data() + used_; }
  std::size_t room() const { return full_ ? 0 : out_.size() - used_; }
  void put(std::size_t written) {
    if (full_) return;
    if (written == 0) {
      full_ = true;
      return;
    }
    used_ += written;
  }

  Span<std::uint8_t> out_;
  std::size_t used_ = 0;
  bool full_ = false;
};
#endif

// ------------------------------------------------------------------------------------ the report

template <typename Sink>
void write_ports(Sink& out, const Keys& k, std::string_view section, const SampledList<ListeningPort, kMaxPorts>& list) {
  out.key(section);
  out.begin_object(2);
  out.key(k.ports);
  out.begin_array(list.size());
  for (const ListeningPort& p : list.view()) {
    out.begin_object(p.interface.empty() ? 1 : 2);
    out.key(k.port);
    out.integer(p.port);
    if (!p.interface.empty()) {
      out.key(k.interface);
      out.string(p.interface.view());
    }
    out.end_object();
  }
  out.end_array();
  out.key(k.total);
  out.count(list.total);
  out.end_object();
}

// "192.0.2.1:443" or "[2001:db8::1]:443" (the form of the Python reference agent), IPv4-mapped
// IPv6 addresses as IPv4. Enough room: "[" 45 "]:" 5.
std::string_view remote_addr_text(const Connection& c, char (&buf)[kMaxAddressText + 8]) {
  char ip[kMaxAddressText];
  const IpAddress remote = c.remote.unmapped();
  const Result<std::string_view> text = format_address(remote, Span<char>(ip, sizeof ip));
  if (!text.ok()) return {};  // refused by check_input before writing
  const bool v6 = remote.family == IpAddress::Family::kV6;
  const int n = std::snprintf(buf, sizeof buf, v6 ? "[%.*s]:%u" : "%.*s:%u", static_cast<int>(text.value().size()),
                              text.value().data(), static_cast<unsigned>(c.remote_port));
  return n > 0 && static_cast<std::size_t>(n) < sizeof buf ? std::string_view(buf, static_cast<std::size_t>(n))
                                                         : std::string_view();
}

template <typename Sink>
void write_metrics(Sink& out, const Keys& k, const Snapshot& s, const InterfaceList* previous) {
  out.key(k.metrics);
  out.begin_object(previous != nullptr ? 4 : 3);
  write_ports(out, k, k.listening_tcp_ports, s.tcp_listen);
  write_ports(out, k, k.listening_udp_ports, s.udp_listen);
  if (previous != nullptr) {
    const NetworkTotals d = network_delta(*previous, s.interfaces);
    out.key(k.network_stats);
    out.begin_object(4);
    out.key(k.bytes_in);
    out.count(d.bytes_in);
    out.key(k.bytes_out);
    out.count(d.bytes_out);
    out.key(k.packets_in);
    out.count(d.packets_in);
    out.key(k.packets_out);
    out.count(d.packets_out);
    out.end_object();
  }
  out.key(k.tcp_connections);
  out.begin_object(1);
  out.key(k.established_connections);
  out.begin_object(2);
  out.key(k.connections);
  out.begin_array(s.connections.size());
  for (const Connection& c : s.connections.view()) {
    char addr[kMaxAddressText + 8];
    out.begin_object(c.local_interface.empty() ? 2 : 3);
    out.key(k.remote_addr);
    out.string(remote_addr_text(c, addr));
    out.key(k.local_port);
    out.integer(c.local_port);
    if (!c.local_interface.empty()) {
      out.key(k.local_interface);
      out.string(c.local_interface.view());
    }
    out.end_object();
  }
  out.end_array();
  out.key(k.total);
  out.count(s.connections.total);
  out.end_object();
  out.end_object();
  out.end_object();
}

template <typename Sink>
void write_custom(Sink& out, const CustomMetric& m) {
  out.key(m.name);
  out.begin_array(1);  // the value is an array of one object, even for a single number
  out.begin_object(1);
  out.key(to_string(m.type));  // type keys are never shortened
  switch (m.type) {
    case CustomMetric::Type::kNumber:
      out.real(m.value);
      break;
    case CustomMetric::Type::kNumberList:
      out.begin_array(m.numbers.size());
      for (double v : m.numbers) out.real(v);
      out.end_array();
      break;
    case CustomMetric::Type::kStringList:
    case CustomMetric::Type::kIpList:
      out.begin_array(m.texts.size());
      for (std::string_view v : m.texts) out.string(v);
      out.end_array();
      break;
  }
  out.end_object();
  out.end_array();
}

template <typename Sink>
Result<Span<std::uint8_t>> write_report(Sink&& out, const Keys& k, const ReportInput& in, Span<std::uint8_t> buf,
                                        ErrorText* why) {
  const bool custom = !in.custom.empty();
  out.begin_object(1 + (in.snapshot != nullptr ? 1 : 0) + (custom ? 1 : 0));
  out.key(k.header);
  out.begin_object(2);
  out.key(k.report_id);
  out.integer(in.report_id);
  out.key(k.version);
  out.string(kReportVersion);
  out.end_object();
  if (in.snapshot != nullptr) {
    write_metrics(out, k, *in.snapshot, in.previous != nullptr ? &in.previous->interfaces : in.previous_interfaces);
  }
  if (custom) {
    out.key(k.custom_metrics);  // "cmet" in short form; the names inside are never shortened
    out.begin_object(in.custom.size());
    for (const CustomMetric& m : in.custom) write_custom(out, m);
    out.end_object();
  }
  out.end_object();
  const Result<std::size_t> size = out.finish();
  if (!size.ok()) {
    if (size.status().code() == StatusCode::kResourceExhausted) {
      set_error_text(why, "metrics report %s does not fit in %u bytes", Decimal(in.report_id).c_str(),
                     static_cast<unsigned>(buf.size()));
    } else {
      set_error_text(why, "metrics report %s: the encoder failed (a bug)", Decimal(in.report_id).c_str());
    }
    return size.status();
  }
  return buf.subspan(0, size.value());
}

// Interface names are text: UTF-8 without control characters (no Linux interface has them; one
// that does comes from a broken source, and "\u0000" is refused by many JSON readers).
Status check_interface_name(std::string_view name, const char* where, std::size_t index, ErrorText* why) {
  for (std::size_t i = 0; i < name.size(); ++i) {
    const unsigned char c = static_cast<unsigned char>(name[i]);
    if (c < 0x20 || c == 0x7F) {
      set_error_text(why, "metrics report: %s[%u] has an interface name with control character 0x%02x (byte %u)",
                     where, static_cast<unsigned>(index), static_cast<unsigned>(c), static_cast<unsigned>(i));
      return invalid();
    }
  }
  const std::size_t bad = utf8::first_invalid(name);
  if (bad == std::string_view::npos) return ok_status();
  set_error_text(why, "metrics report: %s[%u] has an interface name that is not UTF-8 (byte %u)", where,
                 static_cast<unsigned>(index), static_cast<unsigned>(bad));
  return invalid();
}

Status check_ports(const SampledList<ListeningPort, kMaxPorts>& list, const char* where, ErrorText* why) {
  for (std::size_t i = 0; i < list.size(); ++i) {
    if (list[i].port == 0) {
      set_error_text(why, "metrics report: %s[%u] has port 0 (the service takes ports > 0)", where,
                     static_cast<unsigned>(i));
      return invalid();
    }
    TETHER_RETURN_IF_ERROR(check_interface_name(list[i].interface.view(), where, i, why));
  }
  return ok_status();
}

// Everything the writers assume, so that writing fails only for lack of room.
Status check_input(const ReportInput& in, ErrorText* why) {
  if (in.report_id <= 0) {
    set_error_text(why, "metrics report: report_id %s is not positive", Decimal(in.report_id).c_str());
    return invalid();
  }
  if (in.snapshot == nullptr && in.custom.empty()) {
    set_error_text(why, "metrics report %s: nothing to report (no snapshot and no custom metrics)",
                   Decimal(in.report_id).c_str());
    return invalid();
  }
  if (in.snapshot != nullptr) {
    const Snapshot& s = *in.snapshot;
    TETHER_RETURN_IF_ERROR(check_ports(s.tcp_listen, "listening_tcp_ports", why));
    TETHER_RETURN_IF_ERROR(check_ports(s.udp_listen, "listening_udp_ports", why));
    for (std::size_t i = 0; i < s.connections.size(); ++i) {
      char addr[kMaxAddressText + 8];
      if (remote_addr_text(s.connections[i], addr).empty()) {
        set_error_text(why, "metrics report: connections[%u] has no remote address", static_cast<unsigned>(i));
        return invalid();
      }
      TETHER_RETURN_IF_ERROR(check_interface_name(s.connections[i].local_interface.view(), "connections", i, why));
    }
  }
  for (std::size_t i = 0; i < in.custom.size(); ++i) {
    TETHER_RETURN_IF_ERROR(validate_custom_metric(in.custom[i], why));
    for (std::size_t j = 0; j < i; ++j) {
      if (in.custom[j].name == in.custom[i].name) {
        set_error_text(why, "metrics report: custom metric \"%.*s\" appears twice (custom metrics %u and %u)",
                       static_cast<int>(in.custom[i].name.size()), in.custom[i].name.data(),
                       static_cast<unsigned>(j), static_cast<unsigned>(i));
        return invalid();
      }
    }
  }
  return ok_status();
}

}  // namespace

const char* to_string(ReportFormat format) {
  switch (format) {
    case ReportFormat::kJsonLong:
      return "json-long";
    case ReportFormat::kJsonShort:
      return "json-short";
    case ReportFormat::kCbor:
      return "cbor";
  }
  return "?";
}

std::string_view topic_suffix(ReportFormat format) { return format == ReportFormat::kCbor ? "cbor" : "json"; }

bool cbor_reports_available() {
#if defined(TETHER_HAVE_LIBCBOR)
  return true;
#else
  return false;
#endif
}

Result<Span<std::uint8_t>> encode_report(const ReportInput& in, ReportFormat format, Span<std::uint8_t> out,
                                         ErrorText* why) {
  TETHER_RETURN_IF_ERROR(check_input(in, why));
  switch (format) {
    case ReportFormat::kJsonLong:
      return write_report(JsonSink(out), kLongKeys, in, out, why);
    case ReportFormat::kJsonShort:
      return write_report(JsonSink(out), kShortKeys, in, out, why);
    case ReportFormat::kCbor:
#if defined(TETHER_HAVE_LIBCBOR)
      return write_report(CborSink(out), kShortKeys, in, out, why);
#else
      set_error_text(why, "metrics report: this build has no libcbor, so no CBOR reports (use JSON)");
      return Status(StatusCode::kUnimplemented, Origin::kMetrics);
#endif
  }
  set_error_text(why, "metrics report: unknown format %u", static_cast<unsigned>(format));
  return invalid();
}

}  // namespace tether::metrics
