// Copyright 2026 The Tether Authors. SPDX-License-Identifier: Apache-2.0
#pragma once

/// @file
/// Shadow document codec: pure functions over JSON text and parsed values (no I/O, no clock, no
/// session state), shared by the shadow session and driven directly by the unit tests and the
/// fuzzer. Semantics follow the AWS IoT Device Shadow service (PROTOCOLS.md §1):
/// - merge: objects merge recursively, `null` deletes a key, arrays and scalars replace whole,
///   objects left empty are removed;
/// - equality: JSON equality (`true` is not `1`; `1` and `1.0` are the same number);
/// - limits: a section (`desired`, `reported`) may nest at most kMaxStateDepth levels of
///   objects/arrays (the section object itself is level 1), arrays may not hold `null`, desired +
///   reported together at most kMaxStateBytes of compact JSON.
///
/// Every function that writes takes a caller buffer and returns the written text as a view into it
/// (not NUL-terminated), or kResourceExhausted/kJson when the buffer is too small.

#include <cstddef>
#include <cstdint>
#include <string_view>

#include "tether/error_text.hpp"
#include "tether/json.hpp"
#include "tether/result.hpp"
#include "tether/span.hpp"

namespace tether::shadow {

/// AWS IoT: desired + reported at most 8 KB (metadata not counted).
inline constexpr std::size_t kMaxStateBytes = 8192;
/// AWS IoT: "JSON contains too many levels of nesting; maximum is 6" (counted from the section).
inline constexpr std::size_t kMaxStateDepth = 6;
/// AWS IoT: clientToken at most 64 bytes.
inline constexpr std::size_t kMaxClientToken = 64;
/// Longest key path a handler can be registered for (`telemetry.interval_s`).
inline constexpr std::size_t kMaxKeyPath = 128;

/// How merge() treats `null` in the patch.
enum class MergeMode : std::uint8_t {
  kApply,       ///< `null` deletes the key; objects left empty are removed (what the service does)
  kAccumulate,  ///< `null` is kept as a value: coalesces two patches into one (later wins)
};

/// JSON equality of two parsed values (both invalid counts as equal). A number beyond the range of
/// a double (`1e999`, which json::Value cannot read) equals no number, itself included.
bool equal(const json::Value& a, const json::Value& b);

/// The member at a dotted key path (`telemetry.interval_s`) or an invalid Value. A path names
/// object members only; an empty path is the root itself, an empty level (`a.`, `.a`) the key "".
json::Value find(const json::Value& root, std::string_view path);

/// Checks a key path for register/report: 1..kMaxKeyPath bytes, levels separated by `.`, no empty
/// level, no `"`, `\`, control characters or ill-formed UTF-8. ok or kInvalidArgument/kShadow
/// (detail = byte offset; the length for an empty or over-long path).
Status validate_key_path(std::string_view path, ErrorText* why = nullptr);

/// Writes `value` (any JSON value) to `writer`; numbers that are integers within ±(2^53 - 1) are
/// written as integers, others in the shortest form that reads back the same. A number beyond the
/// range of a double (`1e999`) cannot be written: the writer fails with kInvalidArgument/kJson.
void write_value(json::Writer& writer, const json::Value& value);

/// `base` with `patch` applied (both objects; an invalid or non-object base counts as `{}`), as an
/// object written to `writer` (as the value of a key already written, or at top level). With
/// kApply, returns false and writes nothing when the result would be an empty object (so the
/// caller can drop the key); with kAccumulate it always writes and returns true.
bool write_merged(json::Writer& writer, const json::Value& base, const json::Value& patch, MergeMode mode);

/// Text form of merge: `patch` (a JSON object) applied to `base` (a JSON object, or empty text for
/// `{}`) into `out`. kApply yields `{}` when everything was deleted. Errors: the parse errors of
/// json::parse, kInvalidArgument/kJson when either is not an object or the result would hold a
/// number beyond the range of a double (see write_value), kResourceExhausted/kJson.
Result<std::string_view> merge(std::string_view base, std::string_view patch, MergeMode mode, Span<char> out);

/// The members of `local` whose value differs from (or is missing in) `remote`, recursively for
/// objects present on both sides (arrays and scalars compare whole). Returns false and writes
/// nothing when there is no difference.
bool write_diff(json::Writer& writer, const json::Value& local, const json::Value& remote);

/// Writes `{"a":{"b":<value>}}` for the path `a.b` (the value written by `write_leaf`, called once
/// with the writer positioned for the value).
template <typename WriteLeaf>
void write_path_patch(json::Writer& writer, std::string_view path, WriteLeaf&& write_leaf);

/// Depth (levels of objects/arrays: scalars 0, `{}` 1) and whether an array holds `null`.
struct Shape {
  std::size_t depth = 0;
  bool null_in_array = false;
};
Shape shape_of(const json::Value& value);

/// Checks a state section (the `desired` or `reported` object) against the service's rules:
/// ok, kOutOfRange/kShadow (detail = depth) when nested deeper than kMaxStateDepth,
/// kInvalidArgument/kShadow when an array holds null, kInvalidArgument/kShadow when not an object.
Status check_section(const json::Value& section, ErrorText* why = nullptr);

// ---- responses from the service --------------------------------------------------------------

/// The fields every shadow response may carry. Views are valid during the parse visitor only.
struct ResponseFields {
  std::string_view client_token;  ///< empty when absent
  std::int64_t version = -1;      ///< -1 when absent
  std::int64_t timestamp = -1;    ///< -1 when absent
  std::int64_t code = 0;          ///< error documents: the HTTP-style code (0 when absent)
  std::string_view message;       ///< error documents: the message
};

/// Reads the common fields of a response document (an object). kInvalidArgument/kShadow when the
/// root is not an object or a field has the wrong type (detail: 1 clientToken, 2 version,
/// 3 timestamp, 4 code, 5 message), kOutOfRange/kShadow (same detail) when version, timestamp or
/// code is negative.
Status read_response_fields(const json::Value& root, ResponseFields& out, ErrorText* why = nullptr);

// ---- template implementation -------------------------------------------------------------------

template <typename WriteLeaf>
void write_path_patch(json::Writer& writer, std::string_view path, WriteLeaf&& write_leaf) {
  writer.begin_object();
  std::size_t depth = 1;
  for (;;) {
    const std::size_t dot = path.find('.');
    writer.key(path.substr(0, dot));
    if (dot == std::string_view::npos) break;
    path.remove_prefix(dot + 1);
    writer.begin_object();
    ++depth;
  }
  write_leaf(writer);
  while (depth-- > 0) writer.end_object();
}

}  // namespace tether::shadow
