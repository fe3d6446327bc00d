// Copyright 2026 The Tether Authors. SPDX-License-Identifier: Apache-2.0
#pragma once

/// @file
/// Byte helpers shared by the conformance suites and the implementations' own tests.

#include <cstddef>
#include <cstdint>
#include <vector>

#include "tether/span.hpp"

namespace tether::conformance {

using Bytes = std::vector<std::uint8_t>;
/// Distinct, recognisable bytes that are never 0x00 or 0xFF (so they differ from either erased value).
Bytes pattern(std::size_t size, unsigned seed);
Span<const std::uint8_t> view(const Bytes& bytes);
bool all_equal(const Bytes& bytes, std::uint8_t value);

}  // namespace tether::conformance
