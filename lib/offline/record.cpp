// Copyright 2026 The Tether Authors. SPDX-License-Identifier: Apache-2.0
#include "tether/offline/record.hpp"

#include <cstring>

namespace tether::offline {
namespace {

constexpr std::uint8_t kFlagQos1 = 0x01;
constexpr std::uint8_t kFlagRetain = 0x02;
constexpr std::uint8_t kFlagExpiry = 0x04;
constexpr std::uint8_t kFlagEncrypted = 0x08;
constexpr std::uint8_t kKnownFlags = kFlagQos1 | kFlagRetain | kFlagExpiry | kFlagEncrypted;

Status too_big() { return Status(StatusCode::kOutOfRange, Origin::kQueue); }

// Little-endian writer over a span; the caller has checked the size.
class Writer {
 public:
  explicit Writer(std::uint8_t* out) : p_(out) {}
  void u8(std::uint8_t v) { *p_++ = v; }
  void u16(std::uint16_t v) {
    u8(static_cast<std::uint8_t>(v));
    u8(static_cast<std::uint8_t>(v >> 8));
  }
  void u32(std::uint32_t v) {
    u16(static_cast<std::uint16_t>(v));
    u16(static_cast<std::uint16_t>(v >> 16));
  }
  void u64(std::uint64_t v) {
    u32(static_cast<std::uint32_t>(v));
    u32(static_cast<std::uint32_t>(v >> 32));
  }
  void bytes(const void* data, std::size_t n) {
    if (n != 0) std::memcpy(p_, data, n);
    p_ += n;
  }
  std::uint8_t* position() const { return p_; }

 private:
  std::uint8_t* p_;
};

// Bounds-checked little-endian reader.
class Reader {
 public:
  Reader(const std::uint8_t* data, std::size_t size) : p_(data), end_(data + size) {}
  bool ok() const { return ok_; }
  std::size_t left() const { return static_cast<std::size_t>(end_ - p_); }
  std::uint8_t u8() {
    if (!take(1)) return 0;
    return p_[-1];
  }
  std::uint16_t u16() {
    if (!take(2)) return 0;
    return static_cast<std::uint16_t>(p_[-2] | (p_[-1] << 8));
  }
  std::uint32_t u32() {
    const std::uint32_t lo = u16();
    const std::uint32_t hi = u16();
    return lo | (hi << 16);
  }
  std::uint64_t u64() {
    const std::uint64_t lo = u32();
    const std::uint64_t hi = u32();
    return lo | (hi << 32);
  }
  const std::uint8_t* bytes(std::size_t n) {
    if (!take(n)) return nullptr;
    return p_ - n;
  }
  std::string_view text(std::size_t n) {
    const std::uint8_t* b = bytes(n);
    return b == nullptr ? std::string_view() : std::string_view(reinterpret_cast<const char*>(b), n);
  }

