// Copyright 2026 The Tether Authors. SPDX-License-Identifier: Apache-2.0
#pragma once

/// @file
/// Settings of the offline queue and its streams (tether/offline/offline_queue.hpp), kept apart so
/// that the configuration (tether/config.hpp) can hold them without the queue itself.

#include <cstddef>
#include <cstdint>
#include <string_view>

#include "tether/port/clock.hpp"

#ifndef TETHER_MAX_STREAMS
#define TETHER_MAX_STREAMS 4  ///< streams per OfflineQueue
#endif
#ifndef TETHER_MAX_QUEUE_SEGMENTS
#define TETHER_MAX_QUEUE_SEGMENTS 64  ///< segments a stream's LogStore may hold
#endif
#ifndef TETHER_MAX_QUEUE_INFLIGHT
#define TETHER_MAX_QUEUE_INFLIGHT 100  ///< most QoS 1 publishes in flight (AWS IoT allows 100)
#endif

namespace tether {

inline constexpr std::size_t kMaxStreams = TETHER_MAX_STREAMS;
inline constexpr std::size_t kMaxQueueSegments = TETHER_MAX_QUEUE_SEGMENTS;
inline constexpr std::size_t kMaxQueueInflight = TETHER_MAX_QUEUE_INFLIGHT;
/// Longest stream name (it is part of every message id).
inline constexpr std::size_t kMaxStreamName = 32;
/// MQTT 5 user property that carries the message id.
inline constexpr std::string_view kMessageIdProperty = "tether-msg-id";
/// JSON member that carries the message id in the 3.1.1 envelope (first member of the object).
inline constexpr std::string_view kMessageIdMember = "tether_msg_id";

enum class Durability : std::uint8_t { kMemory, kBatch, kAlways };
enum class OverflowPolicy : std::uint8_t { kDropOldest, kDropNewest, kReject };
/// How the message id reaches the cloud.
enum class MessageIdMode : std::uint8_t {
  kAuto,          ///< user property under MQTT 5, envelope under 3.1.1
  kUserProperty,  ///< MQTT 5 user property `tether-msg-id`
  kEnvelope,      ///< `"tether_msg_id":"..."` inserted first into a JSON object payload
  kNone,          ///< no id (the cloud cannot de-duplicate)
};

const char* to_string(Durability durability);
const char* to_string(OverflowPolicy policy);

using StreamId = std::uint8_t;

/// A character allowed in a stream name: A-Z a-z 0-9 _ - (names are part of message ids and paths).
constexpr bool is_stream_name_char(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' || c == '-';
}

struct StreamSettings {
  std::string_view name = "telemetry";  ///< [A-Za-z0-9_-], 1..32 bytes, unique per queue
  Durability durability = Durability::kBatch;
  std::uint32_t batch_records = 32;       ///< kBatch: sync after this many records (>= 1)
  Milliseconds batch_interval{100};       ///< kBatch: ... or this long after the first unsynced one
  std::uint64_t max_bytes = 0;            ///< stored bytes (acknowledged ones until their segment goes); 0 = store size
  std::uint32_t max_records = 0;          ///< undelivered records; 0 = no limit but the store's
  Milliseconds ttl{0};                    ///< drop records older than this (wall clock); 0 = keep
  OverflowPolicy overflow = OverflowPolicy::kDropOldest;
  std::uint8_t priority = 0;              ///< higher survives storage pressure longer
  /// Bundling, for cost: consecutive records of the stream with the same topic and no MQTT 5
  /// properties go out as one message, a JSON array of their (JSON object) payloads, each with its
  /// message id inserted as first member, up to this many bytes. 0 = one message per record.
  std::uint32_t bundle_max_bytes = 0;
  /// Encryption at rest (needs OfflineQueue::set_encryption): payloads are stored sealed with
  /// AES-256-GCM under a key derived for this stream. Topics and properties stay readable.
  bool encrypt = false;
};

struct QueueSettings {
  std::uint16_t max_inflight = 20;        ///< QoS 1 publishes outstanding, 1..kMaxQueueInflight
  MessageIdMode message_id = MessageIdMode::kAuto;
  std::uint64_t max_total_bytes = 0;      ///< stored bytes over every stream; 0 = no shared budget
  Milliseconds ack_flush_interval{1000};  ///< how often delivery progress is written to the stores
  std::uint32_t ack_flush_records = 256;  ///< ...and after this many acknowledged records (0 = by time only)
  /// Identifies this run of the firmware in message ids (with the stream and sequence number).
  /// Use a random value per process start (Crypto port, getrandom); 0 is a contract violation.
  std::uint32_t boot_id = 0;
};

}  // namespace tether
