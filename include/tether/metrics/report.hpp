// Copyright 2026 The Tether Authors. SPDX-License-Identifier: Apache-2.0
#pragma once
/// @file
/// The Device Defender device-side metrics report (PROTOCOLS.md §4): custom metrics and their data
/// rules, network deltas between two snapshots, and the report codec in three formats.
///
/// Pure functions over caller memory: no heap, no exceptions, no I/O. The JSON formats build on
/// every target (Cortex-M included). CBOR reports need libcbor (Debian: libcbor-dev) at build time;
/// the encoder uses only libcbor's streaming encoding functions, which write into the caller's
/// buffer and never allocate (libcbor's item API, which does allocate with malloc, is not used
/// here). Without libcbor, `cbor_reports_available()` is false and kCbor returns kUnimplemented.
///
/// The document (long keys; short keys in brackets, PROTOCOLS.md §4):
/// ```
/// {"header" (hed): {"report_id" (rid): <int64 > 0>, "version" (v): "1.0"},
///  "metrics" (met): {
///    "listening_tcp_ports" (tp): {"ports" (pts): [{"port" (pt): 22, "interface" (if): "eth0"}], "total" (t): 1},
///    "listening_udp_ports" (up): {... the same ...},
///    "tcp_connections" (tc): {"established_connections" (ec): {
///        "connections" (cs): [{"remote_addr" (rad): "192.0.2.1:443" | "[2001:db8::1]:443",
///                              "local_port" (lp): 50000, "local_interface" (li): "eth0"}],
///        "total" (t): 1}},
///    "network_stats" (ns): {"bytes_in" (bi), "bytes_out" (bo), "packets_in" (pi), "packets_out" (po)}},
///  "custom_metrics" (cmet): {"<name>": [{"number": 1}] | [{"number_list": [1, 2]}]
///                                     | [{"string_list": ["a"]}] | [{"ip_list": ["192.0.2.1"]}]}}
/// ```
/// - `interface` / `local_interface` are left out when the snapshot has no name for them.
/// - The lists are the snapshot's (sampled when the device had more than the capacity); `total`
///   is the exact count the source saw.
/// - `network_stats` is present only when deltas exist: a report built from one snapshot (no
///   previous snapshot, e.g. the first report after boot) has no network_stats.
/// - Custom metric names and their type keys are never shortened.
/// - CBOR reports use the short keys (see report.cpp for the source).

#include <cstddef>
#include <cstdint>
#include <string_view>

#include "tether/error_text.hpp"
#include "tether/metrics/snapshot.hpp"
#include "tether/result.hpp"
#include "tether/span.hpp"
#include "tether/status.hpp"

namespace tether::metrics {

enum class ReportFormat : std::uint8_t {
  kJsonLong,   ///< JSON, long keys ("header", "metrics", ...)
  kJsonShort,  ///< JSON, short keys ("hed", "met", ...)
  kCbor,       ///< CBOR (RFC 8949), short keys
};

/// "json-long", "json-short", "cbor" (for logs and configuration).
const char* to_string(ReportFormat format);
/// The last topic level of `$aws/things/<thing>/defender/metrics/<suffix>` (and of its
/// `/accepted` and `/rejected` answers): "json" for both JSON formats, "cbor" for kCbor.
std::string_view topic_suffix(ReportFormat format);
/// True when this build can write CBOR reports (built with libcbor).
bool cbor_reports_available();

/// The "version" every report carries.
inline constexpr std::string_view kReportVersion = "1.0";
/// Custom metric names are 1..128 characters of [a-zA-Z0-9:_-] and do not start with "aws:".
inline constexpr std::size_t kMaxCustomMetricName = 128;
/// Custom metric numbers keep at most 15 significant decimal digits.
inline constexpr int kCustomMetricDigits = 15;

/// A custom metric value: a name and one of four typed values, all views into caller memory that
/// must stay valid while the metric is used. Build one with the `number` ... `ip_list` helpers.
struct CustomMetric {
  enum class Type : std::uint8_t { kNumber, kNumberList, kStringList, kIpList };

  std::string_view name;
  Type type = Type::kNumber;
  double value = 0;                     ///< kNumber
  Span<const double> numbers;           ///< kNumberList
  Span<const std::string_view> texts;   ///< kStringList: the strings; kIpList: IPv4/IPv6 text

