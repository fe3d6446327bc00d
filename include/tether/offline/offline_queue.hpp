// Copyright 2026 The Tether Authors. SPDX-License-Identifier: Apache-2.0
#pragma once

/// @file
/// `tether::OfflineQueue`: durable store-and-forward for telemetry (target `tether::offline`).
///
/// Every publish goes into a *stream*: an ordered log on a LogStore (segment files on Linux, a flash
/// partition on an MCU, RAM for `memory` streams). While the agent is connected the queue sends each
/// stream in order, keeping at most `max_inflight` QoS 1 publishes outstanding; a record leaves the
/// queue only after its PUBACK. After a reconnect, a crash or a power cut, unacknowledged records are
/// sent again with the same message id (at-least-once; the cloud de-duplicates on the id).
///
/// ## Durability per stream
/// - `kMemory`: nothing is synced; records survive a reconnect, not a reset (use a RamLogStore).
/// - `kBatch`: a group commit every `batch_records` records or `batch_interval` after the first
///   unsynced one, whichever comes first; a power cut loses at most that window.
/// - `kAlways`: publish() returns only after the record is durable (one sync per record).
///
/// ## Bounds and overflow
/// A stream is bounded by its store (segments x capacity), `max_bytes`, `max_records` and `ttl`.
/// When full: `kDropOldest` deletes the oldest segment (whole segments: size them so one is an
/// acceptable loss), `kDropNewest` discards the incoming record, `kReject` refuses it
/// (kResourceExhausted, the caller keeps it: back-pressure). When the medium itself is full
/// (ENOSPC) or `max_total_bytes` is reached, the oldest segments of lower-priority streams go first:
/// alarms outlive bulk telemetry. Every dropped record is counted in StreamStats and reported to the
/// drop handler.
///
/// ## Recovery
/// add_stream() rebuilds the stream from its store: records are checked by CRC, a torn tail is cut
/// off (the store is told where the intact data ends), a corrupted region is skipped and the intact
/// records before and after it are kept. What was found is in StreamStats and the log.
///
/// ## Memory
/// No heap. The queue holds three record buffers of kMaxRecord bytes (encode, read, send) and
/// per-stream segment tables; see docs/memory.md.

#include <cstdint>
#include <string_view>

#include "tether/agent.hpp"
#include "tether/fixed_string.hpp"
#include "tether/fixed_vector.hpp"
#include "tether/offline/record.hpp"
#include "tether/offline/settings.hpp"
#include "tether/port/crypto.hpp"
#include "tether/port/log_store.hpp"

namespace tether {

enum class DropReason : std::uint8_t {
  kOverflow,   ///< a bound was reached (drop-oldest or drop-newest)
  kPressure,   ///< evicted for a higher-priority stream (medium full or max_total_bytes)
  kExpired,    ///< older than the stream's ttl
  kRefused,    ///< the broker refused it permanently (not authorized, invalid topic, too large)
  kStoreError, ///< the medium failed (the record could not be stored or synced)
};
const char* to_string(DropReason reason);

struct DropEvent {
  StreamId stream = 0;
  DropReason reason = DropReason::kOverflow;
  std::uint64_t records = 0;  ///< how many records this event drops
  Status status;              ///< the underlying error, for kRefused and kStoreError
};

/// Counters per stream (monotonic except the gauges marked so).
struct StreamStats {
  std::uint64_t enqueued = 0;          ///< accepted by publish()
  std::uint64_t sent = 0;              ///< publishes handed to MQTT (including resends)
  std::uint64_t resent = 0;            ///< of which resends (after a reconnect or a restart)
  std::uint64_t delivered = 0;         ///< acknowledged by the broker (PUBACK)
  std::uint64_t bundles = 0;           ///< messages that carried several records (bundling)
  std::uint64_t rejected = 0;          ///< refused by publish() (kReject, or the store failed): the caller kept them
  std::uint64_t dropped_overflow = 0;
  std::uint64_t dropped_pressure = 0;
  std::uint64_t dropped_expired = 0;
  std::uint64_t dropped_refused = 0;
  std::uint64_t dropped_store_error = 0;  ///< could not be stored, or (encrypted) not opened
  std::uint64_t syncs = 0;
  std::uint64_t sync_failures = 0;
  std::uint64_t recovered_records = 0;  ///< undelivered records found by recovery
  std::uint64_t torn_bytes = 0;         ///< bytes of a torn tail cut off by recovery
  std::uint64_t corrupt_regions = 0;    ///< damaged regions skipped (recovery and reads)
  std::uint64_t corrupt_bytes = 0;
  std::uint64_t pending_records = 0;    ///< gauge: undelivered records
  std::uint64_t stored_bytes = 0;       ///< gauge: bytes in the store's segments
  std::uint32_t segments = 0;           ///< gauge
};

using DropHandler = InplaceFunction<void(const DropEvent&), 4 * sizeof(void*)>;

class OfflineQueue final : private AgentComponent {
 public:
  /// Attaches to `agent` (not owned; must outlive the queue). Contract: settings.boot_id != 0 and
  /// 1 <= max_inflight <= kMaxQueueInflight.
  OfflineQueue(Agent& agent, const QueueSettings& settings);
  ~OfflineQueue() override;
  OfflineQueue(const OfflineQueue&) = delete;
  OfflineQueue& operator=(const OfflineQueue&) = delete;

