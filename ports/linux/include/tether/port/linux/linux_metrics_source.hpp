// Copyright 2026 The Tether Authors. SPDX-License-Identifier: Apache-2.0
#pragma once

/// @file
/// LinuxMetricsSource: the MetricsSource port (tether/port/metrics_source.hpp) over /proc and /sys.
///
/// ## What a snapshot reads
/// - `<proc>/net/tcp`, `tcp6`: state 0A (listening) → `tcp_listen`, 01 (established) →
///   `connections`. `<proc>/net/udp`, `udp6`: state 07 with remote address and port 0 →
///   `udp_listen`. IPv4-mapped addresses (::ffff:a.b.c.d) are reported as IPv4. Listeners are
///   reported once per (port, address) however many sockets share them (tcp and tcp6, SO_REUSEPORT).
///   A listener's interface and a connection's local interface are the interface that owns the
///   local address in the address table (any 127.0.0.0/8 address belongs to the interface that has
///   a 127.x address, as in the kernel's local routing table); empty for the unspecified address or
///   an address no interface has.
/// - `<proc>/net/dev`: bytes and packets in and out per interface; `<sys>/class/net/<if>/flags`:
///   `up` = IFF_UP and running, `loopback` = IFF_LOOPBACK (no flags file: down, not an error).
///   Running is IFF_RUNNING (0x40) when the flags file has it; the kernel's file does not (it
///   shows the administrative flags and computes IFF_RUNNING only for SIOCGIFFLAGS and netlink,
///   from the operational state), so otherwise `<sys>/class/net/<if>/operstate` "up" or "unknown"
///   (the kernel's netif_oper_up(): lo and most tunnels say "unknown").
/// - Hardware, active only: `<sys>/bus/spi/devices/*` and `<sys>/bus/i2c/devices/*` with a `driver`
///   link (name: the entry, "spi0.0", "1-0050"); `<sys>/bus/usb/devices/*` with an `idVendor`
///   ("usb 1-1.2 046d:c52b"; root hubs included); `<sys>/class/tty/*` with a `device/driver` link,
///   ttyS* only when its `type` is not "0" (the 8250 driver's placeholder ports). A missing bus
///   directory is not an error.
/// - Extras: the numeric entries of `<proc>` (processes), MemTotal and MemAvailable of
///   `<proc>/meminfo` (bytes), the load averages of `<proc>/loadavg`, and the temperature of one `<sys>/class/thermal/thermal_zone*`: the
///   lowest-numbered zone whose `type` contains "cpu" or is "x86_pkg_temp" and whose `temp` reads,
///   else the lowest-numbered zone whose `temp` reads.
/// - Lists over capacity: reservoir sampling (Algorithm R, a PRNG seeded by `seed`), `total` exact.
///
/// ## Errors
/// As the port: ok, or the first failure, the rest of the snapshot still filled.
/// - A missing file or directory is a missing source, not an error (tcp6/udp6 without IPv6, no
///   thermal zone, no SPI bus), except `<proc>` itself: kUnavailable/kOs/ENOENT.
/// - A file or directory that exists and cannot be read: kPermissionDenied/kOs (EACCES, EPERM) or
///   kUnavailable/kOs (other errno), detail errno; the address table (getifaddrs) the same way.
///   A thermal zone whose `temp` cannot be read (a sensor that is off answers ENODATA) is passed
///   over; only when no zone gives a temperature is the first such failure reported.
/// - A line that does not parse (missing fields, non-hex, overlong, truncated) is skipped and
///   counted; when nothing failed before it the snapshot returns kDataLoss/kMetrics with the number
///   of lines skipped as detail (at most 65535).
/// `last_error()` says what failed and where: "<file>: <strerror>" or "<file>:<line>: <problem>"
/// (plus "(<n> lines skipped)" when there were several).
///
/// ## Resources
/// A Linux port, it allocates: the settings' strings and table; two lists of listening sockets
/// (grown to the most listeners seen, then reused) and the address table read with getifaddrs(3)
/// (which allocates inside libc) at each snapshot; opendir(3) buffers while a directory is read.
/// Files are read with read(2) through one 8 KiB buffer inside the object, line by line without
/// copying. No processes are started. Not thread-safe, like the port.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "tether/error_text.hpp"
#include "tether/fixed_string.hpp"
#include "tether/metrics/snapshot.hpp"
#include "tether/port/clock.hpp"
#include "tether/port/linux/proc_parse.hpp"
#include "tether/port/metrics_source.hpp"
#include "tether/span.hpp"

