// Copyright 2026 The Tether Authors. SPDX-License-Identifier: Apache-2.0
#pragma once
/// @file
/// On-device rules: what the device checks itself in every snapshot, with no cloud service
/// (Device Defender Detect is closed to new AWS accounts since 2026).
///
/// A `RuleSet` declares what is expected:
/// - the listening TCP and UDP ports allowed (any other listener is a violation),
/// - the remote networks established TCP connections may go to (CIDR; any other peer is a violation),
/// - hardware interfaces that must stay inactive (a kind, optionally a name prefix: "usb", "i2c i2c-1"),
/// - ceilings on the byte rate in and out (bytes per second, over all non-loopback interfaces,
///   between two snapshots).
///
/// A `RuleEngine` evaluates snapshots and reports **changes**: a violation is raised once when it
/// appears and cleared once when it is gone, not repeated in every snapshot. Each violation has a
/// stable key (the rule and what broke it: a port, a peer, a device name), so "port 23 listening"
/// stays one violation while it lasts. `encode_alert()` writes one change as a JSON alert message
/// (the reporter publishes it on the configured alert topic).
///
/// Limits: the engine sees what the snapshot holds. A list the source truncated (total > size) is
/// a sample, so a violating entry may be missed in one snapshot and seen in the next; evaluate()
/// reports `incomplete` then. At most kMaxActiveViolations are tracked; beyond, new violations are
/// counted in `RuleStats::untracked` and not raised until room frees up.
///
/// Heap-free, portable.

#include <cstddef>
#include <cstdint>
#include <string_view>

#include "tether/error_text.hpp"
#include "tether/fixed_vector.hpp"
#include "tether/limits.hpp"
#include "tether/metrics/snapshot.hpp"
#include "tether/result.hpp"
#include "tether/span.hpp"
#include "tether/status.hpp"

#ifndef TETHER_METRICS_MAX_VIOLATIONS
#define TETHER_METRICS_MAX_VIOLATIONS 32  ///< violations tracked at once
#endif

namespace tether::metrics {

inline constexpr std::size_t kMaxRuleItems = kMaxMetricsRuleItems;  ///< TETHER_METRICS_MAX_RULE_ITEMS (limits.hpp)
inline constexpr std::size_t kMaxActiveViolations = TETHER_METRICS_MAX_VIOLATIONS;

/// An IPv4 or IPv6 network: `prefix` leading bits of `network` (0..32 or 0..128).
struct Cidr {
  IpAddress network;
  std::uint8_t prefix = 0;

  bool contains(const IpAddress& address) const;
};
/// "10.0.0.0/8", "2001:db8::/32", or a single address ("192.0.2.7" = /32, "::1" = /128). Host bits
/// set below the prefix ("10.1.0.0/8") are refused: a typo there widens or narrows the rule
/// silently. kInvalidArgument/kMetrics with `why` naming the problem.
Result<Cidr> parse_cidr(std::string_view text, ErrorText* why = nullptr);

/// A hardware interface that must stay inactive: every interface of `kind` whose name starts with
/// `name_prefix` (empty: all of that kind).
struct HardwareRule {
  HardwareKind kind = HardwareKind::kUsb;
  FixedString<kMaxHardwareName> name_prefix;
};

struct RuleSet {
  bool check_tcp_ports = false;  ///< true: only `allowed_tcp_ports` may listen
  FixedVector<std::uint16_t, kMaxRuleItems> allowed_tcp_ports;
  bool check_udp_ports = false;  ///< true: only `allowed_udp_ports` may be bound
  FixedVector<std::uint16_t, kMaxRuleItems> allowed_udp_ports;
  bool check_remote_networks = false;  ///< true: established peers must be in `allowed_remote_networks`
  FixedVector<Cidr, kMaxRuleItems> allowed_remote_networks;
  FixedVector<HardwareRule, kMaxRuleItems> inactive_hardware;
  std::uint64_t max_bytes_in_per_s = 0;   ///< 0 = no ceiling
  std::uint64_t max_bytes_out_per_s = 0;  ///< 0 = no ceiling