  /// Encryption at rest for streams whose settings set `encrypt`. Each such stream gets its own key,
  /// HMAC-SHA-256(`key`, "tether-offline-queue:" + stream name); a record's payload is sealed with
  /// AES-256-GCM under it, the nonce is the record's boot id (4 bytes) and sequence number (8 bytes,
  /// never reused in a stream), and its topic, sequence number and boot id are authenticated with
  /// it. `crypto` is not owned; `key` (32 bytes, e.g. from a secure element or a 0600 key file) is
  /// copied. Call before add_stream(). Returns ok, kInvalidArgument (kQueue: key not 32 bytes), or
  /// kFailedPrecondition (streams were added already).
  Status set_encryption(port::Crypto& crypto, Span<const std::uint8_t> key);

  /// Opens `store` (not owned), recovers what it holds and adds the stream. Returns its id, or:
  /// - kInvalidArgument (kQueue): bad name, duplicate name, batch_records 0, a store whose segments
  ///   cannot hold one record of kMaxRecord bytes or that allows more than kMaxQueueSegments segments
  /// - kResourceExhausted (kQueue): kMaxStreams streams exist
  /// - kFailedPrecondition (kQueue): `encrypt` is set and set_encryption() was not called
  /// - the store's open()/read()/set_write_position() error (nothing is added)
  Result<StreamId> add_stream(const StreamSettings& settings, port::LogStore& store);

  /// Queues a message for `stream` and, when connected and the stream has no backlog, sends it at
  /// once. Returns its sequence number, or:
  /// - kInvalidArgument (kTopic): bad topic for the profile; (kQueue): unknown stream, envelope
  ///   mode and the payload is not a JSON object
  /// - kOutOfRange (kQueue): the record would exceed kMaxRecord or the store's segment size
  /// - kResourceExhausted (kQueue): full and the policy is kReject (detail 0) or kDropNewest
  ///   (detail 1: the record was dropped and counted)
  /// - kResourceExhausted (kStore, ENOSPC) or another store error: the record was not stored
  /// - kDataLoss (kStore): kAlways stream: the sync failed, the record may not be durable
  Result<std::uint64_t> publish(StreamId stream, std::string_view topic, Span<const std::uint8_t> payload,
                                const PublishProperties& properties = {}, Qos qos = Qos::k1);

  /// Makes every stream's accepted records durable now (e.g. before a planned shutdown). Returns ok
  /// or the first sync error.
  Status flush();

  /// Writes delivery progress and syncs; call before a planned shutdown or destruction.
  Status close();

  const StreamStats& stats(StreamId stream) const;
  std::size_t stream_count() const { return streams_.size(); }
  /// Records sent and not yet acknowledged (all streams).
  std::size_t inflight() const { return inflight_.size(); }
  /// True when every stream has delivered every record.
  bool drained() const;

  void set_drop_handler(DropHandler handler) { drop_handler_ = handler; }

