// Copyright 2026 The Tether Authors. SPDX-License-Identifier: Apache-2.0
// IP address text (RFC 5952 output, RFC 4291 input) and the small helpers of the snapshot model.

#include <cstring>

#include "tether/metrics/snapshot.hpp"

namespace tether::metrics {
namespace {

Status metrics_error(StatusCode code) { return Status(code, Origin::kMetrics, 0); }

int hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

// A dotted quad into out[0..3]; no leading zeros ("01"), each octet 0..255.
bool parse_v4(std::string_view text, std::uint8_t* out) {
  std::size_t i = 0;
  for (int octet = 0; octet < 4; ++octet) {
    if (octet > 0) {
      if (i >= text.size() || text[i] != '.') return false;
      ++i;
    }
    const std::size_t start = i;
    unsigned value = 0;
    while (i < text.size() && text[i] >= '0' && text[i] <= '9' && i - start < 3) {
      value = value * 10 + static_cast<unsigned>(text[i] - '0');
      ++i;
    }
    const std::size_t digits = i - start;
    if (digits == 0 || value > 255 || (digits > 1 && text[start] == '0')) return false;
    out[octet] = static_cast<std::uint8_t>(value);
  }
  return i == text.size();
}

// Appends to a bounded buffer; `ok` turns false on overflow.
struct Out {
  Span<char> buf;
  std::size_t used = 0;
  bool ok = true;
  void put(char c) {
    if (used >= buf.size()) {
      ok = false;
      return;
    }
    buf[used++] = c;
  }
  void put_dec(unsigned v) {
    char digits[3];
    int n = 0;
    do {
      digits[n++] = static_cast<char>('0' + v % 10);
      v /= 10;
    } while (v != 0);
    while (n > 0) put(digits[--n]);
  }
  void put_hex(unsigned v) {
    static constexpr char kHex[] = "0123456789abcdef";
    bool started = false;
    for (int shift = 12; shift >= 0; shift -= 4) {
      const unsigned nibble = (v >> shift) & 0xF;
      if (nibble != 0 || started || shift == 0) {
        put(kHex[nibble]);
        started = true;
      }
    }
  }
};

}  // namespace

const char* to_string(HardwareKind kind) {
  switch (kind) {
    case HardwareKind::kSpi: return "spi";
    case HardwareKind::kI2c: return "i2c";
    case HardwareKind::kUsb: return "usb";
    case HardwareKind::kSerial: return "serial";
  }
  return "?";
}

bool IpAddress::is_unspecified() const {
  if (family == Family::kNone) return false;
  const std::size_t n = family == Family::kV4 ? 4 : 16;
  for (std::size_t i = 0; i < n; ++i) {
    if (bytes[i] != 0) return false;
  }
  return true;
}

IpAddress IpAddress::unmapped() const {
  if (family != Family::kV6) return *this;
  for (std::size_t i = 0; i < 10; ++i) {
    if (bytes[i] != 0) return *this;
  }
  if (bytes[10] != 0xFF || bytes[11] != 0xFF) return *this;
  return v4(bytes[12], bytes[13], bytes[14], bytes[15]);
}

bool IpAddress::operator==(const IpAddress& other) const {
  if (family != other.family) return false;
  const std::size_t n = family == Family::kV4 ? 4 : family == Family::kV6 ? 16 : 0;
  return std::memcmp(bytes.data(), other.bytes.data(), n) == 0;
}

Result<std::string_view> format_address(const IpAddress& ip, Span<char> out) {
  Out o{out};
  if (ip.family == IpAddress::Family::kV4) {
    for (int i = 0; i < 4; ++i) {
      if (i > 0) o.put('.');
      o.put_dec(ip.bytes[static_cast<std::size_t>(i)]);
    }
  } else if (ip.family == IpAddress::Family::kV6) {
    unsigned groups[8];
    for (std::size_t g = 0; g < 8; ++g) groups[g] = (static_cast<unsigned>(ip.bytes[2 * g]) << 8) | ip.bytes[2 * g + 1];
    // RFC 5952 4.2: the longest run of zero groups (at least two), the first one on a tie.
    int best_start = -1;
    int best_len = 0;
    for (int g = 0; g < 8;) {
      if (groups[g] != 0) {
        ++g;
        continue;
      }
      int end = g;
      while (end < 8 && groups[end] == 0) ++end;
      if (end - g > best_len && end - g >= 2) {
        best_start = g;
        best_len = end - g;
      }
      g = end;
    }
    for (int g = 0; g < 8;) {
      if (g == best_start) {
        o.put(':');
        o.put(':');
        g += best_len;
        continue;
      }
      if (g > 0 && !(best_start >= 0 && g == best_start + best_len)) o.put(':');  // "::" ends in one
      o.put_hex(groups[g]);
      ++g;
    }
  } else {
    return metrics_error(StatusCode::kInvalidArgument);
  }
  if (!o.ok) return metrics_error(StatusCode::kResourceExhausted);
  return std::string_view(out.data(), o.used);
}

Result<IpAddress> parse_address(std::string_view text) {
  if (text.find(':') == std::string_view::npos) {
    std::uint8_t b[4];
    if (!parse_v4(text, b)) return metrics_error(StatusCode::kInvalidArgument);
    return IpAddress::v4(b[0], b[1], b[2], b[3]);
  }
  // IPv6: up to eight 16-bit groups, one "::", optionally ending in a dotted quad.
  std::uint16_t head[8];
  std::uint16_t tail[8];
  int head_n = 0;
  int tail_n = 0;
  bool compressed = false;
  std::size_t i = 0;
  if (text.size() >= 2 && text[0] == ':' && text[1] == ':') {
    compressed = true;
    i = 2;
  } else if (!text.empty() && text[0] == ':') {
    return metrics_error(StatusCode::kInvalidArgument);
  }
  while (i < text.size()) {
    // A dotted quad ends the address.
    const std::size_t next_colon = text.find(':', i);
    const std::string_view piece = text.substr(i, next_colon == std::string_view::npos ? text.npos : next_colon - i);
    if (piece.find('.') != std::string_view::npos) {
      if (next_colon != std::string_view::npos) return metrics_error(StatusCode::kInvalidArgument);
      std::uint8_t b[4];
      if (!parse_v4(piece, b)) return metrics_error(StatusCode::kInvalidArgument);
      std::uint16_t* groups = compressed ? tail : head;
      int& n = compressed ? tail_n : head_n;
      if (head_n + tail_n + 2 > 8) return metrics_error(StatusCode::kInvalidArgument);
      groups[n++] = static_cast<std::uint16_t>((b[0] << 8) | b[1]);
      groups[n++] = static_cast<std::uint16_t>((b[2] << 8) | b[3]);
      i = text.size();
      break;
    }
    if (piece.empty() || piece.size() > 4) return metrics_error(StatusCode::kInvalidArgument);
    unsigned value = 0;
    for (char c : piece) {
      const int v = hex_value(c);
      if (v < 0) return metrics_error(StatusCode::kInvalidArgument);
      value = (value << 4) | static_cast<unsigned>(v);
    }
    if (head_n + tail_n >= 8) return metrics_error(StatusCode::kInvalidArgument);
    if (compressed) {
      tail[tail_n++] = static_cast<std::uint16_t>(value);
    } else {
      head[head_n++] = static_cast<std::uint16_t>(value);
    }
    i += piece.size();
    if (i == text.size()) break;
    // i is at a ':'
    if (i + 1 < text.size() && text[i + 1] == ':') {
      if (compressed) return metrics_error(StatusCode::kInvalidArgument);  // a second "::"
      compressed = true;
      i += 2;
    } else {
      ++i;
      if (i == text.size()) return metrics_error(StatusCode::kInvalidArgument);  // a trailing ':'
    }
  }
  const int total = head_n + tail_n;
  if ((compressed && total > 7) || (!compressed && total != 8)) return metrics_error(StatusCode::kInvalidArgument);
  std::array<std::uint8_t, 16> raw{};
  for (int g = 0; g < head_n; ++g) {
    raw[static_cast<std::size_t>(2 * g)] = static_cast<std::uint8_t>(head[g] >> 8);
    raw[static_cast<std::size_t>(2 * g + 1)] = static_cast<std::uint8_t>(head[g] & 0xFF);
  }
  for (int g = 0; g < tail_n; ++g) {
    const int at = 8 - tail_n + g;
    raw[static_cast<std::size_t>(2 * at)] = static_cast<std::uint8_t>(tail[g] >> 8);
    raw[static_cast<std::size_t>(2 * at + 1)] = static_cast<std::uint8_t>(tail[g] & 0xFF);
  }
  return IpAddress::v6(raw);
}

}  // namespace tether::metrics
