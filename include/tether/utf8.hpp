// Copyright 2026 The Tether Authors. SPDX-License-Identifier: Apache-2.0
#pragma once
/// @file
/// UTF-8 helpers shared by the codecs: strict decoding and cutting text without splitting a
/// character. Header-only, heap-free.

#include <cstddef>
#include <cstdint>
#include <string_view>

namespace tether::utf8 {

/// Decodes the UTF-8 sequence that starts at `text[pos]` (pos < text.size()). Returns its length
/// (1..4) and stores the code point in `*code_point`, or returns 0 for an ill-formed sequence:
/// a stray continuation byte, an overlong form (C0, C1, E0 80..9F, F0 80..8F), a surrogate
/// (ED A0..BF), a code point above U+10FFFF (F4 90.., F5..FF) or a sequence cut short.
inline std::size_t decode(std::string_view text, std::size_t pos, std::uint32_t* code_point) {
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

/// Offset of the first ill-formed sequence in `text` (see decode), or npos when it is all UTF-8.
inline std::size_t first_invalid(std::string_view text) {
  std::uint32_t cp = 0;
  for (std::size_t i = 0; i < text.size();) {
    const std::size_t n = decode(text, i, &cp);
    if (n == 0) return i;
    i += n;
  }
  return std::string_view::npos;
}

/// At most `max_bytes` bytes of `text`, not cutting a UTF-8 sequence (the cut moves back to the
/// start of the character it would split).
inline std::string_view prefix_bytes(std::string_view text, std::size_t max_bytes) {
  if (text.size() <= max_bytes) return text;
  std::size_t n = max_bytes;
  while (n > 0 && (static_cast<unsigned char>(text[n]) & 0xC0) == 0x80) --n;
  return text.substr(0, n);
}

/// At most `max_chars` characters of `text` (a byte that is not a continuation byte starts one).
inline std::string_view prefix_chars(std::string_view text, std::size_t max_chars) {
  std::size_t chars = 0;
  for (std::size_t i = 0; i < text.size(); ++i) {
    if ((static_cast<unsigned char>(text[i]) & 0xC0) == 0x80) continue;
    if (chars++ == max_chars) return text.substr(0, i);
  }
  return text;
}

}  // namespace tether::utf8