  static CustomMetric number(std::string_view name, double value) {
    CustomMetric m;
    m.name = name, m.type = Type::kNumber, m.value = value;
    return m;
  }
  static CustomMetric number_list(std::string_view name, Span<const double> values) {
    CustomMetric m;
    m.name = name, m.type = Type::kNumberList, m.numbers = values;
    return m;
  }
  static CustomMetric string_list(std::string_view name, Span<const std::string_view> values) {
    CustomMetric m;
    m.name = name, m.type = Type::kStringList, m.texts = values;
    return m;
  }
  static CustomMetric ip_list(std::string_view name, Span<const std::string_view> addresses) {
    CustomMetric m;
    m.name = name, m.type = Type::kIpList, m.texts = addresses;
    return m;
  }
};

/// "number", "number_list", "string_list", "ip_list": the type key in a report.
const char* to_string(CustomMetric::Type type);

/// Checks a custom metric against the service's data rules. Device Defender accepts a report with
/// non-conforming custom metric data and silently does not retain it, so these rules are checked
/// on the device, where the mistake can be reported:
/// - name: 1..128 characters of [a-zA-Z0-9:_-], not starting with "aws:";
/// - number and number_list items: finite, at most 15 significant digits (the shortest decimal
///   form that reads back to the same double has at most 15 digits: 0.1 and 1e300 pass,
///   0.1 + 0.2 and 2^53 + 1 do not);
/// - string_list items: 1 or more characters of A-Z a-z 0-9 : _ - / .
/// - ip_list items: IPv4 dotted quads or IPv6 text (parse_address);
/// - lists may be empty; no limit on their length is documented (the report buffer bounds them).
///
/// Returns ok, or kInvalidArgument/kMetrics with detail = index of the bad item + 1 (0 when the
/// name is at fault), and `why` naming the metric, the item and the rule, e.g.
/// `custom metric "fan_speeds": number_list[2] = nan is not a finite number`.
Status validate_custom_metric(const CustomMetric& metric, ErrorText* why = nullptr);

/// Bytes and packets a device sent and received between two snapshots, over every interface.
struct NetworkTotals {
  std::uint64_t bytes_in = 0;
  std::uint64_t bytes_out = 0;
  std::uint64_t packets_in = 0;
  std::uint64_t packets_out = 0;

  friend bool operator==(const NetworkTotals& a, const NetworkTotals& b) {
    return a.bytes_in == b.bytes_in && a.bytes_out == b.bytes_out && a.packets_in == b.packets_in &&
           a.packets_out == b.packets_out;
  }
  friend bool operator!=(const NetworkTotals& a, const NetworkTotals& b) { return !(a == b); }
};

/// The traffic between `previous` and `current`: the sum over the non-loopback interfaces of
/// `current`, each matched by name with `previous` (the first entry of that name counts):
/// - an interface in both contributes current - previous;
/// - an interface with any counter lower than before (driver reset, interface re-created)
///   contributes its current counters: they count from the reset, which is after `previous`;
/// - an interface new since `previous` contributes its current counters, unless `previous`
///   dropped interfaces for lack of capacity (its list is truncated): then its baseline is
///   unknown and it contributes nothing rather than its whole lifetime;
/// - interfaces gone since `previous` contribute nothing; sums saturate at 2^64 - 1.
/// There are no deltas without a previous snapshot: reports then carry no network_stats.
NetworkTotals network_delta(const Snapshot& previous, const Snapshot& current);
/// The same over the interface lists alone (a NetworkBaseline keeps only those).
NetworkTotals network_delta(const InterfaceList& previous, const InterfaceList& current);

/// What one report says.
struct ReportInput {
  /// Positive and increasing from report to report (the service refuses a repeated or older id);
  /// epoch seconds are the documented recommendation.
  std::int64_t report_id = 0;
  /// The device metrics; null for a report of custom metrics only.
  const Snapshot* snapshot = nullptr;
  /// The snapshot of the previous report: network_stats = network_delta(*previous, *snapshot).
  /// Null: no network_stats.
  const Snapshot* previous = nullptr;
  /// Instead of `previous`: the interface counters of the previous report (NetworkBaseline), for
  /// a caller that keeps only those. Used when `previous` is null.
  const InterfaceList* previous_interfaces = nullptr;
  /// Custom metrics, each validated (validate_custom_metric); names must be unique.
  Span<const CustomMetric> custom;
};

/// Writes one report into `out` and returns the bytes written (a prefix of `out`; JSON is not
/// NUL-terminated). On failure the content of `out` is unspecified, but nothing beyond it is
/// written. Errors (all with origin kMetrics):
/// - kInvalidArgument, detail 0: report_id <= 0; nothing to report (no snapshot and no custom
///   metrics); a listening port 0 or a connection without a remote address in the snapshot; an
///   interface name that is not UTF-8 or holds a control character; two custom metrics with the
///   same name (`why` says which)
/// - kInvalidArgument, detail = item + 1: a custom metric that breaks a data rule (as
///   validate_custom_metric; `why` names it)
/// - kResourceExhausted, detail 0: `out` is too small
/// - kUnimplemented, detail 0: kCbor in a build without libcbor
Result<Span<std::uint8_t>> encode_report(const ReportInput& in, ReportFormat format, Span<std::uint8_t> out,
                                         ErrorText* why = nullptr);

}  // namespace tether::metrics
