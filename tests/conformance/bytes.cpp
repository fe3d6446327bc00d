// Copyright 2026 The Tether Authors. SPDX-License-Identifier: Apache-2.0
#include "bytes.hpp"

namespace tether::conformance {

Bytes pattern(std::size_t size, unsigned seed) {
  Bytes bytes(size);
  for (std::size_t i = 0; i < size; ++i) bytes[i] = static_cast<std::uint8_t>(1 + (seed * 31 + i * 7) % 254);
  return bytes;
}

Span<const std::uint8_t> view(const Bytes& bytes) { return Span<const std::uint8_t>(bytes.data(), bytes.size()); }

bool all_equal(const Bytes& bytes, std::uint8_t value) {
  for (std::uint8_t b : bytes) {
    if (b != value) return false;
  }
  return true;
}

}  // namespace tether::conformance