 private:
  bool take(std::size_t n) {
    if (!ok_ || left() < n) {
      ok_ = false;
      return false;
    }
    p_ += n;
    return true;
  }
  const std::uint8_t* p_;
  const std::uint8_t* end_;
  bool ok_ = true;
};

Result<std::size_t> properties_size(const Record& r) {
  if (r.content_type.size() > 0xFF || r.response_topic.size() > 0xFFFF || r.correlation_data.size() > 0xFFFF ||
      r.user_properties.size() > 0xFF) {
    return too_big();
  }
  std::size_t n = 1 + r.content_type.size() + (r.message_expiry_s ? 4 : 0) + 2 + r.response_topic.size() + 2 +
                  r.correlation_data.size() + 1;
  for (const UserProperty& p : r.user_properties) {
    if (p.key.size() > 0xFFFF || p.value.size() > 0xFFFF) return too_big();
    n += 4 + p.key.size() + p.value.size();
  }
  if (n > 0xFFFF) return too_big();
  return n;
}

}  // namespace

Result<std::size_t> encoded_size(const Record& record) {
  if (record.topic.size() > 0xFFFF) return too_big();
  TETHER_ASSIGN_OR_RETURN(const std::size_t props, properties_size(record));
  if (record.payload.size() > kMaxRecord) return too_big();
  const std::size_t total = kRecordOverhead + record.topic.size() + props + record.payload.size();
  if (total > kMaxRecord) return too_big();
  return total;
}

Result<std::size_t> encode_record(const Record& r, Span<std::uint8_t> out) {
  TETHER_ASSIGN_OR_RETURN(const std::size_t total, encoded_size(r));
  if (out.size() < total) return Status(StatusCode::kResourceExhausted, Origin::kQueue);
  const std::size_t props = properties_size(r).value();
  Writer w(out.data());
  w.u8(kRecordMagic0);
  w.u8(kRecordMagic1);
  w.u8(kRecordVersion);
  w.u8(static_cast<std::uint8_t>(r.type));
  w.u32(static_cast<std::uint32_t>(total));
  w.u64(r.seq);
  w.u32(r.boot_id);
  w.u64(static_cast<std::uint64_t>(r.created_ms));
  w.u8(r.priority);
  std::uint8_t flags = 0;
  if (r.qos == Qos::k1) flags |= kFlagQos1;
  if (r.retain) flags |= kFlagRetain;
  if (r.message_expiry_s) flags |= kFlagExpiry;
  if (r.encrypted) flags |= kFlagEncrypted;
  w.u8(flags);
  w.u16(static_cast<std::uint16_t>(r.topic.size()));
  w.u16(static_cast<std::uint16_t>(props));
  w.u32(static_cast<std::uint32_t>(r.payload.size()));
  w.bytes(r.topic.data(), r.topic.size());
  w.u8(static_cast<std::uint8_t>(r.content_type.size()));
  w.bytes(r.content_type.data(), r.content_type.size());
  if (r.message_expiry_s) w.u32(*r.message_expiry_s);
  w.u16(static_cast<std::uint16_t>(r.response_topic.size()));
  w.bytes(r.response_topic.data(), r.response_topic.size());
  w.u16(static_cast<std::uint16_t>(r.correlation_data.size()));
  w.bytes(r.correlation_data.data(), r.correlation_data.size());
  w.u8(static_cast<std::uint8_t>(r.user_properties.size()));
  for (const UserProperty& p : r.user_properties) {
    w.u16(static_cast<std::uint16_t>(p.key.size()));
    w.bytes(p.key.data(), p.key.size());
    w.u16(static_cast<std::uint16_t>(p.value.size()));
    w.bytes(p.value.data(), p.value.size());
  }
  w.bytes(r.payload.data(), r.payload.size());
  const std::size_t body = static_cast<std::size_t>(w.position() - out.data());
  w.u32(crc32c(Span<const std::uint8_t>(out.data(), body)));
  return total;
}

bool is_erased(Span<const std::uint8_t> bytes) {
  if (bytes.empty()) return true;
  const std::uint8_t first = bytes[0];
  if (first != 0x00 && first != 0xFF) return false;
  for (std::uint8_t b : bytes) {
    if (b != first) return false;
  }
  return true;
}

std::size_t find_magic(Span<const std::uint8_t> bytes, std::size_t from) {
  for (std::size_t i = from; i < bytes.size(); ++i) {
    if (bytes[i] != kRecordMagic0) continue;
    if (i + 1 == bytes.size() || bytes[i + 1] == kRecordMagic1) return i;
  }
  return bytes.size();
}

DecodeOutcome decode_record(Span<const std::uint8_t> bytes, Record* out, std::size_t* consumed) {
  *consumed = 0;
  if (bytes.empty()) return DecodeOutcome::kErased;
  // Magic first: a mismatch on erased space is the clean end, anything else is corruption.
  if (bytes[0] != kRecordMagic0 || (bytes.size() > 1 && bytes[1] != kRecordMagic1)) {
    return is_erased(bytes) ? DecodeOutcome::kErased : DecodeOutcome::kCorrupt;
  }
  if (bytes.size() < 8) {
    *consumed = 8;
    return DecodeOutcome::kNeedMore;
  }
  Reader header(bytes.data(), bytes.size());
  header.u16();  // magic
  const std::uint8_t version = header.u8();
  const std::uint8_t type = header.u8();
  const std::uint32_t total = header.u32();
  if (version != kRecordVersion || (type != static_cast<std::uint8_t>(RecordType::kData) &&
                                    type != static_cast<std::uint8_t>(RecordType::kAck))) {
    return DecodeOutcome::kCorrupt;
  }
  if (total < kRecordOverhead || total > kMaxRecord) return DecodeOutcome::kCorrupt;
  if (bytes.size() < total) {
    *consumed = total;
    return DecodeOutcome::kNeedMore;
  }
  const std::size_t body = total - 4;
  Reader crc_reader(bytes.data() + body, 4);
  if (crc32c(Span<const std::uint8_t>(bytes.data(), body)) != crc_reader.u32()) return DecodeOutcome::kCorrupt;

  Reader r(bytes.data() + 8, body - 8);
  Record& rec = *out;
  rec.type = static_cast<RecordType>(type);
  rec.seq = r.u64();
  rec.boot_id = r.u32();
  rec.created_ms = static_cast<std::int64_t>(r.u64());
  rec.priority = r.u8();
  const std::uint8_t flags = r.u8();
  const std::uint16_t topic_len = r.u16();
  const std::uint16_t props_len = r.u16();
  const std::uint32_t payload_len = r.u32();
  if (!r.ok() || (flags & ~kKnownFlags) != 0) return DecodeOutcome::kCorrupt;
  if (static_cast<std::size_t>(topic_len) + props_len + payload_len != r.left()) return DecodeOutcome::kCorrupt;
  rec.qos = (flags & kFlagQos1) ? Qos::k1 : Qos::k0;
  rec.retain = (flags & kFlagRetain) != 0;
  rec.encrypted = (flags & kFlagEncrypted) != 0;
  rec.topic = r.text(topic_len);

  Reader p(r.bytes(props_len), props_len);
  rec.content_type = p.text(p.u8());
  rec.message_expiry_s.reset();
  if (flags & kFlagExpiry) rec.message_expiry_s = p.u32();
  rec.response_topic = p.text(p.u16());
  const std::uint16_t corr_len = p.u16();
  const std::uint8_t* corr = p.bytes(corr_len);
  rec.correlation_data = Span<const std::uint8_t>(corr, corr == nullptr ? 0 : corr_len);
  const std::uint8_t count = p.u8();
  rec.user_properties.clear();
  for (std::uint8_t i = 0; i < count && p.ok(); ++i) {
    UserProperty up;
    up.key = p.text(p.u16());
    up.value = p.text(p.u16());
    // More properties than this build keeps: a record written by a build with a larger limit.
    if (!rec.user_properties.push_back(up)) return DecodeOutcome::kCorrupt;
  }
  if (!p.ok() || p.left() != 0) return DecodeOutcome::kCorrupt;
  const std::uint8_t* payload = r.bytes(payload_len);
  rec.payload = Span<const std::uint8_t>(payload, payload == nullptr ? 0 : payload_len);
  if (!r.ok()) return DecodeOutcome::kCorrupt;
  *consumed = total;
  return DecodeOutcome::kRecord;
}

}  // namespace tether::offline