  bool empty() const {
    return !check_tcp_ports && !check_udp_ports && !check_remote_networks && inactive_hardware.empty() &&
           max_bytes_in_per_s == 0 && max_bytes_out_per_s == 0;
  }
};

enum class RuleKind : std::uint8_t {
  kTcpPort,        ///< a TCP port listening that is not allowed
  kUdpPort,        ///< a UDP port bound that is not allowed
  kRemoteNetwork,  ///< an established connection to a peer outside the allowed networks
  kHardware,       ///< a hardware interface active that must stay inactive
  kBytesInRate,    ///< bytes in per second above the ceiling
  kBytesOutRate,   ///< bytes out per second above the ceiling
};
/// "tcp_port", "udp_port", "remote_network", "hardware", "bytes_in_rate", "bytes_out_rate"
const char* to_string(RuleKind kind);

/// One violation: the rule and what broke it.
struct Violation {
  RuleKind kind = RuleKind::kTcpPort;
  std::uint16_t port = 0;  ///< kTcpPort, kUdpPort: the port; kRemoteNetwork: the peer's port
  IpAddress address;       ///< kTcpPort/kUdpPort: the bound address; kRemoteNetwork: the peer
  FixedString<kMaxHardwareName> name;  ///< kHardware: the interface; ports: the network interface
  HardwareKind hardware = HardwareKind::kUsb;  ///< kHardware
  std::uint64_t rate = 0;     ///< kBytes*Rate: the measured bytes per second
  std::uint64_t ceiling = 0;  ///< kBytes*Rate: the ceiling

  /// Same rule and same subject (rates compare by kind only: one violation per direction).
  bool same_subject(const Violation& other) const;
};

struct RuleEvent {
  bool raised = true;  ///< true: the violation appeared; false: it is gone
  Violation violation;
};

struct RuleStats {
  std::uint32_t evaluations = 0;
  std::uint32_t raised = 0;
  std::uint32_t cleared = 0;
  std::uint32_t untracked = 0;   ///< violations not tracked: kMaxActiveViolations were active
  std::uint32_t incomplete = 0;  ///< evaluations over a truncated snapshot
};

struct Evaluation {
  std::size_t events = 0;    ///< RuleEvents written
  std::size_t dropped = 0;   ///< changes that did not fit in `events` (raised next time, or lost clears)
  bool incomplete = false;   ///< a list in the snapshot was truncated
};

class RuleEngine {
 public:
  RuleEngine() = default;
  /// Checks `rules` (ports 1..65535, prefixes in range, no duplicate entries) and replaces the
  /// rules; active violations are forgotten (the next evaluation raises what still breaks the new
  /// rules). kInvalidArgument/kMetrics with `why` naming the entry.
  Status set_rules(const RuleSet& rules, ErrorText* why = nullptr);
  const RuleSet& rules() const { return rules_; }

  /// Evaluates `now`. The rate ceilings need `previous` (the snapshot before, from the same
  /// source, taken earlier): without it the rate rules keep their last state. Rates are the
  /// network deltas (network_delta() of report.hpp) over the time between the two snapshots.
  /// Writes the changes since the last evaluation to `events` (cleared first, then raised).
  Evaluation evaluate(const Snapshot& now, const NetworkBaseline* previous, Span<RuleEvent> events);
  /// The same with the whole previous snapshot.
  Evaluation evaluate(const Snapshot& now, const Snapshot* previous, Span<RuleEvent> events);

  Span<const Violation> active() const { return Span<const Violation>(active_.begin(), active_.size()); }
  const RuleStats& stats() const { return stats_; }

 private:
  void collect(const Snapshot& now, const NetworkBaseline* previous);
  void add_current(const Violation& v);

  RuleSet rules_;
  FixedVector<Violation, kMaxActiveViolations> active_;
  FixedVector<Violation, kMaxActiveViolations> current_;
  std::uint32_t current_untracked_ = 0;
  RuleStats stats_;
};

/// Writes `event` for `thing` as one JSON object:
/// `{"thing":"dev-1","rule":"tcp_port","state":"raised","port":23,"address":"0.0.0.0","interface":"eth0","timestamp_ms":<now>}`
/// (members by rule: ports have port/address/interface; remote_network has remote_addr "ip:port"
/// (IPv6 in brackets); hardware has kind/name; rates have rate and ceiling in bytes per second).
/// kResourceExhausted/kJson when `out` is too small (512 bytes is enough).
Result<std::string_view> encode_alert(std::string_view thing, const RuleEvent& event, std::int64_t timestamp_ms,
                                      Span<char> out);

}  // namespace tether::metrics
