// Copyright 2026 The Tether Authors. SPDX-License-Identifier: Apache-2.0
#include "tether/crc32c.hpp"

#include <cstddef>
#include <cstring>

#if defined(__ARM_FEATURE_CRC32)
#include <arm_acle.h>
#endif

namespace tether {
namespace {

// CRC-32C. Hosted builds use the CPU's CRC instruction when there is one (SSE 4.2 on x86-64, found
// at run time; the ARMv8 CRC extension when the compiler targets it) and otherwise slicing-by-8
// over an 8 KiB table; small targets (no OS) keep a 1 KiB table and go a byte at a time.
#if defined(__linux__) || defined(__APPLE__) || defined(_WIN32)
#define TETHER_CRC32C_SLICE8 1
#else
#define TETHER_CRC32C_SLICE8 0
#endif

constexpr std::uint32_t kCrcPoly = 0x82F63B78u;  // Castagnoli, reflected

template <std::size_t Tables>
struct CrcTables {
  std::uint32_t t[Tables][256];
};

template <std::size_t Tables>
constexpr CrcTables<Tables> make_crc_tables() {
  CrcTables<Tables> tables{};
  for (std::uint32_t i = 0; i < 256; ++i) {
    std::uint32_t c = i;
    for (int k = 0; k < 8; ++k) c = (c & 1u) ? (c >> 1) ^ kCrcPoly : c >> 1;
    tables.t[0][i] = c;
  }
  for (std::size_t k = 1; k < Tables; ++k) {
    for (std::uint32_t i = 0; i < 256; ++i) {
      const std::uint32_t prev = tables.t[k - 1][i];
      tables.t[k][i] = (prev >> 8) ^ tables.t[0][prev & 0xFFu];
    }
  }
  return tables;
}

constexpr auto kCrc = make_crc_tables<TETHER_CRC32C_SLICE8 ? 8 : 1>();

// `crc` is the running (inverted) register.
[[maybe_unused]] std::uint32_t crc32c_table(const std::uint8_t* p, std::size_t n, std::uint32_t crc) {
#if TETHER_CRC32C_SLICE8
  while (n >= 8) {
    std::uint32_t lo = 0;
    std::uint32_t hi = 0;
    for (int i = 0; i < 4; ++i) lo |= static_cast<std::uint32_t>(p[i]) << (8 * i);
    for (int i = 0; i < 4; ++i) hi |= static_cast<std::uint32_t>(p[4 + i]) << (8 * i);
    lo ^= crc;
    crc = kCrc.t[7][lo & 0xFFu] ^ kCrc.t[6][(lo >> 8) & 0xFFu] ^ kCrc.t[5][(lo >> 16) & 0xFFu] ^ kCrc.t[4][lo >> 24] ^
          kCrc.t[3][hi & 0xFFu] ^ kCrc.t[2][(hi >> 8) & 0xFFu] ^ kCrc.t[1][(hi >> 16) & 0xFFu] ^ kCrc.t[0][hi >> 24];
    p += 8;
    n -= 8;
  }
#endif
  while (n-- > 0) crc = kCrc.t[0][(crc ^ *p++) & 0xFFu] ^ (crc >> 8);
  return crc;
}

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
#define TETHER_CRC32C_X86 1
__attribute__((target("sse4.2"))) std::uint32_t crc32c_sse42(const std::uint8_t* p, std::size_t n, std::uint32_t crc) {
  std::uint64_t c = crc;
  while (n >= 8) {
    std::uint64_t v;
    std::memcpy(&v, p, 8);
    c = __builtin_ia32_crc32di(c, v);
    p += 8;
    n -= 8;
  }
  auto c32 = static_cast<std::uint32_t>(c);
  while (n-- > 0) c32 = __builtin_ia32_crc32qi(c32, *p++);
  return c32;
}
#endif

}  // namespace

std::uint32_t crc32c(Span<const std::uint8_t> bytes, std::uint32_t crc) {
  const std::uint8_t* p = bytes.data();
  std::size_t n = bytes.size();
  crc = ~crc;
#if defined(__ARM_FEATURE_CRC32)
  while (n >= 4) {
    std::uint32_t v;
    std::memcpy(&v, p, 4);
    crc = __crc32cw(crc, v);
    p += 4;
    n -= 4;
  }
  while (n-- > 0) crc = __crc32cb(crc, *p++);
  return ~crc;
#else
#if defined(TETHER_CRC32C_X86)
  if (__builtin_cpu_supports("sse4.2")) return ~crc32c_sse42(p, n, crc);
#endif
  return ~crc32c_table(p, n, crc);
#endif
}

std::uint32_t crc32c_software(Span<const std::uint8_t> bytes, std::uint32_t crc) {
  return ~crc32c_table(bytes.data(), bytes.size(), ~crc);
}

}  // namespace tether
