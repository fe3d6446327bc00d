// Copyright 2026 The Tether Authors. SPDX-License-Identifier: Apache-2.0
#pragma once

// Private to lib/core: text helpers shared by the topic, JSON and config codecs.

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string_view>

#include "tether/utf8.hpp"

namespace tether::detail {

/// See tether::utf8::decode.
inline std::size_t decode_utf8(std::string_view text, std::size_t pos, std::uint32_t* code_point) {
  return utf8::decode(text, pos, code_point);
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
