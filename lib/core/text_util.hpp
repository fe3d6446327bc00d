// Copyright 2026 The Tether Authors. SPDX-License-Identifier: Apache-2.0
#pragma once

// Private to lib/core: text helpers shared by the topic, JSON and config codecs.

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string_view>

namespace tether::detail {

/// Decodes the UTF-8 sequence that starts at `text[pos]` (pos < text.size()). Returns its length
/// (1..4) and stores the code point in `*code_point`, or returns 0 for an ill-formed sequence:
/// a stray continuation byte, an overlong form (C0, C1, E0 80..9F, F0 80..8F), a surrogate
/// (ED A0..BF), a code point above U+10FFFF (F4 90.., F5..FF) or a sequence cut short.
inline std::size_t decode_utf8(std::string_view text, std::size_t pos, std::uint32_t* code_point) {
  const auto byte = [&](std::size_t i) { return static_cast<std::uint8_t>(text[i]); };
  const std::uint8_t lead = byte(pos);
  if (lead < 0x80) {
    *code_point = lead;
    return 1;
  }
  std::size_t length = 0;
  std::uint32_t cp = 0;
  std::uint8_t low = 0x80;  // allowed range of the first continuation byte
  std::uint8_t high = 0xBF;
  if (lead >= 0xC2 && lead <= 0xDF) {
    length = 2;
    cp = lead & 0x1Fu;
  } else if (lead >= 0xE0 && lead <= 0xEF) {
    length = 3;
    cp = lead & 0x0Fu;
    if (lead == 0xE0) low = 0xA0;   // overlong
    if (lead == 0xED) high = 0x9F;  // surrogates
  } else if (lead >= 0xF0 && lead <= 0xF4) {
    length = 4;
    cp = lead & 0x07u;
    if (lead == 0xF0) low = 0x90;   // overlong
    if (lead == 0xF4) high = 0x8F;  // above U+10FFFF
  } else {
    return 0;
  }
  if (text.size() - pos < length) return 0;
  for (std::size_t i = 1; i < length; ++i) {
    const std::uint8_t b = byte(pos + i);
    const std::uint8_t lo = i == 1 ? low : 0x80;
    const std::uint8_t hi = i == 1 ? high : 0xBF;
    if (b < lo || b > hi) return 0;
    cp = (cp << 6) | (b & 0x3Fu);
  }
  *code_point = cp;
  return length;
}

/// True for code points MQTT says topics SHOULD NOT contain and that brokers such as mosquitto
/// refuse as malformed: C0 and C1 controls, DEL, and the Unicode noncharacters.
inline bool is_mqtt_disallowed_code_point(std::uint32_t cp) {
  if (cp <= 0x1F || (cp >= 0x7F && cp <= 0x9F)) return true;
  if (cp >= 0xFDD0 && cp <= 0xFDEF) return true;
  return (cp & 0xFFFEu) == 0xFFFEu;
}

/// Formats a finite double with the fewest significant digits (15, else 17) that read back to the
/// same value, always with '.' as the decimal point whatever the C locale. Returns the length.
inline std::size_t format_double(double value, char (&buf)[32]) {
  int n = std::snprintf(buf, sizeof buf, "%.15g", value);
  if (n > 0 && std::strtod(buf, nullptr) != value) n = std::snprintf(buf, sizeof buf, "%.17g", value);
  if (n < 0) n = 0;
  std::size_t len = static_cast<std::size_t>(n) < sizeof buf ? static_cast<std::size_t>(n) : sizeof buf - 1;
  for (std::size_t i = 0; i < len; ++i) {
    if (buf[i] == ',') buf[i] = '.';
  }
  return len;
}

}  // namespace tether::detail
