// Copyright 2026 The Tether Authors. SPDX-License-Identifier: Apache-2.0
#pragma once
// Private to lib/offline: helpers shared by offline_queue.cpp (storage, recovery) and
// offline_delivery.cpp (sending, acknowledgements).

#include <cstdint>
#include <cstdio>
#include <cstring>

#include "tether/offline/offline_queue.hpp"

namespace tether::offline_detail {

using offline::DecodeOutcome;
using offline::Record;
using offline::RecordType;

// Log arguments: %lu with this cast works on every target (a uint32_t is unsigned int on Linux and
// unsigned long on newlib); 64-bit values are printed as %s of a tether::Decimal (tether/decimal.hpp).
inline unsigned long ul(std::uint32_t v) { return v; }

inline constexpr std::size_t kNoIndex = static_cast<std::size_t>(-1);
inline constexpr std::uint16_t kDroppedNewest = 1;

inline Status queue_error(StatusCode code, std::uint16_t detail = 0) { return Status(code, Origin::kQueue, detail); }

inline bool valid_stream_name(std::string_view name) {
  if (name.empty() || name.size() > kMaxStreamName) return false;
  for (char c : name) {
    if (!is_stream_name_char(c)) return false;
  }
  return true;
}

// A broker answer that sending again cannot change: the record is dropped as refused.
inline bool permanent_refusal(Status result) {
  switch (result.code()) {
    case StatusCode::kPermissionDenied:
    case StatusCode::kInvalidArgument:
    case StatusCode::kOutOfRange:
      return true;
    default:
      return false;
  }
}

inline std::uint64_t saturating_sub(std::uint64_t a, std::uint64_t b) { return a > b ? a - b : 0; }

inline bool is_json_space(std::uint8_t c) { return c == ' ' || c == '\t' || c == '\r' || c == '\n'; }

// True if `payload` starts (after white space) like a JSON object.
inline bool looks_like_object(Span<const std::uint8_t> payload) {
  std::size_t i = 0;
  while (i < payload.size() && is_json_space(payload[i])) ++i;
  return i < payload.size() && payload[i] == '{';
}

// Writes `{"tether_msg_id":"<id>",` + the rest of the JSON object `payload` (or `}` for an empty
// object) into `out`. Returns the bytes written, or 0 when it does not fit or `payload` is not an
// object.
inline std::size_t write_envelope(std::uint8_t* out, std::size_t capacity, std::string_view id,
                           Span<const std::uint8_t> payload) {
  std::size_t i = 0;
  while (i < payload.size() && is_json_space(payload[i])) ++i;
  if (i == payload.size() || payload[i] != '{') return 0;
  std::size_t j = i + 1;
  while (j < payload.size() && is_json_space(payload[j])) ++j;
  const bool empty_object = j < payload.size() && payload[j] == '}';
  const std::size_t rest = payload.size() - (empty_object ? j : i + 1);
  const std::size_t head = 2 + kMessageIdMember.size() + 3 + id.size() + 1 + (empty_object ? 0 : 1);
  if (head + rest > capacity) return 0;
  std::uint8_t* p = out;
  *p++ = '{';
  *p++ = '"';
  std::memcpy(p, kMessageIdMember.data(), kMessageIdMember.size());
  p += kMessageIdMember.size();
  *p++ = '"';
  *p++ = ':';
  *p++ = '"';
  std::memcpy(p, id.data(), id.size());
  p += id.size();
  *p++ = '"';
  if (!empty_object) *p++ = ',';
  std::memcpy(p, payload.data() + (payload.size() - rest), rest);
  return head + rest;
}

// "<boot id, 8 hex digits>-<stream>-<seq>": the record's message id (formatted by hand: it is on
// the path of every message sent). Returns its length, or 0 if it does not fit.
inline std::size_t format_message_id(char* out, std::size_t capacity, std::uint32_t boot_id, const char* stream,
                                     std::uint64_t seq) {
  constexpr char kHex[] = "0123456789abcdef";
  char digits[20];
  std::size_t nd = 0;
  do {
    digits[nd++] = static_cast<char>('0' + seq % 10);
    seq /= 10;
  } while (seq != 0);
  const std::size_t name_len = std::strlen(stream);
  const std::size_t len = 8 + 1 + name_len + 1 + nd;
  if (len >= capacity) return 0;
  for (int i = 0; i < 8; ++i) out[i] = kHex[(boot_id >> (28 - 4 * i)) & 0xFu];
  out[8] = '-';
  std::memcpy(out + 9, stream, name_len);
  out[9 + name_len] = '-';
  for (std::size_t k = 0; k < nd; ++k) out[10 + name_len + k] = digits[nd - 1 - k];
  out[len] = '\0';
  return len;
}


// Nonce: boot id (4 bytes LE) || sequence number (8 bytes LE). AAD: topic || seq || boot id.
inline void record_nonce(const Record& r, std::uint8_t (&nonce)[port::Crypto::kAeadNonceSize]) {
  for (int i = 0; i < 4; ++i) nonce[i] = static_cast<std::uint8_t>(r.boot_id >> (8 * i));
  for (int i = 0; i < 8; ++i) nonce[4 + i] = static_cast<std::uint8_t>(r.seq >> (8 * i));
}

inline std::size_t record_aad(const Record& r, std::uint8_t* out, std::size_t capacity) {
  if (r.topic.size() + 12 > capacity) return 0;
  std::memcpy(out, r.topic.data(), r.topic.size());
  std::uint8_t nonce[port::Crypto::kAeadNonceSize];
  record_nonce(r, nonce);
  for (int i = 0; i < 8; ++i) out[r.topic.size() + i] = nonce[4 + i];
  for (int i = 0; i < 4; ++i) out[r.topic.size() + 8 + i] = nonce[i];
  return r.topic.size() + 12;
}


}  // namespace tether::offline_detail