 private:
  struct Position {
    SegmentId segment = 0;
    std::uint32_t offset = 0;
  };
  struct SegmentMeta {
    SegmentId id = 0;
    std::uint32_t used = 0;          // bytes written (end of the last intact record)
    std::uint32_t records = 0;       // data records
    std::uint64_t first_seq = 0;     // of data records; 0 = none
    std::uint64_t last_seq = 0;
    std::int64_t newest_ms = 0;      // creation time of the newest data record (0 = unknown)
  };
  struct Stream {
    FixedString<kMaxStreamName> name;
    StreamSettings settings;
    port::LogStore* store = nullptr;
    FixedVector<SegmentMeta, kMaxQueueSegments> segments;
    std::uint64_t next_seq = 1;
    std::uint64_t acked = 0;          // every data record with seq <= acked is delivered
    std::uint64_t acked_written = 0;  // last ack marker written
    std::uint64_t sent_max = 0;       // highest seq ever sent in this run (for resend counting)
    Position ack_pos;                 // first byte after the acknowledged prefix
    Position cursor;                  // next record to send
    std::uint32_t unsynced = 0;
    Milliseconds sync_due = Milliseconds::max();
    bool store_broken = false;        // an append failed: roll before the next one
    bool medium_stuck = false;        // deleting a segment did not make room (ENOSPC): stop deleting
    bool medium_full = false;         // the last roll() met ENOSPC: retried once a segment is freed or later
    Status full_status;
    std::uint64_t freed_when_full = 0;
    Milliseconds full_checked{0};
    std::uint8_t key[port::Crypto::kAeadKeySize] = {};  // encrypt: this stream's key
    StreamStats stats;
  };
  struct Inflight {
    StreamId stream = 0;
    std::uint64_t seq = 0;
    PacketToken token = 0;
    std::uint32_t count = 1;  // records in the message (a bundle carries several; seq is the last)
    Position end;
    bool acked = false;
    bool void_ = false;  // its segment was dropped meanwhile
  };

  // AgentComponent
  void on_agent_event(const AgentEvent& event) override;
  bool on_agent_publish_complete(PacketToken token, Status result) override;
  void on_agent_tick(Milliseconds now) override;
  Milliseconds next_tick_due() const override;

  Status recover(Stream& s);
  Status append_record(Stream& s, Span<const std::uint8_t> bytes, const offline::Record* data);
  Status make_room(Stream& s, std::size_t bytes);
  Status roll(Stream& s);
  Status drop_head(Stream& s, DropReason reason);
  bool evict_lower_priority(const Stream& s);
  Status sync(Stream& s);
  void write_ack_marker(Stream& s);
  void pump();
  enum class SendResult : std::uint8_t { kSent, kSkipped, kBlocked, kEnd };
  SendResult send_next(StreamId id);
  void settle_unsent(StreamId id, std::uint64_t seq, Position next, bool behind_inflight, DropReason reason,
                     Status status);
  void advance_acks(StreamId id);
  void reset_cursors();
  bool stream_in_flight(StreamId id) const;
  bool segment_in_flight(StreamId id, SegmentId segment) const;
  bool expired(const Stream& s, std::int64_t created_ms, const Result<std::int64_t>& wall) const;
  Inflight* add_inflight(StreamId id, std::uint64_t last_seq, Position end);
  Status refuse_incoming(StreamId id);
  bool over_total(std::size_t incoming) const;
  void drop_event(StreamId id, DropReason reason, std::uint64_t records, Status status);
  std::uint64_t total_stored() const;
  std::size_t segment_index(const Stream& s, SegmentId id) const;
  bool over_bounds(const Stream& s, std::size_t incoming) const;
  Result<Span<const std::uint8_t>> message_payload(const Stream& s, const offline::Record& r, PublishProperties* props,
                                                   UserProperty* id_prop, FixedString<64>* id_text);
  SendResult send_bundle(StreamId id, const offline::Record& first, Position next);
  Result<Span<const std::uint8_t>> plaintext(StreamId id, const offline::Record& r);
  Status seal(const Stream& s, offline::Record* r);
  MessageIdMode effective_id_mode() const;
  Result<std::int64_t> wall_now() const;

  Agent& agent_;
  QueueSettings settings_;
  Logger& log_;
  FixedVector<Stream, kMaxStreams> streams_;
  FixedVector<Inflight, kMaxQueueInflight> inflight_;
  DropHandler drop_handler_;
  port::Crypto* crypto_ = nullptr;
  std::uint8_t master_key_[port::Crypto::kAeadKeySize] = {};
  Milliseconds next_ack_flush_{0};
  std::uint64_t segments_freed_ = 0;  // drop_head() calls over all streams (room on a shared medium)
  static constexpr Milliseconds kFullMediumRecheck{1000};
  StreamId next_serve_ = 0;
  bool pumping_ = false;
  // Read window: a chunk of one segment cached for decoding.
  StreamId window_stream_ = 0xFF;
  SegmentId window_segment_ = 0;
  std::uint32_t window_offset_ = 0;
  std::size_t window_len_ = 0;
  std::uint8_t encode_buf_[offline::kMaxRecord];
  std::uint8_t read_buf_[offline::kMaxRecord];
  std::uint8_t send_buf_[offline::kMaxRecord + 96];
};

}  // namespace tether
