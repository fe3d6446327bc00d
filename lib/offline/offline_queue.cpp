// Copyright 2026 The Tether Authors. SPDX-License-Identifier: Apache-2.0
#include "tether/offline/offline_queue.hpp"

#include "queue_internal.hpp"
#include "tether/contract.hpp"
#include "tether/decimal.hpp"

namespace tether {

using namespace offline_detail;

const char* to_string(Durability durability) {
  switch (durability) {
    case Durability::kMemory: return "memory";
    case Durability::kBatch: return "batch";
    case Durability::kAlways: return "always";
  }
  return "invalid_durability";
}

const char* to_string(OverflowPolicy policy) {
  switch (policy) {
    case OverflowPolicy::kDropOldest: return "drop-oldest";
    case OverflowPolicy::kDropNewest: return "drop-newest";
    case OverflowPolicy::kReject: return "reject";
  }
  return "invalid_policy";
}

const char* to_string(DropReason reason) {
  switch (reason) {
    case DropReason::kOverflow: return "overflow";
    case DropReason::kPressure: return "pressure";
    case DropReason::kExpired: return "expired";
    case DropReason::kRefused: return "refused";
    case DropReason::kStoreError: return "store_error";
  }
  return "invalid_reason";
}

OfflineQueue::OfflineQueue(Agent& agent, const QueueSettings& settings)
    : agent_(agent), settings_(settings), log_(agent.logger()) {
  TETHER_EXPECTS(settings.boot_id != 0);
  TETHER_EXPECTS(settings.max_inflight >= 1 && settings.max_inflight <= kMaxQueueInflight);
  if (settings_.max_inflight < 1) settings_.max_inflight = 1;
  if (settings_.max_inflight > kMaxQueueInflight) settings_.max_inflight = kMaxQueueInflight;
  const Status attached = agent_.attach(*this);
  TETHER_EXPECTS(attached.ok());  // kMaxComponents components at most
  (void)attached;
}

OfflineQueue::~OfflineQueue() {
  agent_.detach(*this).ignore();
  detail::secure_zero(Span<std::uint8_t>(master_key_, sizeof(master_key_)));
  for (Stream& s : streams_) detail::secure_zero(Span<std::uint8_t>(s.key, sizeof(s.key)));
}

Status OfflineQueue::set_encryption(port::Crypto& crypto, Span<const std::uint8_t> key) {
  if (!streams_.empty()) return queue_error(StatusCode::kFailedPrecondition);
  if (key.size() != sizeof(master_key_)) return queue_error(StatusCode::kInvalidArgument);
  std::memcpy(master_key_, key.data(), key.size());
  crypto_ = &crypto;
  return ok_status();
}


// Seals r->payload into send_buf_ (free while publish() runs) and points r at the ciphertext.
Status OfflineQueue::seal(const Stream& s, Record* r) {
  std::uint8_t nonce[port::Crypto::kAeadNonceSize];
  record_nonce(*r, nonce);
  std::uint8_t aad[kMaxTopic + 12];
  const std::size_t aad_len = record_aad(*r, aad, sizeof(aad));
  if (aad_len == 0) return queue_error(StatusCode::kOutOfRange);
  Result<std::size_t> n = crypto_->aead_seal(Span<const std::uint8_t>(s.key, sizeof(s.key)), nonce,
                                              Span<const std::uint8_t>(aad, aad_len), r->payload,
                                              Span<std::uint8_t>(send_buf_, sizeof(send_buf_)));
  if (!n.ok()) return n.status();
  r->payload = Span<const std::uint8_t>(send_buf_, *n);
  r->encrypted = true;
  return ok_status();
}

// The payload to send: the record's own, or (encrypted) opened into encode_buf_, which is free
// while records are being sent.
Result<Span<const std::uint8_t>> OfflineQueue::plaintext(StreamId id, const Record& r) {
  if (!r.encrypted) return r.payload;
  Stream& s = streams_[id];
  if (crypto_ == nullptr) return queue_error(StatusCode::kFailedPrecondition);
  std::uint8_t nonce[port::Crypto::kAeadNonceSize];
  record_nonce(r, nonce);
  std::uint8_t aad[kMaxTopic + 12];
  const std::size_t aad_len = record_aad(r, aad, sizeof(aad));
  if (aad_len == 0 || r.payload.size() < port::Crypto::kAeadTagSize) return queue_error(StatusCode::kDataLoss);
  Result<std::size_t> n = crypto_->aead_open(
      Span<const std::uint8_t>(s.key, sizeof(s.key)), nonce, Span<const std::uint8_t>(aad, aad_len), r.payload,
      Span<std::uint8_t>(encode_buf_, r.payload.size() - port::Crypto::kAeadTagSize));
  if (!n.ok()) return n.status();
  return Span<const std::uint8_t>(encode_buf_, *n);
}

// ------------------------------------------------------------------------------------------------
// Streams and recovery

Result<StreamId> OfflineQueue::add_stream(const StreamSettings& settings, port::LogStore& store) {
  if (!valid_stream_name(settings.name) || settings.batch_records == 0) {
    TETHER_LOG_ERROR(log_, Origin::kQueue, queue_error(StatusCode::kInvalidArgument),
                     "stream \"%.*s\": name must be 1..32 of [A-Za-z0-9_-] and batch_records >= 1",
                     static_cast<int>(settings.name.size() > 64 ? 64 : settings.name.size()), settings.name.data());
    return queue_error(StatusCode::kInvalidArgument);
  }
  for (const Stream& s : streams_) {
    if (s.name == settings.name) {
      TETHER_LOG_ERROR(log_, Origin::kQueue, queue_error(StatusCode::kInvalidArgument),
                       "stream \"%s\" exists already", s.name.c_str());
      return queue_error(StatusCode::kInvalidArgument);
    }
  }
  if (streams_.full()) return queue_error(StatusCode::kResourceExhausted, static_cast<std::uint16_t>(kMaxStreams));

  if (settings.encrypt && crypto_ == nullptr) {
    TETHER_LOG_ERROR(log_, Origin::kQueue, queue_error(StatusCode::kFailedPrecondition),
                     "stream \"%.*s\": encrypt is set but the queue has no key (set_encryption)",
                     static_cast<int>(settings.name.size()), settings.name.data());
    return queue_error(StatusCode::kFailedPrecondition);
  }
  Stream* s = streams_.emplace_back();
  s->name.assign(settings.name).ignore();  // length checked above
  s->settings = settings;
  s->settings.name = s->name.view();
  s->store = &store;
  if (crypto_ != nullptr) {
    // Every stream gets its own key, so (boot id, seq) nonces of different streams never meet.
    std::uint8_t label[22 + kMaxStreamName];
    std::memcpy(label, "tether-offline-queue:", 21);
    std::memcpy(label + 21, s->name.c_str(), s->name.size());
    Status derived = crypto_->hmac_sha256(Span<const std::uint8_t>(master_key_, sizeof(master_key_)),
                                          Span<const std::uint8_t>(label, 21 + s->name.size()),
                                          Span<std::uint8_t>(s->key, sizeof(s->key)));
    if (!derived.ok()) {
      TETHER_LOG_ERROR(log_, Origin::kQueue, derived, "stream \"%s\": cannot derive its key", s->name.c_str());
      streams_.pop_back();
      return derived;
    }
  }
  Status status = recover(*s);
  if (!status.ok()) {
    streams_.pop_back();
    return status;
  }
  window_stream_ = 0xFF;
  return static_cast<StreamId>(streams_.size() - 1);
}

Status OfflineQueue::recover(Stream& s) {
  port::LogStore& store = *s.store;
  Status status = store.open();
  if (!status.ok()) {
    TETHER_LOG_ERROR(log_, Origin::kQueue, status, "stream \"%s\": cannot open its store", s.name.c_str());
    return status;
  }
  if (store.max_segments() > kMaxQueueSegments || store.segment_count() > kMaxQueueSegments ||
      store.segment_capacity() < offline::kRecordOverhead + 64) {
    status = queue_error(StatusCode::kInvalidArgument, static_cast<std::uint16_t>(kMaxQueueSegments));
    TETHER_LOG_ERROR(log_, Origin::kQueue, status,
                     "stream \"%s\": the store allows %u segments of %u bytes; this build supports at most %u "
                     "segments (TETHER_MAX_QUEUE_SEGMENTS) of at least %u bytes",
                     s.name.c_str(), static_cast<unsigned>(store.max_segments()),
                     static_cast<unsigned>(store.segment_capacity()), static_cast<unsigned>(kMaxQueueSegments),
                     static_cast<unsigned>(offline::kRecordOverhead + 64));
    return status;
  }

  std::uint64_t max_seq = 0;
  std::uint64_t last_data_seq = 0;
  const std::uint32_t capacity = store.segment_capacity();
  for (std::size_t i = 0; i < store.segment_count(); ++i) {
    SegmentMeta meta;
    meta.id = store.segment_id(i);
    std::uint32_t offset = 0;
    std::uint32_t bad_start = 0;
    bool bad = false;
    std::uint32_t win_off = 0;
    std::size_t win_len = 0;
    bool have_window = false;
    while (offset < capacity) {
      // Keep decoding from one read until fewer than kMaxRecord bytes (or the segment's end) remain.
      std::size_t need = capacity - offset;
      if (need > sizeof(read_buf_)) need = sizeof(read_buf_);
      if (!have_window || offset < win_off || offset + need > win_off + win_len) {
        Result<std::size_t> got = store.read(meta.id, offset, Span<std::uint8_t>(read_buf_, need));
        if (!got.ok()) {
          TETHER_LOG_ERROR(log_, Origin::kQueue, got.status(), "stream \"%s\": reading segment %lu failed",
                           s.name.c_str(), ul(meta.id));
          return got.status();
        }
        win_off = offset;
        win_len = *got;
        have_window = true;
      }
      const Span<const std::uint8_t> window(read_buf_ + (offset - win_off), win_off + win_len - offset);
      if (window.empty()) break;
      Record rec;
      std::size_t consumed = 0;
      DecodeOutcome outcome = offline::decode_record(window, &rec, &consumed);
      if (outcome == DecodeOutcome::kRecord) {
        // A record that does not continue the sequence is stale (a copy inside a payload that a
        // resync landed on): treated as corruption.
        const bool in_order = rec.type == RecordType::kAck || rec.seq > last_data_seq;
        if (in_order) {
          if (bad) {
            ++s.stats.corrupt_regions;
            s.stats.corrupt_bytes += offset - bad_start;
            TETHER_LOG_WARN(log_, Origin::kQueue, Status(StatusCode::kDataLoss, Origin::kQueue),
                            "stream \"%s\": segment %lu: %lu damaged bytes at offset %lu"
                            " skipped; the records after them are kept",
                            s.name.c_str(), ul(meta.id), ul(offset - bad_start), ul(bad_start));
            bad = false;
          }
          if (rec.seq > max_seq) max_seq = rec.seq;
          if (rec.type == RecordType::kAck) {
            if (rec.seq > s.acked) s.acked = rec.seq;
          } else {
            last_data_seq = rec.seq;
            if (meta.first_seq == 0) meta.first_seq = rec.seq;
            meta.last_seq = rec.seq;
            ++meta.records;
            if (rec.created_ms > meta.newest_ms) meta.newest_ms = rec.created_ms;
          }
          offset += static_cast<std::uint32_t>(consumed);
          meta.used = offset;
          continue;
        }
        outcome = DecodeOutcome::kCorrupt;
      }
      if (outcome == DecodeOutcome::kErased) break;
      // kCorrupt, or kNeedMore (a record claiming to run past the segment's end): resync.
      if (!bad) {
        bad = true;
        bad_start = offset;
      }
      std::size_t next = offline::find_magic(window, 1);
      if (next >= window.size()) {
        // No magic in this window: stop at erased space if the garbage ends here.
        std::size_t end = window.size();
        while (end > 0 && (window[end - 1] == 0x00 || window[end - 1] == 0xFF)) --end;
        if (end < window.size() && offline::is_erased(window.subspan(end, window.size() - end)) &&
            window.size() - end >= 16) {
          offset += static_cast<std::uint32_t>(end);
          break;
        }
        next = window.size();
      }
      offset += static_cast<std::uint32_t>(next);
    }
    if (bad) {
      const std::uint32_t cut = offset - bad_start;
      s.stats.torn_bytes += cut;
      TETHER_LOG_WARN(log_, Origin::kQueue, Status(StatusCode::kDataLoss, Origin::kQueue),
                      "stream \"%s\": segment %lu: torn tail of %lu bytes at offset %lu"
                      " cut off (a write interrupted by a crash or power cut)",
                      s.name.c_str(), ul(meta.id), ul(cut), ul(bad_start));
    }
    if (!s.segments.push_back(meta)) return queue_error(StatusCode::kInternal);
  }

  status = store.set_write_position(s.segments[s.segments.size() - 1].used);
  if (!status.ok()) {
    TETHER_LOG_ERROR(log_, Origin::kQueue, status, "stream \"%s\": cannot set the write position after recovery",
                     s.name.c_str());
    return status;
  }
  s.next_seq = max_seq + 1;
  s.acked_written = s.acked;
  s.ack_pos = Position{s.segments[0].id, 0};
  s.cursor = s.ack_pos;
  s.stats.pending_records = 0;
  for (const SegmentMeta& m : s.segments) {
    if (m.records == 0 || m.last_seq <= s.acked) continue;
    s.stats.pending_records += m.first_seq > s.acked ? m.records : m.last_seq - s.acked;
  }
  s.stats.recovered_records = s.stats.pending_records;
  s.stats.segments = static_cast<std::uint32_t>(s.segments.size());
  s.stats.stored_bytes = 0;
  for (const SegmentMeta& m : s.segments) s.stats.stored_bytes += m.used;
  TETHER_LOG_INFO(
      log_, Origin::kQueue, "stream \"%s\" (%s, %s): %s undelivered record(s) in %u segment(s), next seq %s",
      s.name.c_str(), to_string(s.settings.durability), to_string(s.settings.overflow),
      Decimal(s.stats.pending_records).c_str(), static_cast<unsigned>(s.segments.size()), Decimal(s.next_seq).c_str());
  return ok_status();
}

std::size_t OfflineQueue::segment_index(const Stream& s, SegmentId id) const {
  for (std::size_t i = 0; i < s.segments.size(); ++i) {
    if (s.segments[i].id == id) return i;
  }
  return kNoIndex;
}

std::uint64_t OfflineQueue::total_stored() const {
  std::uint64_t total = 0;
  for (const Stream& s : streams_) total += s.stats.stored_bytes;
  return total;
}

// ------------------------------------------------------------------------------------------------
// Enqueue

MessageIdMode OfflineQueue::effective_id_mode() const {
  if (settings_.message_id != MessageIdMode::kAuto) return settings_.message_id;
  return agent_.config().mqtt.version == MqttVersion::k5 ? MessageIdMode::kUserProperty : MessageIdMode::kEnvelope;
}

Result<std::int64_t> OfflineQueue::wall_now() const { return agent_.clock().wall_time_ms(); }

bool OfflineQueue::over_bounds(const Stream& s, std::size_t incoming) const {
  if (s.settings.max_records != 0 && s.stats.pending_records + 1 > s.settings.max_records) return true;
  return s.settings.max_bytes != 0 && s.stats.stored_bytes + incoming > s.settings.max_bytes;
}

bool OfflineQueue::over_total(std::size_t incoming) const {
  return settings_.max_total_bytes != 0 && total_stored() + incoming > settings_.max_total_bytes;
}

// The stream is full and its policy keeps what is stored: the incoming record is not taken.
Status OfflineQueue::refuse_incoming(StreamId id) {
  if (streams_[id].settings.overflow == OverflowPolicy::kDropNewest) {
    drop_event(id, DropReason::kOverflow, 1, ok_status());
    return queue_error(StatusCode::kResourceExhausted, kDroppedNewest);
  }
  ++streams_[id].stats.rejected;
  return queue_error(StatusCode::kResourceExhausted);
}

Result<std::uint64_t> OfflineQueue::publish(StreamId id, std::string_view topic, Span<const std::uint8_t> payload,
                                            const PublishProperties& properties, Qos qos) {
  if (id >= streams_.size()) return queue_error(StatusCode::kInvalidArgument);
  Stream& s = streams_[id];
  ErrorText why;
  Status status = validate_topic_name(topic, agent_.config().profile);
  if (!status.ok()) {
    validate_topic_name(topic, agent_.config().profile, &why).ignore();
    TETHER_LOG_WARN(log_, Origin::kQueue, status, "stream \"%s\": publish refused: %s", s.name.c_str(), why.c_str());
    return status;
  }
  if ((effective_id_mode() == MessageIdMode::kEnvelope || s.settings.bundle_max_bytes != 0) &&
      !looks_like_object(payload)) {
    status = queue_error(StatusCode::kInvalidArgument);
    TETHER_LOG_WARN(log_, Origin::kQueue, status,
                    "stream \"%s\": the message id envelope (MQTT 3.1.1) and bundling need a JSON object payload",
                    s.name.c_str());
    return status;
  }
  if (properties.user_properties.size() > kMaxUserProperties) {
    return queue_error(StatusCode::kOutOfRange, static_cast<std::uint16_t>(kMaxUserProperties));
  }

  Record rec;
  rec.type = RecordType::kData;
  rec.seq = s.next_seq;
  rec.boot_id = settings_.boot_id;
  Result<std::int64_t> wall = wall_now();
  rec.created_ms = wall.ok() ? *wall : 0;
  rec.priority = s.settings.priority;
  rec.qos = qos;
  rec.topic = topic;
  rec.payload = payload;
  rec.content_type = properties.content_type;
  rec.message_expiry_s = properties.message_expiry_s;
  rec.response_topic = properties.response_topic;
  rec.correlation_data = properties.correlation_data;
  for (const UserProperty& p : properties.user_properties) (void)rec.user_properties.push_back(p);
  if (s.settings.encrypt) {
    status = seal(s, &rec);
    if (!status.ok()) {
      TETHER_LOG_ERROR(log_, Origin::kQueue, status, "stream \"%s\": cannot encrypt the record", s.name.c_str());
      return status;
    }
  }
  Result<std::size_t> size = offline::encode_record(rec, Span<std::uint8_t>(encode_buf_, sizeof(encode_buf_)));
  if (!size.ok() || *size > s.store->segment_capacity()) {
    status = queue_error(StatusCode::kOutOfRange);
    TETHER_LOG_WARN(log_, Origin::kQueue, status,
                    "stream \"%s\": message too large to queue (%u payload bytes; records are limited to %u bytes "
                    "(TETHER_MAX_RECORD) and to the segment size %u)",
                    s.name.c_str(), static_cast<unsigned>(payload.size()), static_cast<unsigned>(offline::kMaxRecord),
                    static_cast<unsigned>(s.store->segment_capacity()));
    return status;
  }

  // Bounds: the shared budget evicts lower priorities first, then the stream's own policy applies.
  while (over_total(*size) && evict_lower_priority(s)) {
  }
  if (over_total(*size) || over_bounds(s, *size)) {
    if (s.settings.overflow != OverflowPolicy::kDropOldest) return refuse_incoming(id);
    for (std::size_t guard = 0; guard <= kMaxQueueSegments; ++guard) {
      if (!over_total(*size) && !over_bounds(s, *size)) break;
      if (s.segments.size() == 1) {
        // Everything is in the active segment: start a new one so the old one can go.
        status = roll(s);
        if (!status.ok()) break;
      }
      status = drop_head(s, DropReason::kOverflow);
      if (!status.ok()) break;
    }
  }

  status = append_record(s, Span<const std::uint8_t>(encode_buf_, *size), &rec);
  if (status.code() == StatusCode::kResourceExhausted && status.origin() == Origin::kQueue) {
    return refuse_incoming(id);  // full, and the policy keeps what is stored
  }
  if (!status.ok()) {
    // Not stored: the caller still has the record (not a drop).
    ++s.stats.rejected;
    return status;
  }
  const std::uint64_t seq = s.next_seq++;
  ++s.stats.enqueued;
  ++s.stats.pending_records;

  switch (s.settings.durability) {
    case Durability::kMemory:
      break;
    case Durability::kAlways:
      status = sync(s);
      if (!status.ok()) return Status(StatusCode::kDataLoss, Origin::kStore, status.detail());
      break;
    case Durability::kBatch:
      if (++s.unsynced >= s.settings.batch_records) {
        sync(s).ignore();  // counted and logged in sync()
      } else if (s.sync_due == Milliseconds::max()) {
        s.sync_due = agent_.clock().now() + s.settings.batch_interval;
      }
      break;
  }
  if (agent_.connected()) pump();
  return seq;
}

Status OfflineQueue::append_record(Stream& s, Span<const std::uint8_t> bytes, const Record* data) {
  if (s.store_broken) {
    TETHER_RETURN_IF_ERROR(roll(s));
  }
  Result<std::uint32_t> at = s.store->append(bytes);
  if (!at.ok() && (at.status().code() == StatusCode::kOutOfRange ||
                   at.status().code() == StatusCode::kFailedPrecondition)) {
    // Segment full, or the store wants a fresh segment after a failure: continue in a new one.
    TETHER_RETURN_IF_ERROR(roll(s));
    at = s.store->append(bytes);
  }
  if (!at.ok()) {
    if (at.status().code() != StatusCode::kOutOfRange) s.store_broken = true;
    TETHER_LOG_ERROR(log_, Origin::kQueue, at.status(), "stream \"%s\": append to segment %lu failed",
                     s.name.c_str(), ul(s.segments[s.segments.size() - 1].id));
    return at.status();
  }
  SegmentMeta& active = s.segments[s.segments.size() - 1];
  active.used = *at + static_cast<std::uint32_t>(bytes.size());
  s.stats.stored_bytes += bytes.size();
  if (data != nullptr) {
    if (active.first_seq == 0) active.first_seq = data->seq;
    active.last_seq = data->seq;
    ++active.records;
    if (data->created_ms > active.newest_ms) active.newest_ms = data->created_ms;
  }
  return ok_status();
}

Status OfflineQueue::roll(Stream& s) {
  const Milliseconds now = agent_.clock().now();
  if (s.medium_full && segments_freed_ == s.freed_when_full && now - s.full_checked < kFullMediumRecheck) {
    // The medium was full a moment ago and nothing was deleted since: do not create, fail to
    // preallocate and delete a segment file again for every record.
    return s.full_status;
  }
  bool dropped_for_space = false;
  for (std::size_t attempt = 0; attempt <= 2 * kMaxQueueSegments; ++attempt) {
    Result<SegmentId> id = s.store->roll();
    if (id.ok()) {
      SegmentMeta meta;
      meta.id = *id;
      if (!s.segments.push_back(meta)) return queue_error(StatusCode::kInternal);
      s.store_broken = false;
      s.medium_stuck = false;
      if (s.medium_full) {
        s.medium_full = false;
        TETHER_LOG_INFO(log_, Origin::kQueue, "stream \"%s\": storage has room again", s.name.c_str());
      }
      s.stats.segments = static_cast<std::uint32_t>(s.segments.size());
      return ok_status();
    }
    const Status status = id.status();
    if (status.code() != StatusCode::kResourceExhausted) {
      TETHER_LOG_ERROR(log_, Origin::kQueue, status, "stream \"%s\": cannot start a new segment", s.name.c_str());
      return status;
    }
    if (status.detail() != 0) {
      // The medium is full (ENOSPC): lower priorities give way first.
      if (evict_lower_priority(s)) continue;
    }
    // Deleting one of our own segments did not make room on the medium: deleting more would empty
    // the queue for nothing.
    if (status.detail() != 0 && dropped_for_space) s.medium_stuck = true;
    const bool futile = status.detail() != 0 && s.medium_stuck;
    if (s.settings.overflow != OverflowPolicy::kDropOldest || s.segments.size() <= 1 || futile) {
      if (status.detail() != 0) {
        if (!s.medium_full) {
          TETHER_LOG_WARN(log_, Origin::kQueue, status,
                          "stream \"%s\": storage full (no space for a new segment); %s until there is room",
                          s.name.c_str(),
                          s.settings.overflow == OverflowPolicy::kDropOldest ? "refusing new records"
                                                                              : "applying the overflow policy");
        }
        s.medium_full = true;
        s.full_status = status;
        s.freed_when_full = segments_freed_;
        s.full_checked = now;
        return status;
      }
      return queue_error(StatusCode::kResourceExhausted);
    }
    TETHER_RETURN_IF_ERROR(drop_head(s, status.detail() != 0 ? DropReason::kPressure : DropReason::kOverflow));
    if (status.detail() != 0) dropped_for_space = true;
  }
  return queue_error(StatusCode::kResourceExhausted);
}

bool OfflineQueue::evict_lower_priority(const Stream& s) {
  Stream* victim = nullptr;
  for (Stream& other : streams_) {
    if (&other == &s || other.segments.size() < 2 || other.settings.priority >= s.settings.priority) continue;
    if (victim == nullptr || other.settings.priority < victim->settings.priority) victim = &other;
  }
  if (victim == nullptr) return false;
  return drop_head(*victim, DropReason::kPressure).ok();
}

Status OfflineQueue::drop_head(Stream& s, DropReason reason) {
  if (s.segments.size() < 2) return queue_error(StatusCode::kFailedPrecondition);
  const SegmentMeta head = s.segments[0];
  std::uint64_t undelivered = 0;
  if (head.records != 0 && head.last_seq > s.acked) {
    undelivered = head.first_seq > s.acked ? head.records : head.last_seq - s.acked;
  }
  Status status = s.store->drop_head();
  if (!status.ok()) {
    TETHER_LOG_ERROR(log_, Origin::kQueue, status, "stream \"%s\": cannot delete segment %lu", s.name.c_str(),
                     ul(head.id));
    return status;
  }
  s.segments.erase(0);
  ++segments_freed_;
  s.stats.segments = static_cast<std::uint32_t>(s.segments.size());
  s.stats.stored_bytes = saturating_sub(s.stats.stored_bytes, head.used);
  if (head.last_seq > s.acked) s.acked = head.last_seq;
  const StreamId id = static_cast<StreamId>(&s - streams_.begin());
  for (Inflight& f : inflight_) {
    if (f.stream == id && f.end.segment == head.id) f.void_ = true;
  }
  const Position start{s.segments[0].id, 0};
  if (s.ack_pos.segment == head.id) s.ack_pos = start;
  if (s.cursor.segment == head.id) s.cursor = start;
  if (window_stream_ == id && window_segment_ == head.id) window_stream_ = 0xFF;
  if (undelivered != 0) {
    s.stats.pending_records = saturating_sub(s.stats.pending_records, undelivered);
    drop_event(id, reason, undelivered, ok_status());
  }
  return ok_status();
}

void OfflineQueue::drop_event(StreamId id, DropReason reason, std::uint64_t records, Status status) {
  Stream& s = streams_[id];
  switch (reason) {
    case DropReason::kOverflow: s.stats.dropped_overflow += records; break;
    case DropReason::kPressure: s.stats.dropped_pressure += records; break;
    case DropReason::kExpired: s.stats.dropped_expired += records; break;
    case DropReason::kRefused: s.stats.dropped_refused += records; break;
    case DropReason::kStoreError: s.stats.dropped_store_error += records; break;
  }
  if (reason == DropReason::kExpired || reason == DropReason::kRefused) {
    TETHER_LOG_DEBUG(log_, Origin::kQueue, "stream \"%s\": %s record(s) dropped (%s)", s.name.c_str(),
                     Decimal(records).c_str(), to_string(reason));
  } else {
    TETHER_LOG_WARN(log_, Origin::kQueue, status.ok() ? queue_error(StatusCode::kResourceExhausted) : status,
                    "stream \"%s\": %s record(s) dropped (%s)", s.name.c_str(), Decimal(records).c_str(),
                    to_string(reason));
  }
  if (drop_handler_) {
    DropEvent event;
    event.stream = id;
    event.reason = reason;
    event.records = records;
    event.status = status;
    drop_handler_(event);
  }
}

Status OfflineQueue::sync(Stream& s) {
  s.sync_due = Milliseconds::max();
  s.unsynced = 0;
  Status status = s.store->sync();
  if (status.ok()) {
    ++s.stats.syncs;
    return status;
  }
  ++s.stats.sync_failures;
  s.store_broken = true;  // what the failed sync covered is in an unknown state: write on in a new segment
  TETHER_LOG_ERROR(log_, Origin::kQueue, status,
                   "stream \"%s\": sync failed: records accepted since the last sync may not survive a power cut",
                   s.name.c_str());
  return status;
}

Status OfflineQueue::flush() {
  Status first;
  for (Stream& s : streams_) {
    if (s.settings.durability == Durability::kMemory) continue;
    Status status = sync(s);
    if (first.ok() && !status.ok()) first = status;
  }
  return first;
}

Status OfflineQueue::close() {
  for (Stream& s : streams_) write_ack_marker(s);
  return flush();
}

void OfflineQueue::write_ack_marker(Stream& s) {
  if (s.acked <= s.acked_written || s.settings.durability == Durability::kMemory) return;
  Record rec;
  rec.type = RecordType::kAck;
  rec.seq = s.acked;
  rec.boot_id = settings_.boot_id;
  std::uint8_t buf[offline::kRecordOverhead + 8];
  Result<std::size_t> size = offline::encode_record(rec, Span<std::uint8_t>(buf, sizeof(buf)));
  if (!size.ok()) return;
  // Progress markers never evict data: skip the marker when the store is full (the cost is
  // redelivery after a restart, never loss).
  Result<std::uint32_t> at = s.store->append(Span<const std::uint8_t>(buf, *size));
  if (!at.ok() && at.status().code() == StatusCode::kOutOfRange && s.store->segment_count() < s.store->max_segments()) {
    if (roll(s).ok()) at = s.store->append(Span<const std::uint8_t>(buf, *size));
  }
  if (!at.ok()) return;
  SegmentMeta& active = s.segments[s.segments.size() - 1];
  active.used = *at + static_cast<std::uint32_t>(*size);
  s.stats.stored_bytes += *size;
  s.acked_written = s.acked;
  if (s.settings.durability == Durability::kBatch && s.sync_due == Milliseconds::max()) {
    s.sync_due = agent_.clock().now() + s.settings.batch_interval;
  }
}

bool OfflineQueue::drained() const {
  for (const Stream& s : streams_) {
    if (s.stats.pending_records != 0) return false;
  }
  return inflight_.empty();
}

const StreamStats& OfflineQueue::stats(StreamId stream) const {
  TETHER_EXPECTS(stream < streams_.size());
  return streams_[stream < streams_.size() ? stream : 0].stats;
}

}  // namespace tether
