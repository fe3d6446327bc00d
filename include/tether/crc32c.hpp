// Copyright 2026 The Tether Authors. SPDX-License-Identifier: Apache-2.0
#pragma once

/// @file
/// CRC-32C (Castagnoli): the checksum of the offline queue's records and of KvStore values.
///
/// Parameters: polynomial 0x1EDC6F41 (0x82F63B78 reflected), reflected input and output, initial
/// value and final xor 0xFFFFFFFF; check value crc32c("123456789") = 0xE3069283, and 0 for no bytes.
/// Pure functions over bytes: no state, no allocation, callable from any thread.

#include <cstdint>

#include "tether/span.hpp"

namespace tether {

/// CRC-32C of `bytes`; `crc` chains calls: crc32c(b, crc32c(a)) == crc32c(a followed by b). Uses the
/// CPU's CRC instruction where there is one (x86-64 SSE 4.2, detected at run time; ARMv8 CRC when
/// compiled for it), else tables (slicing-by-8 on hosted builds, 8 KiB; a 1 KiB table elsewhere).
std::uint32_t crc32c(Span<const std::uint8_t> bytes, std::uint32_t crc = 0);

/// The table implementation alone (what crc32c() falls back to); same results.
std::uint32_t crc32c_software(Span<const std::uint8_t> bytes, std::uint32_t crc = 0);

}  // namespace tether
