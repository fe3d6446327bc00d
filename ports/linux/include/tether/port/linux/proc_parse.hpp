// Copyright 2026 The Tether Authors. SPDX-License-Identifier: Apache-2.0
#pragma once

/// @file
/// Pure parsers for the lines of the Linux files LinuxMetricsSource reads (/proc/net/tcp, tcp6,
/// udp, udp6, /proc/net/dev, /proc/meminfo). Functions over text: no I/O, no allocation, no
/// exceptions; any input (overlong, truncated, non-hex, missing fields) is refused with `false`,
/// never a crash. Kept apart from the source so that tests drive them with both byte orders.

#include <cstdint>
#include <string_view>

#include "tether/metrics/snapshot.hpp"

namespace tether::port {

/// How the host stores a 32-bit word. The kernel prints each 32-bit word of a socket address
/// (`__be32`, network order in memory) as `%08X` of the word's value read in host order, so the
/// text depends on the byte order of the machine that wrote it: 127.0.0.1 is "0100007F" on a
/// little-endian host and "7F000001" on a big-endian one.
enum class ByteOrder : std::uint8_t { kLittle, kBig };

/// The byte order of the machine this code runs on.
constexpr ByteOrder host_byte_order() {
#if defined(__BYTE_ORDER__) && defined(__ORDER_BIG_ENDIAN__) && __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__
  return ByteOrder::kBig;
#else
  return ByteOrder::kLittle;
#endif
}

/// Socket states as /proc/net/{tcp,udp}* print them (include/net/tcp_states.h).
inline constexpr std::uint8_t kSocketEstablished = 0x01;
inline constexpr std::uint8_t kSocketClose = 0x07;  ///< an unconnected UDP socket
inline constexpr std::uint8_t kSocketListen = 0x0A;

/// One line of /proc/net/{tcp,tcp6,udp,udp6}: the fields a snapshot uses.
struct ProcNetSocket {
  metrics::IpAddress local;  ///< as the kernel has it (an IPv4-mapped address stays IPv6)
  std::uint16_t local_port = 0;
  metrics::IpAddress remote;
  std::uint16_t remote_port = 0;
  std::uint8_t state = 0;
};

/// An address field of /proc/net/{tcp,udp}*: 8 hex digits (IPv4) or 32 (IPv6, four words), each
/// word printed in `order` (see ByteOrder). False for any other length or a non-hex digit.
bool parse_proc_net_address(std::string_view hex, ByteOrder order, metrics::IpAddress& out);

/// A socket line ("   0: 0100007F:0277 00000000:0000 0A 00000000:00000000 ..."): "<n>:", local
/// "<address>:<port, 4 hex digits>", remote likewise (same family), the state (2 hex digits), and at
/// least the fields up to the inode (10 in all). False for the header line or anything malformed.
bool parse_proc_net_socket(std::string_view line, ByteOrder order, ProcNetSocket& out);

/// One interface line of /proc/net/dev ("  eth0: 1234 5 0 0 0 0 0 0 678 9 0 0 0 0 0 0").
struct ProcNetDevLine {
  std::string_view name;  ///< a view into the parsed line
  std::uint64_t rx_bytes = 0;
  std::uint64_t rx_packets = 0;
  std::uint64_t tx_bytes = 0;
  std::uint64_t tx_packets = 0;
};

/// A name (1..15 bytes, no blanks), ':', then 16 decimal counters (64-bit). False for the two header
/// lines or anything malformed.
bool parse_proc_net_dev(std::string_view line, ProcNetDevLine& out);

/// A /proc/meminfo line "MemTotal:        8000000 kB": the name before ':' and the value in bytes
/// (a "kB" value times 1024; a value without unit as is). False when malformed or overflowing.
bool parse_meminfo(std::string_view line, std::string_view& name, std::uint64_t& bytes);

/// /proc/loadavg ("0.52 0.58 0.59 1/467 12345"): the three load averages in thousandths (two
/// decimals as the kernel prints them; 1..3 decimals accepted). False when malformed or overflowing.
bool parse_loadavg(std::string_view text, std::uint32_t (&milli)[3]);

/// A sysfs flags file ("0x1003"): "0x" and 1..8 hex digits (the caller cuts the newline).
bool parse_sysfs_flags(std::string_view text, std::uint32_t& flags);

/// A sysfs decimal integer such as a thermal zone's `temp` ("45000", "-12500"), within int32.
bool parse_sysfs_int(std::string_view text, std::int32_t& value);

}  // namespace tether::port
