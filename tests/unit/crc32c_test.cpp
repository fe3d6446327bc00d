// Copyright 2026 The Tether Authors. SPDX-License-Identifier: Apache-2.0
// tether::crc32c (the core's; record_test.cpp checks every path against a bitwise reference through
// the offline queue's names for it).
#include <catch2/catch.hpp>

#include <array>
#include <cstdint>

#include "test_support.hpp"
#include "tether/crc32c.hpp"

using namespace tether;

TEST_CASE("crc32c gives the RFC 3720 (iSCSI) test vectors") {
  std::array<std::uint8_t, 32> bytes{};
  CHECK(crc32c(bytes) == 0x8A9136AAu);
  CHECK(crc32c_software(bytes) == 0x8A9136AAu);
  bytes.fill(0xFF);
  CHECK(crc32c(bytes) == 0x62A8AB43u);
  CHECK(crc32c_software(bytes) == 0x62A8AB43u);
  for (std::size_t i = 0; i < bytes.size(); ++i) bytes[i] = static_cast<std::uint8_t>(i);
  CHECK(crc32c(bytes) == 0x46DD794Eu);
  CHECK(crc32c_software(bytes) == 0x46DD794Eu);
  for (std::size_t i = 0; i < bytes.size(); ++i) bytes[i] = static_cast<std::uint8_t>(31 - i);
  CHECK(crc32c(bytes) == 0x113FDB5Cu);
  CHECK(crc32c_software(bytes) == 0x113FDB5Cu);
}
