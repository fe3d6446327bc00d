// Copyright 2026 The Tether Authors. SPDX-License-Identifier: Apache-2.0
#include "tether/offline/offline_queue.hpp"

#include <cinttypes>
#include <cstdio>
#include <cstring>

#include "tether/contract.hpp"

namespace tether {
namespace {

using offline::DecodeOutcome;
using offline::Record;
using offline::RecordType;

constexpr std::size_t kNoIndex = static_cast<std::size_t>(-1);
constexpr std::uint16_t kDroppedNewest = 1;

Status queue_error(StatusCode code, std::uint16_t detail = 0) { return Status(code, Origin::kQueue, detail); }

bool valid_stream_name(std::string_view name) {
  if (name.empty() || name.size() > kMaxStreamName) return false;
  for (char c : name) {
    const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' || c == '-';
    if (!ok) return false;
  }
  return true;
}

// A broker answer that sending again cannot change: the record is dropped as refused.
bool permanent_refusal(Status result) {
  switch (result.code()) {
    case StatusCode::kPermissionDenied:
    case StatusCode::kInvalidArgument:
    case StatusCode::kOutOfRange:
      return true;
    default:
      return false;
  }
}

std::uint64_t saturating_sub(std::uint64_t a, std::uint64_t b) { return a > b ? a - b : 0; }

bool is_json_space(std::uint8_t c) { return c == ' ' || c == '\t' || c == '\r' || c == '\n'; }

// True if `payload` starts (after white space) like a JSON object.
bool looks_like_object(Span<const std::uint8_t> payload) {
  std::size_t i = 0;
  while (i < payload.size() && is_json_space(payload[i])) ++i;
  return i < payload.size() && payload[i] == '{';
}

// Writes `{"tether_msg_id":"<id>",` + the rest of the JSON object `payload` (or `}` for an empty
// object) into `out`. Returns the bytes written, or 0 when it does not fit or `payload` is not an
// object.
std::size_t write_envelope(std::uint8_t* out, std::size_t capacity, std::string_view id,
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

// "<boot id, 8 hex digits>-<stream>-<seq>": the record's message id.
std::size_t format_message_id(char* out, std::size_t capacity, std::uint32_t boot_id, const char* stream,
                              std::uint64_t seq) {
  const int n = std::snprintf(out, capacity, "%08" PRIx32 "-%s-%" PRIu64, boot_id, stream, seq);
  return n > 0 && static_cast<std::size_t>(n) < capacity ? static_cast<std::size_t>(n) : 0;
}

}  // namespace

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
  agent_.attach(*this).ignore();  // fails only beyond kMaxComponents: checked by the contract below
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

namespace {

// Nonce: boot id (4 bytes LE) || sequence number (8 bytes LE). AAD: topic || seq || boot id.
void record_nonce(const Record& r, std::uint8_t (&nonce)[port::Crypto::kAeadNonceSize]) {
  for (int i = 0; i < 4; ++i) nonce[i] = static_cast<std::uint8_t>(r.boot_id >> (8 * i));
  for (int i = 0; i < 8; ++i) nonce[4 + i] = static_cast<std::uint8_t>(r.seq >> (8 * i));
}

std::size_t record_aad(const Record& r, std::uint8_t* out, std::size_t capacity) {
  if (r.topic.size() + 12 > capacity) return 0;
  std::memcpy(out, r.topic.data(), r.topic.size());
  std::uint8_t nonce[port::Crypto::kAeadNonceSize];
  record_nonce(r, nonce);
  for (int i = 0; i < 8; ++i) out[r.topic.size() + i] = nonce[4 + i];
  for (int i = 0; i < 4; ++i) out[r.topic.size() + 8 + i] = nonce[i];
  return r.topic.size() + 12;
}

}  // namespace

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
          TETHER_LOG_ERROR(log_, Origin::kQueue, got.status(), "stream \"%s\": reading segment %" PRIu32 " failed",
                           s.name.c_str(), meta.id);
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
                            "stream \"%s\": segment %" PRIu32 ": %" PRIu32 " damaged bytes at offset %" PRIu32
                            " skipped; the records after them are kept",
                            s.name.c_str(), meta.id, offset - bad_start, bad_start);
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
                      "stream \"%s\": segment %" PRIu32 ": torn tail of %" PRIu32 " bytes at offset %" PRIu32
                      " cut off (a write interrupted by a crash or power cut)",
                      s.name.c_str(), meta.id, cut, bad_start);
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
  TETHER_LOG_INFO(log_, Origin::kQueue,
                  "stream \"%s\" (%s, %s): %" PRIu64 " undelivered record(s) in %u segment(s), next seq %" PRIu64,
                  s.name.c_str(), to_string(s.settings.durability), to_string(s.settings.overflow),
                  s.stats.pending_records, static_cast<unsigned>(s.segments.size()), s.next_seq);
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
  if (settings_.max_total_bytes != 0) {
    while (total_stored() + *size > settings_.max_total_bytes && evict_lower_priority(s)) {
    }
  }
  const bool over_total = settings_.max_total_bytes != 0 && total_stored() + *size > settings_.max_total_bytes;
  if (over_total || over_bounds(s, *size)) {
    switch (s.settings.overflow) {
      case OverflowPolicy::kReject:
        ++s.stats.rejected;
        return queue_error(StatusCode::kResourceExhausted);
      case OverflowPolicy::kDropNewest:
        drop_event(id, DropReason::kOverflow, 1, ok_status());
        return queue_error(StatusCode::kResourceExhausted, kDroppedNewest);
      case OverflowPolicy::kDropOldest:
        for (std::size_t guard = 0; guard <= kMaxQueueSegments; ++guard) {
          const bool still_over = (settings_.max_total_bytes != 0 &&
                                   total_stored() + *size > settings_.max_total_bytes) ||
                                  over_bounds(s, *size);
          if (!still_over) break;
          if (s.segments.size() == 1) {
            // Everything is in the active segment: start a new one so the old one can go.
            status = roll(s);
            if (!status.ok()) break;
          }
          status = drop_head(s, DropReason::kOverflow);
          if (!status.ok()) break;
        }
        break;
    }
  }

  status = append_record(s, Span<const std::uint8_t>(encode_buf_, *size), &rec);
  if (status.code() == StatusCode::kResourceExhausted && status.origin() == Origin::kQueue) {
    // Full and the policy keeps what is stored.
    if (s.settings.overflow == OverflowPolicy::kDropNewest) {
      drop_event(id, DropReason::kOverflow, 1, ok_status());
      return queue_error(StatusCode::kResourceExhausted, kDroppedNewest);
    }
    ++s.stats.rejected;
    return status;
  }
  if (!status.ok()) {
    drop_event(id, DropReason::kStoreError, 1, status);
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
    TETHER_LOG_ERROR(log_, Origin::kQueue, at.status(), "stream \"%s\": append to segment %" PRIu32 " failed",
                     s.name.c_str(), s.segments[s.segments.size() - 1].id);
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
  bool dropped_for_space = false;
  for (std::size_t attempt = 0; attempt <= 2 * kMaxQueueSegments; ++attempt) {
    Result<SegmentId> id = s.store->roll();
    if (id.ok()) {
      SegmentMeta meta;
      meta.id = *id;
      if (!s.segments.push_back(meta)) return queue_error(StatusCode::kInternal);
      s.store_broken = false;
      s.medium_stuck = false;
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
        TETHER_LOG_WARN(log_, Origin::kQueue, status, "stream \"%s\": storage full (no space for a new segment)",
                        s.name.c_str());
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
    TETHER_LOG_ERROR(log_, Origin::kQueue, status, "stream \"%s\": cannot delete segment %" PRIu32, s.name.c_str(),
                     head.id);
    return status;
  }
  s.segments.erase(0);
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
    TETHER_LOG_DEBUG(log_, Origin::kQueue, "stream \"%s\": %" PRIu64 " record(s) dropped (%s)", s.name.c_str(), records,
                     to_string(reason));
  } else {
    TETHER_LOG_WARN(log_, Origin::kQueue, status.ok() ? queue_error(StatusCode::kResourceExhausted) : status,
                    "stream \"%s\": %" PRIu64 " record(s) dropped (%s)", s.name.c_str(), records, to_string(reason));
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

std::uint64_t OfflineQueue::pending(const Stream& s) const { return s.stats.pending_records; }

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

// ------------------------------------------------------------------------------------------------
// Delivery

void OfflineQueue::reset_cursors() {
  for (Inflight& f : inflight_) f.void_ = true;
  for (Stream& s : streams_) s.cursor = s.ack_pos;
  window_stream_ = 0xFF;
}

void OfflineQueue::on_agent_event(const AgentEvent& event) {
  if (event.type == AgentEventType::kConnected) {
    // Tokens of the previous connection will not complete: forget them and send again from the
    // acknowledged position of every stream.
    inflight_.clear();
    for (Stream& s : streams_) s.cursor = s.ack_pos;
    window_stream_ = 0xFF;
    was_connected_ = true;
    pump();
  } else if (event.type == AgentEventType::kDisconnected) {
    reset_cursors();
    was_connected_ = false;
  }
}

bool OfflineQueue::on_agent_publish_complete(PacketToken token, Status result) {
  std::size_t index = kNoIndex;
  for (std::size_t i = 0; i < inflight_.size(); ++i) {
    if (inflight_[i].token == token && token != 0) {
      index = i;
      break;
    }
  }
  if (index == kNoIndex) return false;
  Inflight& f = inflight_[index];
  const StreamId id = f.stream;
  Stream& s = streams_[id];
  if (f.void_) {
    inflight_.erase(index);
  } else if (result.ok()) {
    f.acked = true;
    s.stats.delivered += f.count;
    s.stats.pending_records = saturating_sub(s.stats.pending_records, f.count);
  } else if (permanent_refusal(result)) {
    f.acked = true;
    s.stats.pending_records = saturating_sub(s.stats.pending_records, f.count);
    drop_event(id, DropReason::kRefused, f.count, result);
  } else {
    // Transient (quota, connection lost): send this stream again from its acknowledged position.
    TETHER_LOG_DEBUG(log_, Origin::kQueue, "stream \"%s\": seq %" PRIu64 " not acknowledged; will resend",
                     s.name.c_str(), f.seq);
    inflight_.erase(index);
    for (Inflight& other : inflight_) {
      if (other.stream == id) other.void_ = true;
    }
    s.cursor = s.ack_pos;
    if (window_stream_ == id) window_stream_ = 0xFF;
  }
  advance_acks(id);
  if (agent_.connected() && !pumping_) pump();
  return true;
}

void OfflineQueue::advance_acks(StreamId id) {
  Stream& s = streams_[id];
  std::size_t i = 0;
  while (i < inflight_.size()) {
    Inflight& f = inflight_[i];
    if (f.stream != id || f.void_) {
      ++i;
      continue;
    }
    if (!f.acked) break;
    if (f.seq > s.acked) s.acked = f.seq;
    s.ack_pos = f.end;
    inflight_.erase(i);
  }
  // Delete head segments whose records are all delivered.
  while (s.segments.size() > 1) {
    const SegmentMeta& head = s.segments[0];
    const bool delivered = head.records == 0 ? s.ack_pos.segment != head.id : head.last_seq <= s.acked;
    bool referenced = false;
    for (const Inflight& f : inflight_) {
      if (f.stream == id && !f.void_ && f.end.segment == head.id) referenced = true;
    }
    if (!delivered || referenced || s.cursor.segment == head.id) break;
    if (!drop_head(s, DropReason::kOverflow).ok()) break;  // nothing undelivered: no drop event
  }
}

Result<Span<const std::uint8_t>> OfflineQueue::message_payload(const Stream& s, const Record& r,
                                                                 PublishProperties* props, UserProperty* id_prop,
                                                                 FixedString<64>* id_text) {
  char text[64];
  const std::size_t n = format_message_id(text, sizeof(text), r.boot_id, s.name.c_str(), r.seq);
  id_text->assign(std::string_view(text, n)).ignore();
  *props = r.properties();
  const MessageIdMode mode = effective_id_mode();
  if (mode == MessageIdMode::kUserProperty) {
    id_prop->key = kMessageIdProperty;
    id_prop->value = id_text->view();
    return r.payload;
  }
  if (mode != MessageIdMode::kEnvelope) return r.payload;
  const std::size_t len = write_envelope(send_buf_, sizeof(send_buf_), id_text->view(), r.payload);
  if (len == 0) return queue_error(StatusCode::kInvalidArgument);
  return Span<const std::uint8_t>(send_buf_, len);
}

// A record dropped instead of sent (expired, refused) settles in order, like a delivery: at once
// when nothing of its stream is in flight, otherwise as an already-acknowledged in-flight entry.
void OfflineQueue::settle_unsent(StreamId id, std::uint64_t seq, Position next, bool behind_inflight,
                                 DropReason reason, Status status) {
  Stream& s = streams_[id];
  s.stats.pending_records = saturating_sub(s.stats.pending_records, 1);
  drop_event(id, reason, 1, status);
  s.cursor = next;
  if (!behind_inflight) {
    s.acked = seq;
    s.ack_pos = next;
    return;
  }
  Inflight* f = inflight_.emplace_back();  // the caller checked there is room
  f->stream = id;
  f->seq = seq;
  f->end = next;
  f->acked = true;
}

OfflineQueue::SendResult OfflineQueue::send_next(StreamId id) {
  Stream& s = streams_[id];
  for (;;) {
    std::size_t idx = segment_index(s, s.cursor.segment);
    if (idx == kNoIndex) {
      s.cursor = Position{s.segments[0].id, 0};
      idx = 0;
    }
    const SegmentMeta& meta = s.segments[idx];
    if (s.cursor.offset >= meta.used) {
      if (idx + 1 >= s.segments.size()) return SendResult::kEnd;
      s.cursor = Position{s.segments[idx + 1].id, 0};
      continue;
    }
    // The read window: one read brings in the next kMaxRecord bytes of the segment.
    const std::uint32_t limit = meta.used;
    const bool in_window = window_stream_ == id && window_segment_ == meta.id && s.cursor.offset >= window_offset_ &&
                           s.cursor.offset < window_offset_ + window_len_;
    std::size_t avail = in_window ? window_offset_ + window_len_ - s.cursor.offset : 0;
    Record rec;
    std::size_t consumed = 0;
    DecodeOutcome outcome = DecodeOutcome::kNeedMore;
    if (avail != 0) {
      outcome = offline::decode_record(
          Span<const std::uint8_t>(read_buf_ + (s.cursor.offset - window_offset_), avail), &rec, &consumed);
    }
    if (outcome == DecodeOutcome::kNeedMore) {
      std::size_t want = limit - s.cursor.offset;
      if (want > sizeof(read_buf_)) want = sizeof(read_buf_);
      Result<std::size_t> got = s.store->read(meta.id, s.cursor.offset, Span<std::uint8_t>(read_buf_, want));
      if (!got.ok()) {
        TETHER_LOG_ERROR(log_, Origin::kQueue, got.status(), "stream \"%s\": read of segment %" PRIu32 " failed",
                         s.name.c_str(), meta.id);
        window_stream_ = 0xFF;
        return SendResult::kBlocked;
      }
      window_stream_ = id;
      window_segment_ = meta.id;
      window_offset_ = s.cursor.offset;
      window_len_ = *got;
      outcome = offline::decode_record(Span<const std::uint8_t>(read_buf_, window_len_), &rec, &consumed);
    }
    const Span<const std::uint8_t> here(read_buf_ + (s.cursor.offset - window_offset_),
                                        window_offset_ + window_len_ - s.cursor.offset);
    if (outcome != DecodeOutcome::kRecord) {
      // Damage inside the intact range (found at recovery, or bit rot since): skip to the next magic.
      std::size_t next = offline::find_magic(here, 1);
      TETHER_LOG_DEBUG(log_, Origin::kQueue, "stream \"%s\": skipping %u damaged bytes in segment %" PRIu32,
                       s.name.c_str(), static_cast<unsigned>(next), meta.id);
      s.cursor.offset += static_cast<std::uint32_t>(next == 0 ? 1 : next);
      continue;
    }
    const Position next{meta.id, s.cursor.offset + static_cast<std::uint32_t>(consumed)};
    bool inflight_for_stream = false;
    for (const Inflight& f : inflight_) {
      if (f.stream == id && !f.void_) inflight_for_stream = true;
    }
    if (rec.type == RecordType::kAck || rec.seq <= s.acked) {
      s.cursor = next;
      if (!inflight_for_stream) s.ack_pos = next;
      continue;
    }
    // Expired: dropped in order, like a delivery.
    if (s.settings.ttl.count() > 0 && rec.created_ms != 0) {
      Result<std::int64_t> wall = wall_now();
      if (wall.ok() && *wall - rec.created_ms > s.settings.ttl.count()) {
        if (inflight_.full()) return SendResult::kBlocked;
        settle_unsent(id, rec.seq, next, inflight_for_stream, DropReason::kExpired, ok_status());
        return SendResult::kSkipped;
      }
    }
    if (inflight_.full()) return SendResult::kBlocked;
    if (rec.encrypted) {
      Result<Span<const std::uint8_t>> clear = plaintext(id, rec);
      if (!clear.ok()) {
        // Wrong key or tampered with: it can never be sent. Said and counted, never sent as is.
        TETHER_LOG_ERROR(log_, Origin::kQueue, clear.status(),
                         "stream \"%s\": seq %" PRIu64 " cannot be decrypted (wrong key or altered); dropped",
                         s.name.c_str(), rec.seq);
        settle_unsent(id, rec.seq, next, inflight_for_stream, DropReason::kStoreError, clear.status());
        return SendResult::kSkipped;
      }
      rec.payload = *clear;
      rec.encrypted = false;
    }
    if (s.settings.bundle_max_bytes != 0 && rec.qos == Qos::k1 && !rec.retain && rec.properties().empty()) {
      const SendResult bundled = send_bundle(id, rec, next);
      if (bundled != SendResult::kEnd) return bundled;  // kEnd: a bundle of one; send it alone
    }
    PublishProperties props;
    UserProperty id_prop;
    FixedString<64> id_text;
    Result<Span<const std::uint8_t>> payload = message_payload(s, rec, &props, &id_prop, &id_text);
    FixedVector<UserProperty, kMaxUserProperties + 1> user_props;
    for (const UserProperty& p : rec.user_properties) (void)user_props.push_back(p);
    if (!id_prop.key.empty()) (void)user_props.push_back(id_prop);
    props.user_properties = Span<const UserProperty>(user_props.begin(), user_props.size());
    if (s.settings.ttl.count() > 0 && rec.created_ms != 0) {
      // Let the broker drop it too once it is stale.
      Result<std::int64_t> wall = wall_now();
      if (wall.ok()) {
        const std::int64_t left_ms = s.settings.ttl.count() - (*wall - rec.created_ms);
        const std::uint32_t left_s = static_cast<std::uint32_t>(left_ms > 1000 ? left_ms / 1000 : 1);
        if (agent_.config().mqtt.version == MqttVersion::k5 && (!props.message_expiry_s || *props.message_expiry_s > left_s)) {
          props.message_expiry_s = left_s;
        }
      }
    }
    Result<PacketToken> token = payload.ok() ? agent_.publish(rec.topic, *payload, rec.qos, props, rec.retain)
                                             : Result<PacketToken>(payload.status());
    if (!token.ok()) {
      const Status st = token.status();
      if (st.code() == StatusCode::kInvalidArgument) {
        if (inflight_.full()) return SendResult::kBlocked;
        // Refused before it left (topic not valid for this profile any more, properties under 3.1.1).
        settle_unsent(id, rec.seq, next, inflight_for_stream, DropReason::kRefused, st);
        return SendResult::kSkipped;
      }
      return SendResult::kBlocked;  // window full at the client, or not connected
    }
    Inflight* f = inflight_.emplace_back();
    f->stream = id;
    f->seq = rec.seq;
    f->token = *token;
    f->end = next;
    s.cursor = next;
    ++s.stats.sent;
    if (rec.seq <= s.sent_max) ++s.stats.resent;
    if (rec.seq > s.sent_max) s.sent_max = rec.seq;
    return SendResult::kSent;
  }
}

// Packs `first` and the records after it in the read window (same topic, no properties, not
// expired, same segment) into one JSON array of enveloped payloads. Returns kEnd when only `first`
// would go (the caller sends it alone).
OfflineQueue::SendResult OfflineQueue::send_bundle(StreamId id, const Record& first, Position next) {
  Stream& s = streams_[id];
  const std::size_t segment = segment_index(s, next.segment);
  const std::uint32_t used = s.segments[segment].used;
  std::size_t limit = s.settings.bundle_max_bytes;
  if (limit > sizeof(send_buf_)) limit = sizeof(send_buf_);
  char text[64];
  std::size_t len = 0;
  send_buf_[len++] = '[';
  std::size_t n = format_message_id(text, sizeof(text), first.boot_id, s.name.c_str(), first.seq);
  std::size_t wrote = write_envelope(send_buf_ + len, limit - len - 1, std::string_view(text, n), first.payload);
  if (wrote == 0) return SendResult::kEnd;
  len += wrote;
  std::uint32_t count = 1;
  std::uint64_t last_seq = first.seq;
  Position end = next;
  Result<std::int64_t> wall = wall_now();
  while (end.offset < used && end.offset >= window_offset_ && end.offset < window_offset_ + window_len_) {
    Record rec;
    std::size_t consumed = 0;
    const Span<const std::uint8_t> here(read_buf_ + (end.offset - window_offset_),
                                        window_offset_ + window_len_ - end.offset);
    if (offline::decode_record(here, &rec, &consumed) != DecodeOutcome::kRecord) break;
    const Position after{end.segment, end.offset + static_cast<std::uint32_t>(consumed)};
    if (rec.type == RecordType::kAck || rec.seq <= s.acked) {
      end = after;  // progress markers and delivered records ride along unseen
      continue;
    }
    if (rec.seq <= last_seq || rec.topic != first.topic || rec.qos != Qos::k1 || rec.retain ||
        !rec.properties().empty()) {
      break;
    }
    if (s.settings.ttl.count() > 0 && rec.created_ms != 0 && wall.ok() &&
        *wall - rec.created_ms > s.settings.ttl.count()) {
      break;  // send_next drops it on its own turn
    }
    n = format_message_id(text, sizeof(text), rec.boot_id, s.name.c_str(), rec.seq);
    if (len + 2 > limit) break;
    Result<Span<const std::uint8_t>> clear = plaintext(id, rec);  // send_next handles a failure itself
    if (!clear.ok()) break;
    wrote = write_envelope(send_buf_ + len + 1, limit - len - 2, std::string_view(text, n), *clear);
    if (wrote == 0) break;
    send_buf_[len] = ',';
    len += 1 + wrote;
    ++count;
    last_seq = rec.seq;
    end = after;
  }
  if (count == 1) return SendResult::kEnd;
  send_buf_[len++] = ']';
  Result<PacketToken> token = agent_.publish(first.topic, Span<const std::uint8_t>(send_buf_, len), Qos::k1);
  if (!token.ok()) return SendResult::kBlocked;
  Inflight* f = inflight_.emplace_back();
  f->stream = id;
  f->seq = last_seq;
  f->token = *token;
  f->count = count;
  f->end = end;
  s.cursor = end;
  s.stats.sent += count;
  if (first.seq <= s.sent_max) s.stats.resent += count;
  if (last_seq > s.sent_max) s.sent_max = last_seq;
  ++s.stats.bundles;
  return SendResult::kSent;
}

void OfflineQueue::pump() {
  if (pumping_ || !agent_.connected() || streams_.empty()) return;
  pumping_ = true;
  bool done[kMaxStreams] = {};
  const std::size_t n = streams_.size();
  while (inflight_.size() < settings_.max_inflight) {
    // Highest priority first; round robin among equals.
    std::size_t best = kNoIndex;
    for (std::size_t k = 0; k < n; ++k) {
      const std::size_t i = (next_serve_ + k) % n;
      if (done[i]) continue;
      if (best == kNoIndex || streams_[i].settings.priority > streams_[best].settings.priority) best = i;
    }
    if (best == kNoIndex) break;
    const SendResult result = send_next(static_cast<StreamId>(best));
    if (result == SendResult::kEnd) {
      done[best] = true;
      continue;
    }
    if (result == SendResult::kBlocked) break;
    next_serve_ = static_cast<StreamId>((best + 1) % n);
    if (!agent_.connected()) break;
  }
  pumping_ = false;
}

void OfflineQueue::on_agent_tick(Milliseconds now) {
  for (Stream& s : streams_) {
    if (s.sync_due <= now) sync(s).ignore();
  }
  if (now >= next_ack_flush_) {
    for (Stream& s : streams_) write_ack_marker(s);
    next_ack_flush_ = now + settings_.ack_flush_interval;
  }
  // Whole segments past their ttl go without being read.
  Result<std::int64_t> wall = wall_now();
  if (wall.ok()) {
    for (Stream& s : streams_) {
      if (s.settings.ttl.count() <= 0) continue;
      while (s.segments.size() > 1 && s.segments[0].newest_ms != 0 &&
             *wall - s.segments[0].newest_ms > s.settings.ttl.count()) {
        bool referenced = false;
        const StreamId id = static_cast<StreamId>(&s - streams_.begin());
        for (const Inflight& f : inflight_) {
          if (f.stream == id && !f.void_ && f.end.segment == s.segments[0].id) referenced = true;
        }
        if (referenced || !drop_head(s, DropReason::kExpired).ok()) break;
      }
    }
  }
  if (agent_.connected()) pump();
}

Milliseconds OfflineQueue::next_tick_due() const {
  Milliseconds due = Milliseconds::max();
  for (const Stream& s : streams_) {
    if (s.sync_due < due) due = s.sync_due;
    if (s.acked > s.acked_written && s.settings.durability != Durability::kMemory && next_ack_flush_ < due) {
      due = next_ack_flush_;
    }
  }
  return due;
}

}  // namespace tether
