// Copyright 2026 The Tether Authors. SPDX-License-Identifier: Apache-2.0
#pragma once

/// @file
/// JSON helpers over cJSON. Parsing is bounded (input size and nesting limits) and scoped: the tree
/// lives only during the visitor call and is freed before `parse` returns, so no cJSON object
/// escapes. Writing goes into a caller buffer with no heap at all.
///
/// Input is checked against RFC 8259 before cJSON sees it (cJSON alone accepts control characters
/// as whitespace, raw control characters in strings, leading zeros, invalid UTF-8 and recursion
/// 1000 levels deep), so every syntax error gets a precise position and reason, the stack a parse
/// needs is bounded by kMaxDepth, and cJSON only fails for lack of memory.

#include <cstddef>
#include <cstdint>
#include <string_view>

#include "tether/error_text.hpp"
#include "tether/inplace_function.hpp"
#include "tether/result.hpp"
#include "tether/span.hpp"

#ifndef TETHER_MAX_JSON_DEPTH
#define TETHER_MAX_JSON_DEPTH 16  ///< deepest nesting of arrays/objects parsed or written
#endif

struct cJSON;

namespace tether::json {

/// Deepest nesting of arrays and objects that `parse` accepts and `Writer` writes (the root
/// container is level 1). Bounds cJSON's recursion, i.e. the stack a parse needs.
inline constexpr std::size_t kMaxDepth = TETHER_MAX_JSON_DEPTH;
static_assert(kMaxDepth >= 1 && kMaxDepth <= 255, "TETHER_MAX_JSON_DEPTH must be 1..255");

/// 2^53 - 1: the largest integer a double (and so a JSON number in most readers) holds exactly,
/// with every smaller one.
inline constexpr double kMaxSafeInteger = 9007199254740991.0;
/// 2^63 - 1024: the largest double below 2^63, so the largest that converts to std::int64_t.
inline constexpr double kMaxInt64Double = 9223372036854774784.0;

/// True when `d` is a whole number with |d| <= max_abs (max_abs at most kMaxInt64Double); false
/// for fractions, NaN and infinities. Made by a conversion to std::int64_t and back, not by
/// std::trunc/std::floor: at -Os GCC calls those in libm, which costs a Linux process 300 kB of
/// mapped library and a microcontroller image libm's code.
inline bool whole_number_within(double d, double max_abs) {
  if (!(d <= max_abs && d >= -max_abs)) return false;  // also NaN
  return static_cast<double>(static_cast<std::int64_t>(d)) == d;
}

enum class Type : std::uint8_t { kInvalid, kNull, kBool, kNumber, kString, kArray, kObject };

const char* to_string(Type type);

/// Read-only view of one node; valid only inside the visitor given to `parse`. A missing member or
/// index gives an invalid Value (type kInvalid), so lookups can be chained without checks.
class Value {
 public:
  Value() = default;
  explicit Value(const cJSON* node) : node_(node) {}

  Type type() const;
  bool valid() const { return node_ != nullptr; }
  bool is_object() const { return type() == Type::kObject; }
  bool is_array() const { return type() == Type::kArray; }
  bool is_string() const { return type() == Type::kString; }
  bool is_number() const { return type() == Type::kNumber; }
  bool is_bool() const { return type() == Type::kBool; }
  bool is_null() const { return type() == Type::kNull; }

  /// Member of an object (case-sensitive), or an invalid Value.
  Value operator[](std::string_view key) const;
  /// Element of an array, or an invalid Value.
  Value at(std::size_t index) const;
  /// Number of members or elements (0 for scalars).
  std::size_t size() const;
  /// Name of this node when it is an object member (empty otherwise).
  std::string_view key() const;
  /// First child / next sibling, for iterating members and elements in order.
  Value first_child() const;
  Value next() const;
  /// True when both are the same node of the same tree (identity, not JSON equality).
  bool is(const Value& other) const { return node_ == other.node_; }

