// Copyright 2026 The Tether Authors. SPDX-License-Identifier: Apache-2.0
#include "tether/port/kv_store.hpp"

#include <algorithm>
#include <cstddef>
#include <cstdint>

namespace tether {

namespace {

bool is_key_byte(char c) {
  return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' || c == '.' || c == '-';
}

Status bad_key(std::size_t detail) {
  const auto clamped = static_cast<std::uint16_t>(std::min<std::size_t>(detail, 0xFFFF));
  return Status(StatusCode::kInvalidArgument, Origin::kStore, clamped);
}

}  // namespace

Status validate_kv_key(std::string_view key) {
  if (key.empty() || key.size() > kMaxKvKey) return bad_key(key.size());
  for (std::size_t i = 0; i < key.size(); ++i) {
    if (!is_key_byte(key[i]) || (i == 0 && key[i] == '.')) return bad_key(i);
  }
  return Status();
}

}  // namespace tether
