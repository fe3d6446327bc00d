// Copyright 2026 The Tether Authors. SPDX-License-Identifier: Apache-2.0
#pragma once
/// @file
/// `tether::metrics::Snapshot`: what a MetricsSource (tether/port/metrics_source.hpp) reads off the
/// device at one moment: listening TCP and UDP ports, established TCP connections (IPv4 and
/// IPv6), per-interface counters (64-bit, cumulative since boot: the reporter makes deltas), and
/// platform extras (active hardware interfaces, processes, memory, CPU temperature).
///
/// Fixed capacities, no heap. Each list keeps at most its capacity of entries and counts every
/// entry it saw in `total`: when total > size() the list is a uniform random sample of what was
/// there (reservoir sampling by the source), and `truncated()` says so. Reports carry the exact
/// totals and the sampled lists (the Device Defender `total` fields).

#include <array>
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "tether/fixed_string.hpp"
#include "tether/port/clock.hpp"
#include "tether/result.hpp"
#include "tether/span.hpp"
#include "tether/status.hpp"

#ifndef TETHER_METRICS_MAX_PORTS
#define TETHER_METRICS_MAX_PORTS 64  ///< listening ports kept per protocol (TCP, UDP)
#endif
#ifndef TETHER_METRICS_MAX_CONNECTIONS
#define TETHER_METRICS_MAX_CONNECTIONS 64  ///< established TCP connections kept
#endif
#ifndef TETHER_METRICS_MAX_INTERFACES
#define TETHER_METRICS_MAX_INTERFACES 16  ///< network interfaces kept
#endif
#ifndef TETHER_METRICS_MAX_HARDWARE
#define TETHER_METRICS_MAX_HARDWARE 32  ///< active hardware interfaces kept (SPI, I2C, USB, serial)
#endif

namespace tether::metrics {

inline constexpr std::size_t kMaxPorts = TETHER_METRICS_MAX_PORTS;
inline constexpr std::size_t kMaxConnections = TETHER_METRICS_MAX_CONNECTIONS;
inline constexpr std::size_t kMaxInterfaces = TETHER_METRICS_MAX_INTERFACES;
inline constexpr std::size_t kMaxHardware = TETHER_METRICS_MAX_HARDWARE;
/// Network interface names (Linux IFNAMSIZ - 1).
inline constexpr std::size_t kMaxInterfaceName = 15;
/// Hardware interface names ("i2c-1", "ttyAMA0", "usb 1-1.2 046d:c52b").
inline constexpr std::size_t kMaxHardwareName = 48;
/// Longest text of an address: IPv6 with an embedded IPv4 ("ffff:...:255.255.255.255") is 45.
inline constexpr std::size_t kMaxAddressText = 45;

/// An IPv4 or IPv6 address in network byte order (IPv4 in bytes[0..3]).
struct IpAddress {
  enum class Family : std::uint8_t { kNone, kV4, kV6 };
  Family family = Family::kNone;
  std::array<std::uint8_t, 16> bytes{};

