// Copyright 2026 The Tether Authors. SPDX-License-Identifier: Apache-2.0
// OfflineQueue: sending streams in order within the in-flight window, acknowledgements, bundling,
// and the periodic work (group commits, progress markers, ttl). Storage and recovery are in
// offline_queue.cpp.
#include "queue_internal.hpp"
#include "tether/contract.hpp"
#include "tether/decimal.hpp"
#include "tether/offline/offline_queue.hpp"

namespace tether {

using namespace offline_detail;

// ------------------------------------------------------------------------------------------------
// Delivery

void OfflineQueue::reset_cursors() {
  for (Inflight& f : inflight_) f.void_ = true;
  for (Stream& s : streams_) s.cursor = s.ack_pos;
  window_stream_ = 0xFF;
}

bool OfflineQueue::stream_in_flight(StreamId id) const {
  for (const Inflight& f : inflight_) {
    if (f.stream == id && !f.void_) return true;
  }
  return false;
}

bool OfflineQueue::segment_in_flight(StreamId id, SegmentId segment) const {
  for (const Inflight& f : inflight_) {
    if (f.stream == id && !f.void_ && f.end.segment == segment) return true;
  }
  return false;
}

bool OfflineQueue::expired(const Stream& s, std::int64_t created_ms, const Result<std::int64_t>& wall) const {
  return s.settings.ttl.count() > 0 && created_ms != 0 && wall.ok() && *wall - created_ms > s.settings.ttl.count();
}

OfflineQueue::Inflight* OfflineQueue::add_inflight(StreamId id, std::uint64_t last_seq, Position end) {
  Inflight* f = inflight_.emplace_back();  // callers check there is room
  f->stream = id;
  f->seq = last_seq;
  f->end = end;
  return f;
}

void OfflineQueue::on_agent_event(const AgentEvent& event) {
  if (event.type == AgentEventType::kConnected) {
    // Tokens of the previous connection will not complete: forget them and send again from the
    // acknowledged position of every stream.
    reset_cursors();
    inflight_.clear();
    pump();
  } else if (event.type == AgentEventType::kDisconnected) {
    reset_cursors();
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
    TETHER_LOG_DEBUG(log_, Origin::kQueue, "stream \"%s\": seq %s not acknowledged; will resend", s.name.c_str(),
                     Decimal(f.seq).c_str());
    inflight_.erase(index);
    for (Inflight& other : inflight_) {
      if (other.stream == id) other.void_ = true;
    }
    s.cursor = s.ack_pos;
    if (window_stream_ == id) window_stream_ = 0xFF;
  }
  advance_acks(id);
  pump();
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
  // A process that keeps crashing should not re-send everything since its last timed marker.
  if (settings_.ack_flush_records != 0 && s.acked >= s.acked_written + settings_.ack_flush_records) {
    write_ack_marker(s);
  }
  // Delete head segments whose records are all delivered.
  while (s.segments.size() > 1) {
    const SegmentMeta& head = s.segments[0];
    const bool delivered = head.records == 0 ? s.ack_pos.segment != head.id : head.last_seq <= s.acked;
    if (!delivered || segment_in_flight(id, head.id) || s.cursor.segment == head.id) break;
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
  add_inflight(id, seq, next)->acked = true;
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
        TETHER_LOG_ERROR(log_, Origin::kQueue, got.status(), "stream \"%s\": read of segment %lu failed",
                         s.name.c_str(), ul(meta.id));
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
      TETHER_LOG_DEBUG(log_, Origin::kQueue, "stream \"%s\": skipping %u damaged bytes in segment %lu",
                       s.name.c_str(), static_cast<unsigned>(next), ul(meta.id));
      s.cursor.offset += static_cast<std::uint32_t>(next == 0 ? 1 : next);
      continue;
    }
    const Position next{meta.id, s.cursor.offset + static_cast<std::uint32_t>(consumed)};
    const bool inflight_for_stream = stream_in_flight(id);
    if (rec.type == RecordType::kAck || rec.seq <= s.acked) {
      s.cursor = next;
      if (!inflight_for_stream) s.ack_pos = next;
      continue;
    }
    // Expired: dropped in order, like a delivery.
    if (s.settings.ttl.count() > 0 && expired(s, rec.created_ms, wall_now())) {
      if (inflight_.full()) return SendResult::kBlocked;
      settle_unsent(id, rec.seq, next, inflight_for_stream, DropReason::kExpired, ok_status());
      return SendResult::kSkipped;
    }
    if (inflight_.full()) return SendResult::kBlocked;
    if (rec.encrypted) {
      Result<Span<const std::uint8_t>> clear = plaintext(id, rec);
      if (!clear.ok()) {
        // Wrong key or tampered with: it can never be sent. Said and counted, never sent as is.
        TETHER_LOG_ERROR(log_, Origin::kQueue, clear.status(),
                         "stream \"%s\": seq %s cannot be decrypted (wrong key or altered); dropped", s.name.c_str(),
                         Decimal(rec.seq).c_str());
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
    add_inflight(id, rec.seq, next)->token = *token;
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
    if (expired(s, rec.created_ms, wall)) break;  // send_next drops it on its own turn
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
  Inflight* f = add_inflight(id, last_seq, end);
  f->token = *token;
  f->count = count;
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
      const StreamId id = static_cast<StreamId>(&s - streams_.begin());
      while (s.segments.size() > 1 && expired(s, s.segments[0].newest_ms, wall)) {
        if (segment_in_flight(id, s.segments[0].id) || !drop_head(s, DropReason::kExpired).ok()) break;
      }
    }
  }
  pump();
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