namespace tether::port {
namespace detail {
class LineReader;
}  // namespace detail

/// One address of a network interface.
struct InterfaceAddress {
  metrics::IpAddress address;
  FixedString<metrics::kMaxInterfaceName> interface;
};

/// Replaces `out` with the IPv4 and IPv6 addresses of the host's interfaces (getifaddrs(3);
/// IPv4-mapped addresses unmapped). kPermissionDenied/kOs or kUnavailable/kOs with errno on failure.
Status read_interface_addresses(std::vector<InterfaceAddress>& out);

struct LinuxMetricsSourceSettings {
  /// Where procfs is mounted ("/proc"); tests point it at a fixture directory.
  std::string proc_root = "/proc";
  /// Where sysfs is mounted ("/sys").
  std::string sys_root = "/sys";
  /// The byte order of the machine whose procfs is read (see ByteOrder): this one's, or another's
  /// for a tree recorded there.
  ByteOrder byte_order = host_byte_order();
  /// Seed of the PRNG that samples lists over capacity; 0 = 64 bits from getrandom(2) at
  /// construction (so that which entries are dropped cannot be predicted).
  std::uint64_t seed = 0;
  /// The address → interface table; empty (no value) = read_interface_addresses() at each snapshot.
  std::optional<std::vector<InterfaceAddress>> interface_addresses;
  /// The clock that stamps `Snapshot::taken_at`; null = CLOCK_MONOTONIC.
  const Clock* clock = nullptr;
};

class LinuxMetricsSource final : public MetricsSource {
 public:
  explicit LinuxMetricsSource(LinuxMetricsSourceSettings settings = {});
  LinuxMetricsSource(const LinuxMetricsSource&) = delete;
  LinuxMetricsSource& operator=(const LinuxMetricsSource&) = delete;

  /// Only the extras (processes, memory, load averages, CPU temperature), for a program that
  /// reports them often (telemetry) without reading the sockets, interfaces and buses. Same
  /// contract as a snapshot's: a missing file leaves its part empty (no thermal zone: no
  /// temperature, not an error); ok, or the first failure with the rest still filled.
  Status read_extras(metrics::PlatformExtras& out);

  /// What the last snapshot's failure was and where ("" after a snapshot without failure).
  const char* last_error() const { return last_error_.c_str(); }
  /// Lines the last snapshot skipped because they did not parse.
  std::uint32_t skipped_lines() const { return skipped_lines_; }
  const LinuxMetricsSourceSettings& settings() const { return settings_; }

 private:
  struct Listener {
    metrics::IpAddress address;
    std::uint16_t port = 0;
  };
  enum class Protocol : std::uint8_t { kTcp, kUdp };

  Status do_snapshot(metrics::Snapshot& out) override;

  void load_interface_table();
  bool open_proc_file(detail::LineReader& reader, char* path, const char* name);
  void add_hardware(metrics::Snapshot& out, metrics::HardwareKind kind, std::string_view name);
  void read_sockets(const char* file, Protocol protocol, metrics::Snapshot& out);
  void add_listeners(std::vector<Listener>& found,
                     metrics::SampledList<metrics::ListeningPort, metrics::kMaxPorts>& list);
  void read_net_dev(metrics::Snapshot& out);
  bool read_net_attribute(std::string_view name, const char* attribute, char* path, Span<char> buf,
                          std::string_view& text);
  bool read_interface_flags(std::string_view name, std::uint32_t& flags);
  bool operstate_running(std::string_view name);
  void read_hardware(metrics::Snapshot& out);
  void scan_bus(const char* bus, metrics::HardwareKind kind, metrics::Snapshot& out);
  void scan_usb(metrics::Snapshot& out);
  void scan_serial(metrics::Snapshot& out);
  void begin_reading();
  Status finish_reading();
  void read_all_extras(metrics::PlatformExtras& out);
  void read_process_count(metrics::PlatformExtras& out);
  void read_meminfo(metrics::PlatformExtras& out);
  void read_loadavg(metrics::PlatformExtras& out);
  void read_cpu_temperature(metrics::PlatformExtras& out);

  // Reservoir sampling: the slot for the next entry of `list`, or null when it is not kept.
  template <typename T, std::size_t N>
  T* reservoir_slot(metrics::SampledList<T, N>& list);
  std::uint64_t random_below(std::uint64_t bound);
  const char* owner_of(const metrics::IpAddress& address) const;
  bool make_path(char* buf, std::size_t size, const char* format, ...)
#if defined(__GNUC__)
      __attribute__((format(printf, 4, 5)))
#endif
      ;
  void os_failure(int err, const char* path);
  void skip_line(const char* path, std::size_t line, const char* problem);

  LinuxMetricsSourceSettings settings_;
  std::uint64_t rng_state_ = 0;
  std::vector<InterfaceAddress> table_;  // read at each snapshot when the settings have none
  const std::vector<InterfaceAddress>* active_table_ = nullptr;
  std::vector<Listener> tcp_found_;
  std::vector<Listener> udp_found_;
  Status failure_;
  ErrorText last_error_;
  std::uint32_t skipped_lines_ = 0;
  char buffer_[8192];
};

}  // namespace tether::port