  static IpAddress v4(std::uint8_t a, std::uint8_t b, std::uint8_t c, std::uint8_t d) {
    IpAddress ip;
    ip.family = Family::kV4;
    ip.bytes[0] = a, ip.bytes[1] = b, ip.bytes[2] = c, ip.bytes[3] = d;
    return ip;
  }
  static IpAddress v6(const std::array<std::uint8_t, 16>& raw) {
    IpAddress ip;
    ip.family = Family::kV6;
    ip.bytes = raw;
    return ip;
  }
  bool valid() const { return family != Family::kNone; }
  /// 0.0.0.0 or ::
  bool is_unspecified() const;
  /// An IPv4-mapped IPv6 address (::ffff:a.b.c.d) as the IPv4 address; anything else unchanged.
  IpAddress unmapped() const;
  bool operator==(const IpAddress& other) const;
  bool operator!=(const IpAddress& other) const { return !(*this == other); }
};

/// Dotted quad, or RFC 5952 text for IPv6 (lower case, the longest run of two or more zero groups
/// as "::", the first such run on a tie). Returns the text (a view into `out`, not terminated), or
/// kResourceExhausted/kMetrics when `out` is shorter than needed (kMaxAddressText is enough), or
/// kInvalidArgument/kMetrics for an address without a family.
Result<std::string_view> format_address(const IpAddress& ip, Span<char> out);
/// Parses a dotted quad or IPv6 text (RFC 4291 forms, "::" compression, an embedded dotted
/// quad). kInvalidArgument/kMetrics on anything else (leading zeros in an IPv4 octet included).
Result<IpAddress> parse_address(std::string_view text);

enum class Transport : std::uint8_t { kTcp, kUdp };

/// A socket listening (TCP) or bound without a peer (UDP).
struct ListeningPort {
  std::uint16_t port = 0;
  IpAddress address;                          ///< the bound address (unspecified = every interface)
  FixedString<kMaxInterfaceName> interface;   ///< the interface owning `address`; empty when unspecified
};

/// An established TCP connection.
struct Connection {
  IpAddress remote;
  std::uint16_t remote_port = 0;
  std::uint16_t local_port = 0;
  FixedString<kMaxInterfaceName> local_interface;  ///< the interface owning the local address
};

/// Counters of one network interface, cumulative since it appeared (64-bit: they do not wrap in
/// any device's lifetime). The reporter sends deltas between two snapshots.
struct InterfaceCounters {
  FixedString<kMaxInterfaceName> name;
  std::uint64_t bytes_in = 0;
  std::uint64_t bytes_out = 0;
  std::uint64_t packets_in = 0;
  std::uint64_t packets_out = 0;
  bool up = false;        ///< administratively up and running (IFF_UP and IFF_RUNNING)
  bool loopback = false;  ///< lo: left out of network_stats by the reporter
};

enum class HardwareKind : std::uint8_t { kSpi, kI2c, kUsb, kSerial };
const char* to_string(HardwareKind kind);  ///< "spi", "i2c", "usb", "serial"

/// A hardware interface that is active: a bus with a device bound to a driver, a USB device
/// attached, a serial port with a driver behind it.
struct HardwareInterface {
  HardwareKind kind = HardwareKind::kSpi;
  FixedString<kMaxHardwareName> name;
};

/// A list of at most N entries out of `total` seen (see the file comment).
template <typename T, std::size_t N>
struct SampledList {
  std::array<T, N> items{};
  std::size_t count = 0;   ///< entries kept (<= N)
  std::uint32_t total = 0; ///< entries seen

  static constexpr std::size_t capacity() { return N; }
  std::size_t size() const { return count; }
  bool truncated() const { return total > count; }
  const T& operator[](std::size_t i) const { return items[i]; }
  T& operator[](std::size_t i) { return items[i]; }
  Span<const T> view() const { return Span<const T>(items.data(), count); }
  void clear() {
    count = 0;
    total = 0;
  }
};

/// The interface counters of a snapshot.
using InterfaceList = SampledList<InterfaceCounters, kMaxInterfaces>;

struct PlatformExtras {
  std::uint32_t process_count = 0;            ///< 0 = unknown
  std::uint64_t memory_total_bytes = 0;       ///< 0 = unknown
  std::uint64_t memory_available_bytes = 0;
  bool has_cpu_temperature = false;
  std::int32_t cpu_temperature_milli_c = 0;   ///< thousandths of a degree Celsius
  bool has_load_average = false;
  std::uint32_t load_average_milli[3] = {};   ///< 1, 5 and 15 minute load averages, thousandths
};

struct Snapshot {
  Milliseconds taken_at{0};  ///< the source's clock
  SampledList<ListeningPort, kMaxPorts> tcp_listen;
  SampledList<ListeningPort, kMaxPorts> udp_listen;
  SampledList<Connection, kMaxConnections> connections;
  InterfaceList interfaces;
  SampledList<HardwareInterface, kMaxHardware> hardware;
  PlatformExtras extras;

  bool truncated() const {
    return tcp_listen.truncated() || udp_listen.truncated() || connections.truncated() || interfaces.truncated() ||
           hardware.truncated();
  }
  void clear() {
    taken_at = Milliseconds(0);
    tcp_listen.clear();
    udp_listen.clear();
    connections.clear();
    interfaces.clear();
    hardware.clear();
    extras = PlatformExtras{};
  }
};

/// What network deltas and byte rates need of an earlier snapshot: when it was taken and its
/// interface counters (about 1 KB instead of a whole snapshot).
struct NetworkBaseline {
  Milliseconds taken_at{0};
  InterfaceList interfaces;

  static NetworkBaseline of(const Snapshot& snapshot) {
    NetworkBaseline b;
    b.taken_at = snapshot.taken_at;
    b.interfaces = snapshot.interfaces;
    return b;
  }
};

}  // namespace tether::metrics