  /// kInvalidArgument/kJson when the type differs (or the node is missing). Strings never contain
  /// U+0000 (`parse` refuses `\u0000`), so the view is the whole string.
  Result<std::string_view> as_string() const;
  Result<bool> as_bool() const;
  /// kOutOfRange/kJson for a literal beyond the range of a double (such as 1e999).
  Result<double> as_double() const;
  /// Integral values only (1, 1.0 and 1e2 are integers): kInvalidArgument/kJson for fractions,
  /// kOutOfRange/kJson beyond ±(2^53 - 1), the range in which every integer is exact in a double.
  Result<std::int64_t> as_int() const;

 private:
  const cJSON* node_ = nullptr;
};

using Visitor = InplaceFunction<Status(const Value& root), 8 * sizeof(void*)>;

/// Parses `text` (must be at most `max_bytes`, which is clamped to kMaxJsonInput) and calls `visit`
/// with the root; returns what `visit` returns. The text is one RFC 8259 value with optional
/// surrounding whitespace (and an optional leading UTF-8 byte order mark); strings must be valid
/// UTF-8 and must not contain `\u0000`. Errors before the visit:
/// - kOutOfRange/kJson, detail 0: input too large (`why`: "JSON input too large (N bytes, at most M)")
/// - kOutOfRange/kJson, detail = byte offset: nesting deeper than kMaxDepth
///   (`why`: "JSON nested deeper than 16 levels at line L column C")
/// - kInvalidArgument/kJson, detail = byte offset (clamped to 65535): syntax error
///   (`why`: "invalid JSON at line L column C: <reason>"; lines and columns count from 1, columns in
///   bytes; a truncated document reports the position just past its end)
/// - kResourceExhausted/kJson: cJSON could not allocate the tree
/// - kInternal/kJson: cJSON and the validator disagree (a bug)
Status parse(std::string_view text, std::size_t max_bytes, const Visitor& visit, ErrorText* why = nullptr);

/// Streaming JSON writer into a fixed buffer. Commas and escaping are handled: `"` and `\` are
/// escaped, control characters become \b \f \n \r \t or \u00XX, UTF-8 is copied as is. Integers are
/// exact; doubles use the shortest form that reads back to the same value.
///
/// Errors are sticky: after the first error every call is ignored and finish() returns it:
/// - kResourceExhausted/kJson: the buffer is too small, or nesting deeper than kMaxDepth
/// - kInvalidArgument/kJson: a NaN or infinite number, a string or key that is not valid UTF-8
///   (detail = byte offset in it), an empty raw()
/// - kFailedPrecondition/kJson: misuse of the structure (a value in an object without a key, a key
///   outside an object, a mismatched end, a second top-level value)
/// - kUnimplemented/kJson: number(double) on a C library whose printf has no floating point
///   (newlib-nano linked without `-u _printf_float`, see docs/porting.md)
class Writer {
 public:
  explicit Writer(Span<char> out) : out_(out) {}

  Writer& begin_object();
  Writer& end_object();
  Writer& begin_array();
  Writer& end_array();
  Writer& key(std::string_view name);
  Writer& string(std::string_view value);
  Writer& number(std::int64_t value);
  Writer& number(double value);
  Writer& boolean(bool value);
  Writer& null();
  /// Inserts pre-encoded JSON verbatim (caller guarantees validity).
  Writer& raw(std::string_view json);

  /// The document (a view into the buffer, not NUL-terminated), or the sticky error, or
  /// kFailedPrecondition/kJson when nothing was written or a container or key is left open.
  Result<std::string_view> finish();

 private:
  void put(std::string_view s);
  void put(char c);
  void put_string(std::string_view s);
  bool begin_value();
  void fail(StatusCode code, std::uint16_t detail = 0);

  Span<char> out_;
  std::size_t used_ = 0;
  Status error_;
  std::uint8_t depth_ = 0;
  bool need_comma_[kMaxDepth + 1] = {};  ///< [0]: the top-level value has been written
  bool is_object_[kMaxDepth + 1] = {};
  bool after_key_ = false;
};

}  // namespace tether::json
