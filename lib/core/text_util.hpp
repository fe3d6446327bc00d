// Copyright 2026 The Tether Authors. SPDX-License-Identifier: Apache-2.0
#pragma once

// Private to lib/core: text helpers shared by the topic, JSON and config codecs.

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
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

/// The length of the text a printf-family call left in `buf`: up to its first NUL, and `size`
/// when there is none (a broken printf). Reads `buf[0, size)` only, whatever the call returned.
///
/// Never take a length from what snprintf returns for a buffer you then read: newlib-nano built
/// without float support (no `-u _printf_float`) skips "%g" and returns a count it never assigned,
/// and GCC (-fprintf-return-value, on from -O1) assumes the C standard's range for a constant
/// format such as "%.15g" (at most 24 characters), so it deletes a clamp such as `n < 32` as dead
/// code. The garbage count then reached the JSON writer as a length and it copied past the buffer.
inline std::size_t printed_length(const char* buf, std::size_t size) {
  const void* nul = std::memchr(buf, '\0', size);
  return nul == nullptr ? size : static_cast<std::size_t>(static_cast<const char*>(nul) - buf);
}

/// Writes `value` as printf's "%.<precision>g" into `buf` (at most `size` bytes with the NUL).
/// Its return value is not used (see printed_length).
using DoubleFormatter = void (*)(char* buf, std::size_t size, int precision, double value);

/// The C library's snprintf: the DoubleFormatter of format_double in the library.
inline void snprintf_double(char* buf, std::size_t size, int precision, double value) {
  static_cast<void>(std::snprintf(buf, size, "%.*g", precision, value));
}

/// True for the text printf's %g makes of a finite double: an optional '-', digits with at most
/// one decimal point ('.' or the C locale's ','), then optionally e or E, a sign and digits.
inline bool is_printed_double(const char* text, std::size_t len) {
  std::size_t i = 0;
  if (i < len && text[i] == '-') ++i;
  std::size_t digits = 0;
  bool point = false;
  for (; i < len; ++i) {
    if (text[i] >= '0' && text[i] <= '9') {
      ++digits;
    } else if ((text[i] == '.' || text[i] == ',') && !point) {
      point = true;
    } else {
      break;
    }
  }
  if (digits == 0) return false;
  if (i == len) return true;
  if (text[i] != 'e' && text[i] != 'E') return false;
  ++i;
  if (i < len && (text[i] == '+' || text[i] == '-')) ++i;
  if (i == len) return false;
  for (; i < len; ++i) {
    if (text[i] < '0' || text[i] > '9') return false;
  }
  return true;
}

/// Formats a finite double with the fewest significant digits (15, else 17) that read back to the
/// same value, always with '.' as the decimal point whatever the C locale. Returns the length of
/// the text in `buf` (NUL-terminated), or 0 when the C library printed no number: a printf
/// without floating point, such as newlib-nano linked without `-u _printf_float`, which prints
/// nothing for "%g" (docs/porting.md). Never reads past `buf`, whatever `formatter` returns or
/// writes. `formatter` is replaceable for tests only.
inline std::size_t format_double(double value, char (&buf)[32], DoubleFormatter formatter = &snprintf_double) {
  std::size_t len = 0;
  for (const int precision : {15, 17}) {
    buf[0] = '\0';
    formatter(buf, sizeof buf, precision, value);
    buf[sizeof buf - 1] = '\0';  // a formatter that left no NUL: its text is refused below
    len = printed_length(buf, sizeof buf);
    if (len == sizeof buf - 1 || !is_printed_double(buf, len)) return 0;
    if (std::strtod(buf, nullptr) == value) break;  // else 17 digits, which always read back
  }
  for (std::size_t i = 0; i < len; ++i) {
    if (buf[i] == ',') buf[i] = '.';
  }
  return len;
}

}  // namespace tether::detail
