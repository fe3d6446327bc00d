// Copyright 2026 The Tether Authors. SPDX-License-Identifier: Apache-2.0
// Parsers for /proc/net/{tcp,udp}{,6}, /proc/net/dev and /proc/meminfo lines.

#include "tether/port/linux/proc_parse.hpp"

#include <limits>

namespace tether::port {
namespace {

bool is_blank(char c) { return c == ' ' || c == '\t' || c == '\r'; }

// The next blank-separated token of `rest` (empty at the end); `rest` moves past it.
std::string_view next_token(std::string_view& rest) {
  std::size_t i = 0;
  while (i < rest.size() && is_blank(rest[i])) ++i;
  std::size_t end = i;
  while (end < rest.size() && !is_blank(rest[end])) ++end;
  const std::string_view token = rest.substr(i, end - i);
  rest.remove_prefix(end);
  return token;
}

int hex_digit(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

// Exactly text.size() hex digits (at most 8) into `out`.
bool parse_hex32(std::string_view text, std::uint32_t& out) {
  if (text.empty() || text.size() > 8) return false;
  std::uint32_t value = 0;
  for (const char c : text) {
    const int d = hex_digit(c);
    if (d < 0) return false;
    value = (value << 4) | static_cast<std::uint32_t>(d);
  }
  out = value;
  return true;
}

bool parse_u64(std::string_view text, std::uint64_t& out) {
  if (text.empty()) return false;
  std::uint64_t value = 0;
  for (const char c : text) {
    if (c < '0' || c > '9') return false;
    const auto digit = static_cast<std::uint64_t>(c - '0');
    if (value > (std::numeric_limits<std::uint64_t>::max() - digit) / 10) return false;
    value = value * 10 + digit;
  }
  out = value;
  return true;
}

// "<address>:<port>" with a 4-digit hex port.
bool parse_endpoint(std::string_view text, ByteOrder order, metrics::IpAddress& address, std::uint16_t& port) {
  const std::size_t colon = text.find(':');
  if (colon == std::string_view::npos) return false;
  const std::string_view port_text = text.substr(colon + 1);
  std::uint32_t value = 0;
  if (port_text.size() != 4 || !parse_hex32(port_text, value)) return false;
  if (!parse_proc_net_address(text.substr(0, colon), order, address)) return false;
  port = static_cast<std::uint16_t>(value);
  return true;
}

}  // namespace

bool parse_proc_net_address(std::string_view hex, ByteOrder order, metrics::IpAddress& out) {
  if (hex.size() != 8 && hex.size() != 32) return false;
  metrics::IpAddress address;
  address.family = hex.size() == 8 ? metrics::IpAddress::Family::kV4 : metrics::IpAddress::Family::kV6;
  for (std::size_t word = 0; word < hex.size() / 8; ++word) {
    std::uint32_t value = 0;
    if (!parse_hex32(hex.substr(word * 8, 8), value)) return false;
    for (std::size_t i = 0; i < 4; ++i) {
      // Byte i of the word in memory: the low byte first on a little-endian host.
      const std::size_t shift = order == ByteOrder::kLittle ? 8 * i : 8 * (3 - i);
      address.bytes[word * 4 + i] = static_cast<std::uint8_t>(value >> shift);
    }
  }
  out = address;
  return true;
}

bool parse_proc_net_socket(std::string_view line, ByteOrder order, ProcNetSocket& out) {
  std::string_view rest = line;
  const std::string_view slot = next_token(rest);
  if (slot.size() < 2 || slot.back() != ':') return false;
  for (std::size_t i = 0; i + 1 < slot.size(); ++i) {
    if (slot[i] < '0' || slot[i] > '9') return false;
  }
  ProcNetSocket socket;
  if (!parse_endpoint(next_token(rest), order, socket.local, socket.local_port)) return false;
  if (!parse_endpoint(next_token(rest), order, socket.remote, socket.remote_port)) return false;
  if (socket.local.family != socket.remote.family) return false;
  std::uint32_t state = 0;
  const std::string_view state_text = next_token(rest);
  if (state_text.size() != 2 || !parse_hex32(state_text, state)) return false;
  socket.state = static_cast<std::uint8_t>(state);
  // tx_queue:rx_queue, tr:tm->when, retrnsmt, uid, timeout, inode: present, not used.
  for (int field = 0; field < 6; ++field) {
    if (next_token(rest).empty()) return false;
  }
  out = socket;
  return true;
}

bool parse_proc_net_dev(std::string_view line, ProcNetDevLine& out) {
  const std::size_t colon = line.find(':');
  if (colon == std::string_view::npos) return false;
  std::string_view name = line.substr(0, colon);
  while (!name.empty() && is_blank(name.front())) name.remove_prefix(1);
  if (name.empty() || name.size() > metrics::kMaxInterfaceName) return false;
  for (const char c : name) {
    if (is_blank(c) || c == '|') return false;
  }
  std::string_view rest = line.substr(colon + 1);
  std::uint64_t counters[16];
  for (std::uint64_t& counter : counters) {
    if (!parse_u64(next_token(rest), counter)) return false;
  }
  if (!next_token(rest).empty()) return false;
  out.name = name;
  out.rx_bytes = counters[0];
  out.rx_packets = counters[1];
  out.tx_bytes = counters[8];
  out.tx_packets = counters[9];
  return true;
}

bool parse_meminfo(std::string_view line, std::string_view& name, std::uint64_t& bytes) {
  const std::size_t colon = line.find(':');
  if (colon == std::string_view::npos || colon == 0) return false;
  std::string_view rest = line.substr(colon + 1);
  std::uint64_t value = 0;
  if (!parse_u64(next_token(rest), value)) return false;
  const std::string_view unit = next_token(rest);
  if (!next_token(rest).empty()) return false;
  if (unit == "kB") {
    if (value > std::numeric_limits<std::uint64_t>::max() / 1024) return false;
    value *= 1024;
  } else if (!unit.empty()) {
    return false;
  }
  name = line.substr(0, colon);
  bytes = value;
  return true;
}

bool parse_sysfs_flags(std::string_view text, std::uint32_t& flags) {
  if (text.size() < 3 || text[0] != '0' || (text[1] != 'x' && text[1] != 'X')) return false;
  return parse_hex32(text.substr(2), flags);
}

bool parse_sysfs_int(std::string_view text, std::int32_t& value) {
  const bool negative = !text.empty() && text[0] == '-';
  if (negative) text.remove_prefix(1);
  std::uint64_t magnitude = 0;
  if (text.size() > 10 || !parse_u64(text, magnitude)) return false;
  const std::uint64_t limit = negative ? std::uint64_t{1} << 31 : (std::uint64_t{1} << 31) - 1;
  if (magnitude > limit) return false;
  value = negative ? static_cast<std::int32_t>(-static_cast<std::int64_t>(magnitude)) : static_cast<std::int32_t>(magnitude);
  return true;
}

bool parse_loadavg(std::string_view text, std::uint32_t (&milli)[3]) {
  std::string_view rest = text;
  std::uint32_t values[3];
  for (std::uint32_t& value : values) {
    const std::string_view token = next_token(rest);
    const std::size_t dot = token.find('.');
    if (dot == std::string_view::npos || dot == 0 || token.size() - dot - 1 < 1 || token.size() - dot - 1 > 3) {
      return false;
    }
    std::uint64_t whole = 0;
    std::uint64_t fraction = 0;
    if (!parse_u64(token.substr(0, dot), whole) || !parse_u64(token.substr(dot + 1), fraction)) return false;
    for (std::size_t digits = token.size() - dot - 1; digits < 3; ++digits) fraction *= 10;
    if (whole > 4000000) return false;  // fits in thousandths
    value = static_cast<std::uint32_t>(whole * 1000 + fraction);
  }
  if (next_token(rest).empty()) return false;  // "running/total" follows on every kernel
  for (int i = 0; i < 3; ++i) milli[i] = values[i];
  return true;
}

}  // namespace tether::port
