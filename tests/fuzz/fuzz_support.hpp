// Copyright 2026 The Tether Authors. SPDX-License-Identifier: Apache-2.0
#pragma once

// Helpers for the fuzz targets. They re-implement the rules they check (UTF-8, MQTT code points)
// independently of lib/core, so that a fuzzer compares two implementations rather than one with
// itself. Test code: it may allocate.

#include <cmath>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "fuzz_target.hpp"
#include "tether/json.hpp"
#include "tether/status.hpp"

namespace tether::fuzz {

inline std::string_view as_text(const std::uint8_t* data, std::size_t size) {
  return size == 0 ? std::string_view() : std::string_view(reinterpret_cast<const char*>(data), size);
}

/// Well-formed UTF-8 per RFC 3629 / Unicode Table 3-7. Returns the offset of the first ill-formed
/// sequence, or `npos` if there is none. Calls `each(code_point, offset)` for every code point.
template <typename Each>
std::size_t check_utf8(std::string_view s, Each&& each) {
  std::size_t i = 0;
  while (i < s.size()) {
    const auto b0 = static_cast<std::uint8_t>(s[i]);
    std::uint32_t cp = 0;
    std::size_t n = 0;
    std::uint8_t lo = 0x80;
    std::uint8_t hi = 0xBF;
    if (b0 <= 0x7F) {
      each(static_cast<std::uint32_t>(b0), i);
      ++i;
      continue;
    }
    switch (b0) {
      case 0xE0: lo = 0xA0; break;
      case 0xED: hi = 0x9F; break;
      case 0xF0: lo = 0x90; break;
      case 0xF4: hi = 0x8F; break;
      default: break;
    }
    if (b0 >= 0xC2 && b0 <= 0xDF) {
      n = 2;
      cp = b0 & 0x1Fu;
    } else if (b0 >= 0xE0 && b0 <= 0xEF) {
      n = 3;
      cp = b0 & 0x0Fu;
    } else if (b0 >= 0xF0 && b0 <= 0xF4) {
      n = 4;
      cp = b0 & 0x07u;
    } else {
      return i;
    }
    if (s.size() - i < n) return i;
    for (std::size_t k = 1; k < n; ++k) {
      const auto b = static_cast<std::uint8_t>(s[i + k]);
      if (b < (k == 1 ? lo : 0x80) || b > (k == 1 ? hi : 0xBF)) return i;
      cp = (cp << 6) | (b & 0x3Fu);
    }
    each(cp, i);
    i += n;
  }
  return std::string_view::npos;
}

inline bool is_utf8(std::string_view s) {
  return check_utf8(s, [](std::uint32_t, std::size_t) {}) == std::string_view::npos;
}

/// Code points that MQTT says topics should not hold: C0/C1 controls, DEL, noncharacters.
inline bool is_mqtt_bad_code_point(std::uint32_t cp) {
  return cp < 0x20 || (cp >= 0x7F && cp <= 0x9F) || (cp >= 0xFDD0 && cp <= 0xFDEF) || (cp & 0xFFFF) == 0xFFFE ||
         (cp & 0xFFFF) == 0xFFFF;
}

/// One printable ASCII line (what log lines and error texts must be).
inline bool is_printable_line(std::string_view s) {
  for (char c : s) {
    if (static_cast<unsigned char>(c) < 0x20 || static_cast<unsigned char>(c) > 0x7E) return false;
  }
  return true;
}

inline bool contains(std::string_view s, char c) { return s.find(c) != std::string_view::npos; }

/// Writes `v` (at nesting `level`, the root being 0) with `w`. Strings go through
/// `rewrite(container_key, member_key, level, value)`, which returns the string to write (normally
/// `value`). Numbers are written so that every accessor reads back the same: integers exactly,
/// other finite values (and -0) as shortest doubles, and a literal beyond the range of a double
/// (which the API only reports as kOutOfRange, without its sign) as `1e999`.
template <typename Rewrite>
void write_json(json::Writer& w, const json::Value& v, const Rewrite& rewrite, std::size_t level = 0,
                std::string_view container_key = {}) {
  switch (v.type()) {
    case json::Type::kNull: w.null(); break;
    case json::Type::kBool: w.boolean(v.as_bool().value_or(false)); break;
    case json::Type::kNumber: {
      const Result<std::int64_t> i = v.as_int();
      const Result<double> d = v.as_double();
      if (i.ok() && !(*i == 0 && std::signbit(*d))) {  // -0 is integral, but int64 has no -0
        w.number(*i);
      } else if (d.ok()) {
        w.number(*d);
      } else {
        w.raw("1e999");
      }
      break;
    }
    case json::Type::kString:
      w.string(rewrite(container_key, v.key(), level, v.as_string().value_or({})));
      break;
    case json::Type::kArray:
      w.begin_array();
      for (json::Value c = v.first_child(); c.valid(); c = c.next()) write_json(w, c, rewrite, level + 1, v.key());
      w.end_array();
      break;
    case json::Type::kObject:
      w.begin_object();
      for (json::Value c = v.first_child(); c.valid(); c = c.next()) {
        w.key(c.key());
        write_json(w, c, rewrite, level + 1, v.key());
      }
      w.end_object();
      break;
    case json::Type::kInvalid: TETHER_FUZZ_CHECK(!"an invalid node inside a parsed tree"); break;
  }
}

struct Identity {
  std::string_view operator()(std::string_view, std::string_view, std::size_t, std::string_view value) const {
    return value;
  }
};

}  // namespace tether::fuzz
