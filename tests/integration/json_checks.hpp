// Copyright 2026 The Tether Authors. SPDX-License-Identifier: Apache-2.0
#pragma once
// JSON checks the cloudsim integration tests share: documents parsed, values found by key path
// (shadow::find) and compared as JSON (shadow::equal), never as strings.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "tether/json.hpp"
#include "tether/limits.hpp"
#include "tether/shadow/document.hpp"
#include "tether/shadow/shadow.hpp"

namespace tether::test {

/// The compact JSON text of a value (for records and failure messages).
inline std::string json_text(const json::Value& value) {
  std::string buffer(shadow::kStateBytes + 64, '\0');
  json::Writer writer(Span<char>(buffer.data(), buffer.size()));
  shadow::write_value(writer, value);
  const Result<std::string_view> text = writer.finish();
  return text.ok() ? std::string(text.value()) : "<too large>";
}

/// The compact JSON text of the value at `path` ("" = the root) of `doc`; "" when there is none.
inline std::string value_at(std::string_view doc, std::string_view path) {
  std::string out;
  json::parse(doc, kMaxJsonInput, [&](const json::Value& root) -> Status {
    const json::Value value = shadow::find(root, path);
    if (value.valid()) out = json_text(value);
    return Status();
  }).ignore();
  return out;
}

/// True when the value at `path` ("" = the root) of the JSON document `doc` equals the JSON value
/// `expected`; an empty `expected` means "there is no value at `path`". False when `doc` is not JSON.
inline bool value_at_is(std::string_view doc, std::string_view path, std::string_view expected) {
  bool result = false;
  const Status parsed = json::parse(doc, kMaxJsonInput, [&](const json::Value& root) -> Status {
    const json::Value actual = shadow::find(root, path);
    if (expected.empty()) {
      result = !actual.valid();
      return Status();
    }
    return json::parse(expected, kMaxJsonInput, [&](const json::Value& want) -> Status {
      result = actual.valid() && shadow::equal(actual, want);
      return Status();
    });
  });
  return parsed.ok() && result;
}

/// The integer at `path` of `doc`, if there is one.
inline std::optional<std::int64_t> int_at(std::string_view doc, std::string_view path) {
  std::optional<std::int64_t> out;
  json::parse(doc, kMaxJsonInput, [&](const json::Value& root) -> Status {
    const Result<std::int64_t> value = shadow::find(root, path).as_int();
    if (value.ok()) out = value.value();
    return Status();
  }).ignore();
  return out;
}

}  // namespace tether::test
