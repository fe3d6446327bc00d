// Copyright 2026 The Tether Authors. SPDX-License-Identifier: Apache-2.0
#pragma once

/// @file
/// The offline queue's record format: a pure codec over bytes (no I/O), shared by every LogStore.
///
/// ## Layout (little-endian)
/// ```
/// offset size field
///   0     2  magic 0x54 0x51 ("TQ"): never all-0x00 or all-0xFF, so erased media end a scan
///   2     1  format version (1)
///   3     1  type: 1 = data, 2 = ack marker (every data record with seq <= this seq was delivered)
///   4     4  total length of the record, magic to CRC inclusive
///   8     8  sequence number (per stream, increasing, never reused)
///  16     4  boot id of the process that created the record
///  20     8  creation time, wall clock ms since the Unix epoch (0 = wall time was not valid)
///  28     1  priority (higher outlives lower under storage pressure)
///  29     1  flags: bit 0 QoS 1, bit 1 retain, bit 2 message expiry present, bit 3 encrypted
///  30     2  topic length T
///  32     2  properties length P
///  34     4  payload length N
///  38     T  topic (UTF-8)
///         P  MQTT 5 properties (see below)
///         N  payload
///  end-4  4  CRC-32C (Castagnoli) of every byte before it
/// ```
/// Properties: content type (u8 length + bytes), message expiry (u32, when flag bit 2), response
/// topic (u16 length + bytes), correlation data (u16 length + bytes), user property count (u8) and
/// for each key and value (u16 length + bytes).
///
/// ## Scanning
/// `decode_record()` classifies the bytes at the start of a buffer as a record, more bytes needed,
/// erased space (the clean end of a segment), or corruption. A reader that meets corruption resumes
/// at the next magic (`find_magic()`) so intact records after a damaged one are kept.

#include <cstddef>
#include <cstdint>
#include <string_view>

#include "tether/crc32c.hpp"
#include "tether/fixed_vector.hpp"
#include "tether/limits.hpp"
#include "tether/port/mqtt_client.hpp"
#include "tether/result.hpp"
#include "tether/span.hpp"

#ifndef TETHER_MAX_RECORD
#define TETHER_MAX_RECORD 16384  ///< largest encoded queue record (topic + properties + payload + 42)
#endif

namespace tether::offline {

inline constexpr std::size_t kMaxRecord = TETHER_MAX_RECORD;
inline constexpr std::size_t kRecordHeader = 38;
inline constexpr std::size_t kRecordOverhead = kRecordHeader + 4;  ///< header + CRC
inline constexpr std::uint8_t kRecordMagic0 = 0x54;
inline constexpr std::uint8_t kRecordMagic1 = 0x51;
inline constexpr std::uint8_t kRecordVersion = 1;

enum class RecordType : std::uint8_t { kData = 1, kAck = 2 };

/// What a record holds. Views point into the caller's (encode) or the decoded buffer (decode).
struct Record {
  RecordType type = RecordType::kData;
  std::uint64_t seq = 0;
  std::uint32_t boot_id = 0;
  std::int64_t created_ms = 0;  ///< wall clock; 0 = unknown
  std::uint8_t priority = 0;
  Qos qos = Qos::k1;
  bool retain = false;
  bool encrypted = false;  ///< the payload is an AEAD ciphertext (set by the queue, not the codec)
  std::string_view topic;
  Span<const std::uint8_t> payload;
  std::string_view content_type;
  std::optional<std::uint32_t> message_expiry_s;
  std::string_view response_topic;
  Span<const std::uint8_t> correlation_data;
  FixedVector<UserProperty, kMaxUserProperties> user_properties;

  /// The MQTT 5 properties, viewing this record (valid while it and its buffer live).
  PublishProperties properties() const {
    PublishProperties p;
    p.content_type = content_type;
    p.message_expiry_s = message_expiry_s;
    p.response_topic = response_topic;
    p.correlation_data = correlation_data;
    p.user_properties = Span<const UserProperty>(user_properties.begin(), user_properties.size());
    return p;
  }
};

/// The record CRC: CRC-32C, which lives in the core (tether/crc32c.hpp); these names keep earlier
/// callers of tether::offline::crc32c compiling.
using tether::crc32c;
using tether::crc32c_software;

/// Bytes `record` encodes to, or kOutOfRange (origin kQueue) if a field exceeds its width (topic
/// over 65535 bytes, more than 255 user properties, a property over 65535 bytes) or the result
/// exceeds kMaxRecord.
Result<std::size_t> encoded_size(const Record& record);

/// Encodes `record` into `out`. Returns the bytes written, kOutOfRange as encoded_size(), or
/// kResourceExhausted (kQueue) when `out` is too small.
Result<std::size_t> encode_record(const Record& record, Span<std::uint8_t> out);

enum class DecodeOutcome : std::uint8_t {
  kRecord,    ///< a valid record; `consumed` bytes
  kNeedMore,  ///< the bytes start like a record but end before it does (`consumed` = bytes needed)
  kErased,    ///< erased space (all 0x00 or all 0xFF to the end of the buffer): nothing more here
  kCorrupt,   ///< not a valid record here (bad magic, length, CRC or fields): resume at find_magic()
};

/// Decodes the record at the start of `bytes` into `out` (views into `bytes`).
/// `consumed` is the record's length for kRecord, the total length needed for kNeedMore, 0 otherwise.
DecodeOutcome decode_record(Span<const std::uint8_t> bytes, Record* out, std::size_t* consumed);

/// Offset of the next position in `bytes` at or after `from` where the record magic starts
/// (a two-byte match, or a lone first byte at the very end), or bytes.size() if none.
std::size_t find_magic(Span<const std::uint8_t> bytes, std::size_t from);

/// True if every byte is 0x00 or every byte is 0xFF (an empty span counts as erased).
bool is_erased(Span<const std::uint8_t> bytes);

}  // namespace tether::offline
