// Copyright 2026 The Tether Authors. SPDX-License-Identifier: Apache-2.0
#pragma once
// Private helpers of the shadow session (not installed).

#include <cstdint>
#include <string_view>

#include "tether/error_text.hpp"
#include "tether/fixed_string.hpp"
#include "tether/port/kv_store.hpp"
#include "tether/shadow/shadow.hpp"
#include "tether/span.hpp"

namespace tether::shadow {

inline Span<const std::uint8_t> as_bytes(std::string_view text) {
  return Span<const std::uint8_t>(reinterpret_cast<const std::uint8_t*>(text.data()), text.size());
}

/// The KvStore key of a shadow's replica: settings.store_key, or "shadow" / "shadow.<name>", or
/// "shadow.<8 hex digits>" (CRC-32C of the name) for a name that is not a valid key. Returns ok or
/// kInvalidArgument/kStore (a store_key that breaks the key rules; `why` says so).
Status derive_store_key(const ShadowSettings& settings, FixedString<kMaxKvKey>& out, ErrorText* why);

}  // namespace tether::shadow
